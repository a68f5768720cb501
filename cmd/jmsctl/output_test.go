package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

func TestTableWidth(t *testing.T) {
	tests := []struct {
		name      string
		isTerm    bool
		columns   string
		termWidth int
		want      int
	}{
		{"pipe: whole cells", false, "120", 200, 0},
		{"pipe ignores COLUMNS", false, "80", 0, 0},
		{"COLUMNS wins", true, "132", 100, 132},
		{"COLUMNS with spaces", true, " 90 ", 100, 90},
		{"terminal width", true, "", 100, 100},
		{"COLUMNS not a number", true, "wide", 100, 100},
		{"COLUMNS too small", true, "3", 100, 100},
		{"COLUMNS absurd", true, "99999999", 0, 80},
		{"nothing known", true, "", 0, 80},
		{"terminal too small", true, "", 5, 80},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tableWidth(tt.isTerm, tt.columns, tt.termWidth); got != tt.want {
				t.Errorf("tableWidth(%v, %q, %d) = %d, want %d", tt.isTerm, tt.columns, tt.termWidth, got, tt.want)
			}
		})
	}
}

func TestUniquePrefixes(t *testing.T) {
	tests := []struct {
		name string
		ids  []string
		want map[string]string
	}{
		{"none", nil, map[string]string{}},
		{"one", []string{"3f2a9c1e-5b7d"}, map[string]string{"3f2a9c1e-5b7d": "3f2a9c1e"}},
		{"distinct at 8", []string{"aaaa1111-0000", "bbbb2222-0000"},
			map[string]string{"aaaa1111-0000": "aaaa1111", "bbbb2222-0000": "bbbb2222"}},
		{"shared 9 chars", []string{"aaaa1111-0001", "aaaa1111-0002", "bbbb2222-0000"},
			map[string]string{"aaaa1111-0001": "aaaa1111-0001", "aaaa1111-0002": "aaaa1111-0002", "bbbb2222-0000": "bbbb2222"}},
		{"shared 10 chars", []string{"aaaa1111-0aaa", "aaaa1111-0bbb"},
			map[string]string{"aaaa1111-0aaa": "aaaa1111-0a", "aaaa1111-0bbb": "aaaa1111-0b"}},
		{"repeated id", []string{"cccc3333-0000", "cccc3333-0000"}, map[string]string{"cccc3333-0000": "cccc3333"}},
		{"prefix of another stays whole", []string{"dddd4444d", "dddd4444dd"},
			map[string]string{"dddd4444d": "dddd4444d", "dddd4444dd": "dddd4444dd"}},
		{"unsorted", []string{"ffff0000-1", "eeee0000-1", "ffff0000-2"},
			map[string]string{"ffff0000-1": "ffff0000-1", "eeee0000-1": "eeee0000", "ffff0000-2": "ffff0000-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := uniquePrefixes(tt.ids, minIDPrefix)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for id, p := range tt.want {
				if got[id] != p {
					t.Errorf("%s: got %q, want %q", id, got[id], p)
				}
			}
			// Every prefix names one id only.
			for id, p := range got {
				for other := range got {
					if other != id && p != id && strings.HasPrefix(other, p) {
						t.Errorf("prefix %q of %s also matches %s", p, id, other)
					}
				}
			}
		})
	}
}

// FuzzUniquePrefixes checks, for any ids, that each prefix is at least
// the minimum (or the whole id), is a prefix of its id, and matches no
// other id unless it is that whole id.
func FuzzUniquePrefixes(f *testing.F) {
	f.Add("aaaa1111-0001\naaaa1111-0002\nbbbb")
	f.Add("x\nxy\nxyz")
	f.Fuzz(func(t *testing.T, s string) {
		ids := strings.Split(s, "\n")
		got := uniquePrefixes(ids, minIDPrefix)
		for id, p := range got {
			if !strings.HasPrefix(id, p) || (len(p) < minIDPrefix && p != id) {
				t.Fatalf("id %q: prefix %q", id, p)
			}
			for other := range got {
				if other != id && strings.HasPrefix(other, p) && p != id {
					t.Fatalf("prefix %q of %q also matches %q", p, id, other)
				}
			}
		}
	})
}

type listed struct{ id, user, comment string }

