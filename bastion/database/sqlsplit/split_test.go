package sqlsplit

import (
	"slices"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		name  string
		d     Dialect
		in    string
		texts []string
		kinds []string
	}{
		{"one", MySQL, "SELECT 1", []string{"SELECT 1"}, []string{"SELECT"}},
		{"two", MySQL, "select 1; drop table t;", []string{"select 1", "drop table t"}, []string{"SELECT", "DROP"}},
		{"empty statements", PostgreSQL, ";; ;select 1;;", []string{"select 1"}, []string{"SELECT"}},
		{"semicolon in single quotes", MySQL, "SELECT 'a;b'; DROP TABLE t", []string{"SELECT 'a;b'", "DROP TABLE t"}, []string{"SELECT", "DROP"}},
		{"mysql backslash quote", MySQL, `SELECT 'it\'s; DROP TABLE t'`, []string{`SELECT 'it\'s; DROP TABLE t'`}, []string{"SELECT"}},
		{"doubled quote", PostgreSQL, "SELECT 'it''s; x'; DELETE FROM t", []string{"SELECT 'it''s; x'", "DELETE FROM t"}, []string{"SELECT", "DELETE"}},
		{"pg backslash is literal", PostgreSQL, `SELECT 'a\'; DROP TABLE t; --'`, []string{`SELECT 'a\'`, "DROP TABLE t"}, []string{"SELECT", "DROP"}},
		{"pg E string escapes", PostgreSQL, `SELECT E'a\'; DROP TABLE t'`, []string{`SELECT E'a\'; DROP TABLE t'`}, []string{"SELECT"}},
		{"mysql double quoted string", MySQL, `SELECT "x; DROP"; TRUNCATE t`, []string{`SELECT "x; DROP"`, "TRUNCATE t"}, []string{"SELECT", "TRUNCATE"}},
		{"backtick identifier", MySQL, "SELECT `a;b` FROM `t``;`; GRANT ALL ON *.* TO x", []string{"SELECT `a;b` FROM `t``;`", "GRANT ALL ON *.* TO x"}, []string{"SELECT", "GRANT"}},
		{"pg quoted identifier", PostgreSQL, `SELECT "a;""b" FROM t; VACUUM`, []string{`SELECT "a;""b" FROM t`, "VACUUM"}, []string{"SELECT", "VACUUM"}},
		{"dollar quote", PostgreSQL, "CREATE FUNCTION f() RETURNS int AS $$ BEGIN; DROP TABLE t; END $$ LANGUAGE plpgsql; SELECT 1",
			[]string{"CREATE FUNCTION f() RETURNS int AS $$ BEGIN; DROP TABLE t; END $$ LANGUAGE plpgsql", "SELECT 1"}, []string{"CREATE", "SELECT"}},
		{"tagged dollar quote", PostgreSQL, "DO $body$ x; $$ y; $body$; SELECT 2", []string{"DO $body$ x; $$ y; $body$", "SELECT 2"}, []string{"DO", "SELECT"}},
		{"dollar parameter", PostgreSQL, "SELECT $1; SELECT $2", []string{"SELECT $1", "SELECT $2"}, []string{"SELECT", "SELECT"}},
		{"dollar in identifier", PostgreSQL, "SELECT a$b$ FROM t; DROP TABLE x", []string{"SELECT a$b$ FROM t", "DROP TABLE x"}, []string{"SELECT", "DROP"}},
		{"line comment", PostgreSQL, "-- drop table t;\nSELECT 1", []string{"-- drop table t;\nSELECT 1"}, []string{"SELECT"}},
		{"hash comment mysql", MySQL, "# drop; x\nSELECT 1", []string{"# drop; x\nSELECT 1"}, []string{"SELECT"}},
		{"hash is an operator in pg", PostgreSQL, "SELECT 1 # 2; DROP TABLE t", []string{"SELECT 1 # 2", "DROP TABLE t"}, []string{"SELECT", "DROP"}},
		{"mysql double dash needs space", MySQL, "SELECT 1--1; DROP TABLE t", []string{"SELECT 1--1", "DROP TABLE t"}, []string{"SELECT", "DROP"}},
		{"block comment", MySQL, "/* ; DROP */ SELECT 1; /* x */", []string{"/* ; DROP */ SELECT 1"}, []string{"SELECT"}},
		{"nested pg comment", PostgreSQL, "/* a /* ; */ DROP; */ SELECT 1", []string{"/* a /* ; */ DROP; */ SELECT 1"}, []string{"SELECT"}},
		{"mysql comments do not nest", MySQL, "/* a /* b */ DROP TABLE t", []string{"/* a /* b */ DROP TABLE t"}, []string{"DROP"}},
		{"mysql executable comment", MySQL, "/*!50000 DROP TABLE t */", []string{"/*!50000 DROP TABLE t */"}, []string{"DROP"}},
		{"mariadb executable comment", MySQL, "/*M!100100 TRUNCATE t */; SELECT 1", []string{"/*M!100100 TRUNCATE t */", "SELECT 1"}, []string{"TRUNCATE", "SELECT"}},
		{"pg does not execute /*!", PostgreSQL, "/*! DROP TABLE t */ SELECT 1", []string{"/*! DROP TABLE t */ SELECT 1"}, []string{"SELECT"}},
		{"parenthesised", PostgreSQL, "(SELECT 1) UNION (SELECT 2)", []string{"(SELECT 1) UNION (SELECT 2)"}, []string{"SELECT"}},
		{"pg semicolon inside parentheses", PostgreSQL, "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2)); SELECT 1",
			[]string{"CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2))", "SELECT 1"}, []string{"CREATE", "SELECT"}},
		{"with delete", PostgreSQL, "WITH x AS (SELECT id FROM t) DELETE FROM t USING x", []string{"WITH x AS (SELECT id FROM t) DELETE FROM t USING x"}, []string{"DELETE"}},
		{"with recursive select", PostgreSQL, "WITH RECURSIVE r(n) AS (SELECT 1 UNION SELECT n+1 FROM r) SELECT * FROM r", nil, []string{"SELECT"}},
		{"lower case kind", MySQL, "  grant select on db.* to 'u'@'%'", []string{"grant select on db.* to 'u'@'%'"}, []string{"GRANT"}},
		{"unterminated string", MySQL, "SELECT 'abc; DROP TABLE t", []string{"SELECT 'abc; DROP TABLE t"}, []string{"SELECT"}},
		{"unterminated comment", PostgreSQL, "SELECT 1; /* DROP", []string{"SELECT 1"}, []string{"SELECT"}},
		{"only comments", MySQL, "-- x\n/* y */ # z", nil, nil},
		{"newlines", PostgreSQL, "SELECT\n  1\n;\nDROP\n\tTABLE t\n;\n", []string{"SELECT\n  1", "DROP\n\tTABLE t"}, []string{"SELECT", "DROP"}},
		{"utf8", PostgreSQL, "SELECT 'héllo;'; SELECT ünïcode FROM t", []string{"SELECT 'héllo;'", "SELECT ünïcode FROM t"}, []string{"SELECT", "SELECT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Split(tt.d, tt.in)
			var texts, kinds []string
			for _, st := range got {
				texts = append(texts, st.Text)
				if st.Kind != "" {
					kinds = append(kinds, st.Kind)
				}
			}
			if tt.texts != nil && !slices.Equal(texts, tt.texts) {
				t.Errorf("texts = %q, want %q", texts, tt.texts)
			}
			if !slices.Equal(kinds, tt.kinds) {
				t.Errorf("kinds = %q, want %q", kinds, tt.kinds)
			}
		})
	}
}

