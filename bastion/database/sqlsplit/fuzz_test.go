package sqlsplit

import (
	"strings"
	"testing"
)

func seeds(f *testing.F) {
	for _, s := range []string{
		"SELECT 1; DROP TABLE t;", `SELECT 'a\'; DROP TABLE t; -- '`, "/*!50000 DROP */ x",
		"DO $a$ ; $a$; SELECT $1", "E'\\'';", "/* /* */ */;", "`a``;`;", "(;);", "# x\n;",
		"WITH x AS (SELECT 1) DELETE FROM t", "SELECT 1--1;", "$", "/*M!", "'", "\"",
	} {
		f.Add(s)
	}
}

// FuzzSplit: no panic; under every mode the pieces join back to the input,
// statements lie inside their spans in order, and splitting a statement's
// text again yields that one statement.
func FuzzSplit(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, in string) {
		for _, m := range append(Modes(MySQL), Modes(PostgreSQL)...) {
			var b strings.Builder
			for _, p := range m.pieces(in) {
				b.WriteString(in[p.toks[0].start:p.toks[len(p.toks)-1].end])
			}
			if b.String() != in {
				t.Fatalf("%+v: pieces join to %q, not %q", m, b.String(), in)
			}
			end := 0
			for _, st := range m.Split(in) {
				if st.Start < end || st.End > len(in) || !strings.Contains(in[st.Start:st.End], st.Text) {
					t.Fatalf("%+v: statement %+v outside its span", m, st)
				}
				end = st.End
				if st.Text == "" || st.Normalized == "" {
					t.Fatalf("%+v: empty statement %+v", m, st)
				}
				again := m.Split(st.Text)
				if m.Dialect == MySQL && st.Text == "--" && len(again) == 0 {
					continue // "--;": cut before the ;, -- ends the input and is a comment (as for the server)
				}
				if len(again) != 1 || again[0].Text != st.Text || again[0].Kind != st.Kind {
					t.Fatalf("%+v: %q splits again into %+v", m, st.Text, again)
				}
			}
		}
		_ = Complete(MySQL, in)
		_ = Complete(PostgreSQL, in)
		_ = Judged(MySQL, in)
	})
}