func rowColumns() []column[listed] {
	return []column[listed]{
		{"id", func(r listed) string { return r.id }},
		{"user", func(r listed) string { return r.user }},
		{"comment", func(r listed) string { return r.comment }},
	}
}

func TestRenderTable(t *testing.T) {
	long := strings.Repeat("a comment that goes on ", 6)
	rows := []listed{
		{"aaaa1111-0000-4000-8000-000000000001", "alice", long},
		{"bbbb2222-0000-4000-8000-000000000002", "bob\x1b[2J", "short"},
	}
	tests := []struct {
		name  string
		l     listing
		want  []string // substrings of the output
		not   []string
		width int // no line wider (0: no check)
	}{
		{"pipe: whole cells, short ids", listing{format: "table"},
			[]string{"ID        USER", "aaaa1111  alice", strings.TrimSpace(long), `bob\x1b[2J`}, []string{"…", "aaaa1111-"}, 0},
		{"terminal of 60", listing{format: "table", width: 60},
			[]string{"ID        USER", "aaaa1111  alice", "…"}, []string{"aaaa1111-"}, 60},
		{"terminal of 20 drops columns", listing{format: "table", width: 20},
			[]string{"aaaa1111  alice", "(COMMENT not shown: -o wide shows every column)"}, []string{"a comment"}, 47},
		{"wide: whole ids and cells", listing{format: "table", wide: true},
			[]string{"aaaa1111-0000-4000-8000-000000000001  alice", strings.TrimSpace(long)}, []string{"…"}, 0},
		{"no headers", listing{format: "table", noHeaders: true},
			[]string{"aaaa1111  alice"}, []string{"ID", "USER"}, 0},
		{"csv keeps full ids", listing{format: "csv"},
			[]string{"id,user,comment\n", "aaaa1111-0000-4000-8000-000000000001,alice,"}, nil, 0},
		{"csv keeps its field names", listing{format: "csv", noHeaders: true},
			[]string{"id,user,comment\n", "aaaa1111-0000-4000-8000-000000000001,alice,"}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			tt.l.w = &b
			if err := render(tt.l, rows, rowColumns()); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("missing %q in:\n%s", w, out)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(out, n) {
					t.Errorf("unexpected %q in:\n%s", n, out)
				}
			}
			if strings.Contains(out, "\x1b") {
				t.Errorf("raw escape in:\n%q", out)
			}
			if tt.width > 0 {
				for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
					if w := ansi.StringWidth(l); w > tt.width {
						t.Errorf("line of %d cells, want ≤ %d: %q", w, tt.width, l)
					}
				}
			}
		})
	}
}

func TestFitWidth(t *testing.T) {
	header := []string{"NAME", "ADDRESS", "COMMENT"}
	rows := [][]string{{"web1", "very-long-host-name.internal.example.com", "日本語のコメントがとても長いです"}}
	for _, width := range []int{80, 60, 40, 30, 25} {
		h, r, hidden := fitWidth(header, rows, width)
		line := strings.Join(h, "  ")
		if w := ansi.StringWidth(strings.Join(r[0], "  ")); w > width && len(hidden) == 0 {
			t.Errorf("width %d: row of %d cells: %q", width, w, r[0])
		}
		if len(h)+len(hidden) != len(header) || len(r[0]) != len(h) {
			t.Errorf("width %d: header %v hidden %v row %v", width, h, hidden, r[0])
		}
		_ = line
	}
	h, r, hidden := fitWidth(header, rows, 0)
	if len(hidden) != 0 || r[0][1] != rows[0][1] || len(h) != 3 {
		t.Errorf("width 0 changed the table: %v %v %v", h, r, hidden)
	}
}

// TestTableAlignsWideCharacters: columns are measured in terminal cells,
// so that a name in Chinese does not push its row's columns out of line
// (text/tabwriter counted runes).
func TestTableAlignsWideCharacters(t *testing.T) {
	var b bytes.Buffer
	rows := []listed{{"1", "张伟", "x"}, {"2", "bob", "y"}}
	if err := render(listing{w: &b, format: "table"}, rows, rowColumns()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	want := ansi.StringWidth(lines[0][:strings.Index(lines[0], "COMMENT")])
	for _, l := range lines[1:] {
		if got := ansi.StringWidth(l) - 1; got != want {
			t.Errorf("last column at cell %d, want %d:\n%s", got, want, b.String())
		}
	}
}