func TestNormalizedAndKeywords(t *testing.T) {
	tests := []struct {
		d        Dialect
		in       string
		norm     string
		keywords []string
	}{
		{MySQL, "/* c */ DROP  \n TABLE  -- x\n `t`", "DROP TABLE `t`", []string{"DROP", "TABLE"}},
		{MySQL, "/*!50000 DROP*/ TABLE t", "DROP TABLE t", []string{"DROP", "TABLE", "T"}},
		{PostgreSQL, "select  'a   b'", "select 'a   b'", []string{"SELECT"}},
		{PostgreSQL, "drop/**/table t", "drop table t", []string{"DROP", "TABLE", "T"}},
	}
	for _, tt := range tests {
		st := Split(tt.d, tt.in)
		if len(st) != 1 {
			t.Fatalf("%q: %d statements", tt.in, len(st))
		}
		if st[0].Normalized != tt.norm {
			t.Errorf("%q: normalized %q, want %q", tt.in, st[0].Normalized, tt.norm)
		}
		if !slices.Equal(st[0].Keywords, tt.keywords) {
			t.Errorf("%q: keywords %q, want %q", tt.in, st[0].Keywords, tt.keywords)
		}
	}
}

func TestComplete(t *testing.T) {
	tests := []struct {
		d    Dialect
		in   string
		want bool
	}{
		{MySQL, "SELECT 1;", true},
		{MySQL, "SELECT 1", false},
		{MySQL, "SELECT 1; -- done", true},
		{MySQL, "SELECT 'a;", false},
		{MySQL, "SELECT 'a;';", true},
		{MySQL, "SELECT 1 /* ; */", false},
		{MySQL, "/*!50000 SELECT 1;", false},
		{PostgreSQL, "SELECT (1;", false},
		{PostgreSQL, "DO $$ x; $$;", true},
		{PostgreSQL, "DO $$ x; ", false},
		{PostgreSQL, "/* /* */ ; */", false},
		{PostgreSQL, "", false},
	}
	for _, tt := range tests {
		if got := Complete(tt.d, tt.in); got != tt.want {
			t.Errorf("Complete(%v, %q) = %v, want %v", tt.d, tt.in, got, tt.want)
		}
	}
}

