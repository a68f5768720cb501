package sqlsplit

import "strings"

// cteVerbs are the verbs that may follow WITH's common table expressions.
var cteVerbs = map[string]bool{
	"SELECT": true, "INSERT": true, "UPDATE": true, "DELETE": true,
	"REPLACE": true, "MERGE": true, "TABLE": true, "VALUES": true,
}

// keywords returns the statement's leading words from its verb on: the
// first word after any opening parentheses, or for WITH the first verb
// outside parentheses after it.
func keywords(s string, toks []token) []string {
	i := 0
	for i < len(toks) && (!code(toks[i].kind) || toks[i].kind == tOpen) {
		i++
	}
	if i == len(toks) || toks[i].kind != tWord {
		return nil
	}
	if strings.EqualFold(s[toks[i].start:toks[i].end], "WITH") {
		if v := cteVerb(s, toks[i+1:]); v >= 0 {
			i += 1 + v
		}
	}
	var out []string
	for ; i < len(toks) && len(out) < maxKeywords; i++ {
		t := toks[i]
		if !code(t.kind) {
			continue
		}
		if t.kind != tWord {
			break
		}
		out = append(out, strings.ToUpper(s[t.start:t.end]))
	}
	return out
}

// cteVerb finds the verb after WITH's expressions: the first word outside
// parentheses that is one of cteVerbs. It returns its index, or -1.
func cteVerb(s string, toks []token) int {
	depth := 0
	for i, t := range toks {
		switch t.kind {
		case tOpen:
			depth++
		case tClose:
			depth = max(depth-1, 0)
		case tWord:
			if depth == 0 && cteVerbs[strings.ToUpper(s[t.start:t.end])] {
				return i
			}
		}
	}
	return -1
}
