package sqlsplit

import "strings"

// Statement is one statement of an input.
type Statement struct {
	// Text is the statement as written, without its terminating ; and
	// without the whitespace around it.
	Text string
	// Kind is the statement's verb in upper case (SELECT, DROP, GRANT …):
	// its first keyword, looking through leading parentheses and MySQL's
	// executable comments, and for WITH … the verb after the common table
	// expressions (WITH x AS (…) DELETE … is a DELETE).
	Kind string
	// Keywords are the words from the verb on, up to three, in upper case
	// (DROP TABLE T): what a kind of several words (DROP TABLE) is
	// compared with.
	Keywords []string
	// Normalized is the statement with its comments dropped and every run
	// of whitespace outside literals made one space: what filter regexes
	// see.
	Normalized string
	// Start and End are the bytes of the input the statement spans, its
	// terminator included.
	Start, End int
}

// maxKeywords is how many leading words a Statement keeps.
const maxKeywords = 3

// Split splits s into its statements under the dialect's default mode.
// Empty statements (only whitespace and comments) are left out.
func Split(d Dialect, s string) []Statement {
	return DefaultMode(d).Split(s)
}

// Split splits s into its statements under mode m.
func (m Mode) Split(s string) []Statement {
	var out []Statement
	for _, p := range m.pieces(s) {
		if st, ok := p.statement(s); ok {
			out = append(out, st)
		}
	}
	return out
}

// Judged returns the statements of s under every mode of the dialect (see
// [Modes]), each distinct statement once, the default reading's first.
// Filters judge these, so that an input read differently by a server in
// another mode (NO_BACKSLASH_ESCAPES, ANSI_QUOTES, standard_conforming_strings
// off) cannot hide a statement inside what the default reading takes for a
// literal.
func Judged(d Dialect, s string) []Statement {
	var out []Statement
	seen := map[string]bool{}
	for _, m := range Modes(d) {
		for _, st := range m.Split(s) {
			if seen[st.Normalized] {
				continue
			}
			seen[st.Normalized] = true
			out = append(out, st)
		}
	}
	return out
}

// Complete reports whether s ends a statement: its last token outside
// comments is a ; that ends a statement, and no literal or comment is left
// open. A console reads more lines until it is.
func Complete(d Dialect, s string) bool {
	sc := scanner{m: DefaultMode(d), s: s}
	depth, last := 0, tokKind(0)
	open := false
	for {
		t, ok := sc.next()
		if !ok {
			break
		}
		open = t.open
		switch t.kind {
		case tSpace, tComment:
			continue
		case tOpen:
			depth++
		case tClose:
			depth = max(depth-1, 0)
		}
		last = t.kind
	}
	return !open && !sc.inExec && last == tSemi && (d == MySQL || depth == 0)
}

// piece is one statement's tokens, terminator included.
type piece struct {
	toks       []token
	terminated bool // the last token is the ; that ends the statement
}

// pieces cuts s at each ; that ends a statement: every ; in MySQL (as the
// mysql client does), one outside parentheses in PostgreSQL (as psql
// does). Their concatenation is s.
func (m Mode) pieces(s string) []piece {
	sc := scanner{m: m, s: s}
	var out []piece
	var cur piece
	depth := 0
	for {
		t, ok := sc.next()
		if !ok {
			break
		}
		cur.toks = append(cur.toks, t)
		switch t.kind {
		case tOpen:
			depth++
		case tClose:
			depth = max(depth-1, 0)
		case tSemi:
			if m.Dialect == MySQL || depth == 0 {
				cur.terminated = true
				sc.inExec = false // each statement is read on its own, as the server reads the next
				out = append(out, cur)
				cur, depth = piece{}, 0
			}
		}
	}
	if len(cur.toks) > 0 {
		out = append(out, cur)
	}
	return out
}

// code reports whether a token is part of a statement's text proper.
func code(k tokKind) bool {
	return k != tSpace && k != tComment && k != tExecOpen && k != tExecClose
}

func (p piece) statement(s string) (Statement, bool) {
	toks := p.toks
	st := Statement{Start: toks[0].start, End: toks[len(toks)-1].end}
	body := toks
	if p.terminated {
		body = body[:len(body)-1]
	}
	first, last := -1, -1
	for i, t := range body {
		if code(t.kind) {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return st, false
	}
	st.Text = s[body[firstNonSpace(body)].start:body[lastNonSpace(body)].end]
	st.Normalized = normalize(s, body[first:last+1])
	st.Keywords = keywords(s, body[first:last+1])
	if len(st.Keywords) > 0 {
		st.Kind = st.Keywords[0]
	}
	return st, true
}

func normalize(s string, toks []token) string {
	var b strings.Builder
	gap := false
	for _, t := range toks {
		if !code(t.kind) {
			gap = true
			continue
		}
		if gap && b.Len() > 0 {
			b.WriteByte(' ')
		}
		gap = false
		b.WriteString(s[t.start:t.end])
	}
	return b.String()
}

// firstNonSpace and lastNonSpace bound a statement's text: comments stay
// in it (an executable comment is code; a hint is the user's).
func firstNonSpace(toks []token) int {
	for i, t := range toks {
		if t.kind != tSpace {
			return i
		}
	}
	return 0
}

func lastNonSpace(toks []token) int {
	for i := len(toks) - 1; i >= 0; i-- {
		if toks[i].kind != tSpace {
			return i
		}
	}
	return len(toks) - 1
}