// TestJudgedReadsEveryMode: what the default reading takes for one literal
// a server in another mode reads as several statements; Judged returns
// them all.
func TestJudgedReadsEveryMode(t *testing.T) {
	tests := []struct {
		d    Dialect
		in   string
		want string // a statement Judged must include
	}{
		{MySQL, `SELECT 'a\'; DROP TABLE t; -- '`, "DROP TABLE t"},       // NO_BACKSLASH_ESCAPES
		{MySQL, `SELECT "a\"; DROP TABLE t; -- "`, "DROP TABLE t"},       // ANSI_QUOTES
		{PostgreSQL, `SELECT 'a\'; DROP TABLE t; -- '`, "DROP TABLE t"},  // default reading
		{PostgreSQL, `SELECT 'a\''; DROP TABLE t; -- '`, "DROP TABLE t"}, // standard_conforming_strings off
	}
	for _, tt := range tests {
		var got []string
		for _, st := range Judged(tt.d, tt.in) {
			got = append(got, st.Normalized)
		}
		if !slices.Contains(got, tt.want) {
			t.Errorf("Judged(%v, %q) = %q, want it to include %q", tt.d, tt.in, got, tt.want)
		}
	}
}

func TestPiecesJoinToInput(t *testing.T) {
	in := "SELECT 1; /* c */ DROP TABLE t;\n-- tail"
	for _, m := range append(Modes(MySQL), Modes(PostgreSQL)...) {
		var b strings.Builder
		for _, p := range m.pieces(in) {
			b.WriteString(in[p.toks[0].start:p.toks[len(p.toks)-1].end])
		}
		if b.String() != in {
			t.Errorf("%+v: joined %q", m, b.String())
		}
	}
}
