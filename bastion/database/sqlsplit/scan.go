package sqlsplit

import "strings"

// tokKind is the lexical class of a token.
type tokKind int

const (
	tSpace     tokKind = iota + 1
	tComment           // --, # (MySQL), /* */
	tString            // '…', "…", `…`, E'…', $tag$…$tag$
	tWord              // keywords, identifiers, numbers
	tSemi              // ;
	tOpen              // (
	tClose             // )
	tOther             // operators and other punctuation
	tExecOpen          // MySQL /*!NNNNN or /*M!NNNNNN: the comment's body is code
	tExecClose         // the */ that ends an executable comment
)

// token is one lexical token of the input: s[start:end].
type token struct {
	kind       tokKind
	start, end int
	open       bool // a string or comment the input ended inside
}

// scanner walks an input token by token.
type scanner struct {
	m      Mode
	s      string
	pos    int
	inExec bool // inside a MySQL executable comment
}

// next returns the token at the scanner's position; ok is false at the end.
func (sc *scanner) next() (token, bool) {
	if sc.pos >= len(sc.s) {
		return token{}, false
	}
	start := sc.pos
	kind, end, open := sc.scan(start)
	if end <= start { // never stall
		end = start + 1
	}
	sc.pos = end
	return token{kind: kind, start: start, end: end, open: open}, true
}

func (sc *scanner) scan(i int) (tokKind, int, bool) {
	s := sc.s
	c := s[i]
	switch {
	case isSpace(c):
		j := i
		for j < len(s) && isSpace(s[j]) {
			j++
		}
		return tSpace, j, false
	case c == ';':
		return tSemi, i + 1, false
	case c == '(':
		return tOpen, i + 1, false
	case c == ')':
		return tClose, i + 1, false
	case c == '-' && sc.lineComment(i):
		return sc.toEOL(i)
	case c == '#' && sc.m.Dialect == MySQL:
		return sc.toEOL(i)
	case c == '/' && strings.HasPrefix(s[i:], "/*"):
		return sc.blockComment(i)
	case c == '*' && sc.inExec && strings.HasPrefix(s[i:], "*/"):
		sc.inExec = false
		return tExecClose, i + 2, false
	case c == '\'':
		end, open := quoted(s, i, '\'', sc.m.Backslash)
		return tString, end, open
	case c == '"':
		end, open := quoted(s, i, '"', sc.m.Backslash && !sc.m.ANSIQuotes)
		return tString, end, open
	case c == '`' && sc.m.Dialect == MySQL:
		end, open := quoted(s, i, '`', false)
		return tString, end, open
	case c == '$' && sc.m.Dialect == PostgreSQL:
		if end, open, ok := dollarQuoted(s, i); ok {
			return tString, end, open
		}
		return tOther, wordEnd(s, i+1), false
	case isWordByte(c):
		return sc.word(i)
	}
	return tOther, i + 1, false
}

// lineComment reports whether the -- at i starts a comment: always in
// PostgreSQL; in MySQL only when followed by a space, a control character or
// the end of the input (so 1--1 is arithmetic).
func (sc *scanner) lineComment(i int) bool {
	s := sc.s
	if !strings.HasPrefix(s[i:], "--") {
		return false
	}
	if sc.m.Dialect != MySQL {
		return true
	}
	return i+2 >= len(s) || s[i+2] <= ' '
}

func (sc *scanner) toEOL(i int) (tokKind, int, bool) {
	j := strings.IndexByte(sc.s[i:], '\n')
	if j < 0 {
		return tComment, len(sc.s), false
	}
	return tComment, i + j, false
}

// blockComment scans /* … */. PostgreSQL nests them; MySQL does not, and
// runs the body of /*! … */ and /*M! … */ as code (MySQL and MariaDB
// executable comments), so those open an executable region instead.
func (sc *scanner) blockComment(i int) (tokKind, int, bool) {
	s := sc.s
	if sc.m.Dialect == MySQL {
		if end, ok := execOpen(s, i); ok && !sc.inExec {
			sc.inExec = true
			return tExecOpen, end, false
		}
		j := strings.Index(s[i+2:], "*/")
		if j < 0 {
			return tComment, len(s), true
		}
		return tComment, i + 2 + j + 2, false
	}
	depth := 0
	for j := i; j < len(s); {
		switch {
		case strings.HasPrefix(s[j:], "/*"):
			depth++
			j += 2
		case strings.HasPrefix(s[j:], "*/"):
			depth--
			j += 2
			if depth == 0 {
				return tComment, j, false
			}
		default:
			j++
		}
	}
	return tComment, len(s), true
}

// execOpen recognises /*! and /*M! with their optional version digits.
func execOpen(s string, i int) (int, bool) {
	j := i + 2
	if strings.HasPrefix(s[j:], "M!") {
		j += 2
	} else if strings.HasPrefix(s[j:], "!") {
		j++
	} else {
		return 0, false
	}
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	return j, true
}

// quoted scans a literal or quoted identifier opened by q at i: the quote
// doubled stands for itself; with backslash, \ escapes the next byte.
func quoted(s string, i int, q byte, backslash bool) (int, bool) {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if backslash {
				j++
			}
		case q:
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j + 1, false
		}
	}
	return len(s), true
}

// dollarQuoted scans a PostgreSQL dollar-quoted string $tag$…$tag$ at i. It
// reports ok false when the $ does not open one ($1 is a parameter).
func dollarQuoted(s string, i int) (int, bool, bool) {
	j := i + 1
	if j < len(s) && s[j] != '$' {
		if !isIdentStart(s[j]) {
			return 0, false, false
		}
		for j < len(s) && isIdentStart(s[j]) || j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
	}
	if j >= len(s) || s[j] != '$' {
		return 0, false, false
	}
	delim := s[i : j+1]
	k := strings.Index(s[j+1:], delim)
	if k < 0 {
		return len(s), true, true
	}
	return j + 1 + k + len(delim), false, true
}

// word scans a keyword, identifier or number. A PostgreSQL E or e right
// before a quote opens an escape string, where \ escapes.
func (sc *scanner) word(i int) (tokKind, int, bool) {
	j := wordEnd(sc.s, i)
	if sc.m.Dialect == PostgreSQL && j-i == 1 && (sc.s[i] == 'E' || sc.s[i] == 'e') && j < len(sc.s) && sc.s[j] == '\'' {
		end, open := quoted(sc.s, j, '\'', true)
		return tString, end, open
	}
	return tWord, j, false
}

func wordEnd(s string, i int) int {
	for i < len(s) && isWordByte(s[i]) {
		i++
	}
	return i
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isWordByte(c byte) bool {
	return isIdentStart(c) || c >= '0' && c <= '9' || c == '$'
}
