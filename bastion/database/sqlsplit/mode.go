package sqlsplit

// Mode is the server setting that changes how a dialect's literals are
// read. The server may be in any of them, and a session may change it
// (SET sql_mode, SET standard_conforming_strings), so the filters judge
// every reading of an input: see [Judged].
type Mode struct {
	Dialect Dialect
	// Backslash: \ escapes the next byte in '…' (and "…" when it is a
	// string). MySQL without NO_BACKSLASH_ESCAPES; PostgreSQL with
	// standard_conforming_strings off (E'…' always escapes).
	Backslash bool
	// ANSIQuotes: MySQL's ANSI_QUOTES, where "…" is an identifier.
	ANSIQuotes bool
}

// DefaultMode is a dialect's out-of-the-box setting.
func DefaultMode(d Dialect) Mode {
	return Mode{Dialect: d, Backslash: d == MySQL}
}

// Modes lists every reading of d's literals a server may apply, the default
// first.
func Modes(d Dialect) []Mode {
	if d == PostgreSQL {
		return []Mode{DefaultMode(d), {Dialect: d, Backslash: true}}
	}
	return []Mode{
		DefaultMode(d),
		{Dialect: d, Backslash: false},
		{Dialect: d, Backslash: true, ANSIQuotes: true},
		{Dialect: d, Backslash: false, ANSIQuotes: true},
	}
}
