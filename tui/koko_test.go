package tui

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"

	"github.com/jms-bastion/jms/store"
)

// Issue 11: KoKo's habits, Enter that never guesses, a search box that
// gives the command keys back.

func TestMenuEnterNeverGuesses(t *testing.T) {
	tests := []struct {
		name  string
		keys  []string
		asset string // "" when Enter must not connect
		state state
	}{
		// KoKo's p lists the assets: Enter then used to connect to the
		// first one in sort order.
		{"p then enter", []string{"p", "enter"}, "", stateList},
		{"enter on the full list", []string{"enter"}, "", stateList},
		{"two matches", []string{"web", "enter"}, "", stateList},
		{"the only match", []string{"cache", "enter"}, "cache-01", stateList},
		{"a row she moved to", []string{"p", "down", "enter"}, "bastion-lab", stateList},
		{"moved, then typed: not chosen any more", []string{"down", "w", "enter"}, "", stateList},
		{"home is a move", []string{"end", "home", "enter"}, "backup", stateList},
		{"KoKo: a number and enter", []string{"5", "enter"}, "cache-01", stateList},
		{"ID 1 ranks above the names and addresses holding 1", []string{"1", "enter"}, "web-01", stateList},
		{"ID 12 after 1", []string{"12", "enter"}, "backup", stateList},
		{"ID with several accounts: the picker", []string{"3", "enter"}, "", statePicker},
		{"an unknown ID searches", []string{"99", "enter"}, "", stateList},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, cmd := press(t, fixtureMenu(80, 24), tt.keys...)
			a, _, ok := m.Choice()
			if tt.asset == "" {
				if ok || quits(cmd) {
					t.Fatalf("Enter connected to %s", a.Asset.Name)
				}
			} else if !ok || a.Asset.Name != tt.asset || !quits(cmd) {
				t.Fatalf("Choice = %q %v, want %q", a.Asset.Name, ok, tt.asset)
			}
			if m.state != tt.state {
				t.Fatalf("state = %v, want %v", m.state, tt.state)
			}
			if tt.asset == "" && tt.state == stateList && len(m.matches) > 1 && !strings.Contains(plain(m), "assets match: move to one") {
				t.Errorf("no hint after a refused Enter:\n%s", plain(m))
			}
		})
	}
}

func TestMenuKokoCommands(t *testing.T) {
	// p: every asset again, out of the search and the node.
	m, _ := press(t, fixtureMenu(80, 24), "g", "down", "enter") // a node
	if m.node == "" {
		t.Fatal("no node chosen")
	}
	m, _ = press(t, m, "web", "esc", "p")
	if m.node != "" || m.query != "" || m.search || len(m.matches) != 12 {
		t.Fatalf("after p: node %q query %q search %v, %d matches", m.node, m.query, m.search, len(m.matches))
	}
	// h: help; g: tree; r: refresh (not available here); q: quit.
	if m, _ := press(t, fixtureMenu(80, 24), "h"); m.state != stateHelp {
		t.Errorf("h: state %v", m.state)
	}
	if m, _ := press(t, fixtureMenu(80, 24), "g"); m.state != stateTree {
		t.Errorf("g: state %v", m.state)
	}
	if m, _ := press(t, fixtureMenu(80, 24), "r"); !strings.Contains(plain(m), "Refresh is not available") {
		t.Errorf("r: %s", plain(m))
	}
	// In the tree, h still closes a node.
	m, _ = press(t, fixtureMenu(80, 24), "g", "down", "right", "h")
	if m.state != stateTree {
		t.Errorf("h in the tree: state %v", m.state)
	}
}

// TestMenuSearchBoxGivesKeysBack: the search box swallowed commands
// after typing and erasing, and after a failed connection.
func TestMenuSearchBoxGivesKeysBack(t *testing.T) {
	tests := []struct {
		name  string
		keys  []string
		quit  bool
		state state
		query string
	}{
		{"typed and erased, q quits", []string{"x", "backspace", "q"}, true, stateList, ""},
		{"ctrl+u, then g opens the tree", []string{"web", "ctrl+u", "g"}, false, stateTree, ""},
		{"ctrl+w, then ? shows help", []string{"web", "ctrl+w", "?"}, false, stateHelp, ""},
		{"erased, then r refreshes", []string{"ab", "backspace", "backspace", "r"}, false, stateList, ""},
		{"esc once clears and leaves", []string{"web", "esc", "q"}, true, stateList, ""},
		{"/ then q is typed", []string{"/", "q"}, false, stateList, "q"},
		{"typing goes on while the box holds text", []string{"x", "q"}, false, stateList, "xq"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, cmd := press(t, fixtureMenu(80, 24), tt.keys...)
			if quits(cmd) != tt.quit || m.state != tt.state || m.query != tt.query {
				t.Fatalf("quit %v state %v query %q; want %v %v %q", quits(cmd), m.state, m.query, tt.quit, tt.state, tt.query)
			}
		})
	}

	// Back from a failed connection: the old query is shown, q quits.
	m, _ := press(t, fixtureMenu(80, 24), "web", "down", "enter", "enter")
	st := m.State()
	again := NewMenu(MenuConfig{User: "alice", Assets: fixture(), Restore: &st, Flash: "jms: cannot connect to web-02"})
	if again.query != "web" || again.search {
		t.Fatalf("restored query %q search %v", again.query, again.search)
	}
	next, cmd := press(t, again, "q")
	if !quits(cmd) || next.query != "web" {
		t.Fatalf("q after a failed connection: quit %v, query %q", quits(cmd), next.query)
	}
	// A letter starts a new search; / goes on with the old one.
	if next, _ := press(t, again, "d", "b"); next.query != "db" || !next.search {
		t.Fatalf("typing after coming back: query %q", next.query)
	}
	if next, _ := press(t, again, "/", "-0"); next.query != "web-0" {
		t.Fatalf("/ after coming back: query %q", next.query)
	}
	if next, _ := again.Update(tea.PasteMsg{Content: "db"}); next.(Menu).query != "db" {
		t.Fatalf("paste after coming back: query %q", next.(Menu).query)
	}
	// She moved to web-02 before: Enter takes her there again.
	if next, _ := press(t, again, "enter"); next.state != statePicker || next.picker.access.Asset.Name != "web-02" {
		t.Fatalf("enter after coming back: state %v", next.state)
	}
}

// TestMenuDoubleEsc: Esc Esc reaches the program as one alt+esc.
func TestMenuDoubleEsc(t *testing.T) {
	m, _ := press(t, fixtureMenu(80, 24), "g", "down", "enter", "web")
	if m.node == "" || m.query == "" {
		t.Fatalf("setup: node %q query %q", m.node, m.query)
	}
	next, _ := m.Update(tea.KeyPressMsg{Code: tea.KeyEscape, Mod: tea.ModAlt})
	m = next.(Menu)
	if m.node != "" || m.query != "" || m.search || len(m.matches) != 12 {
		t.Fatalf("after esc esc: node %q query %q search %v", m.node, m.query, m.search)
	}
	// From the picker: back to the list, the search cleared.
	m, _ = press(t, fixtureMenu(80, 24), "web-02", "enter")
	next, _ = m.Update(tea.KeyPressMsg{Code: tea.KeyEscape, Mod: tea.ModAlt})
	if m = next.(Menu); m.state != stateList || m.query != "" {
		t.Fatalf("esc esc from the picker: state %v query %q", m.state, m.query)
	}
}

func TestMenuPickerStart(t *testing.T) {
	root := account("db", "root", true)
	app := account("db", "app", false)
	ro := account("db", "readonly", false)
	assets := func() []store.Access {
		return []store.Access{{Asset: store.Asset{ID: 7, Name: "db", Address: "10.0.0.5"}, Accounts: []store.GrantedAccount{root, app, ro}}}
	}
	m, _ := press(t, NewMenu(MenuConfig{User: "alice", Assets: assets()}), "enter")
	if m.state != statePicker || m.picker.accounts[m.picker.cursor].Username != "app" {
		t.Fatalf("picker starts on %q, want app (the first unprivileged)", m.picker.accounts[m.picker.cursor].Username)
	}
	m, _ = press(t, NewMenu(MenuConfig{User: "alice", Assets: assets(), LastAccounts: map[string]string{"db": "readonly"}}), "enter")
	if got := m.picker.accounts[m.picker.cursor].Username; got != "readonly" {
		t.Fatalf("picker starts on %q, want readonly (used last)", got)
	}
	// ssh -t alice@bastion db: the header counts her assets, not 1.
	m = NewMenu(MenuConfig{User: "alice", Assets: assets(), Total: 42, PickAccount: true})
	if v := plain(m); !strings.Contains(v, "alice · 42 assets") || !strings.Contains(v, "› app") {
		t.Fatalf("picker alone:\n%s", v)
	}
}

func TestSearchRanking(t *testing.T) {
	mk := func(id int64, name, addr string, port int, comment string) store.Access {
		return store.Access{Asset: store.Asset{ID: id, Name: name, Address: addr, Port: port, Comment: comment},
			Accounts: []store.GrantedAccount{account(name, "u", false)}}
	}
	assets := []store.Access{
		mk(1, "alpha", "10.0.0.1", 22, ""),
		mk(2, "db10", "10.0.0.2", 2210, ""),
		mk(3, "db2", "10.0.0.3", 22, ""),
		mk(4, "web1", "10.0.0.4", 22, ""),
		mk(5, "ldap", "10.0.0.5", 22, "web1 auth"),
		mk(10, "x-web1-old", "10.0.1.10", 22, ""),
		mk(11, "web10", "10.0.0.11", 22, ""),
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"alpha", "db2", "db10", "ldap", "web1", "web10", "x-web1-old"}},
		{"web1", []string{"web1", "web10", "x-web1-old", "ldap"}},
		{"db", []string{"db2", "db10"}},
		{"1", []string{"alpha", "db10", "web1", "web10", "x-web1-old", "db2", "ldap"}},
		{"10", []string{"x-web1-old", "db10", "web10", "alpha", "db2", "ldap", "web1"}},
		{"22", []string{"db10", "alpha", "db2", "ldap", "web1", "web10", "x-web1-old"}[:1]},
		{"auth", []string{"ldap"}},
		{"web 1", []string{"web1", "web10", "x-web1-old", "ldap"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			m := NewMenu(MenuConfig{Assets: slices.Clone(assets)})
			if tt.query != "" {
				m, _ = press(t, m, "/", tt.query)
			}
			if got := names(m); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("order = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNaturalCompare(t *testing.T) {
	sorted := []string{"", "a", "a1", "a01", "a2", "a10", "a10b", "a11", "ab", "b", "db-2", "db-10", "web", "web2", "web9", "web10", "web100",
		"x99999999999999999999998", "x99999999999999999999999"}
	for i := range sorted {
		for j := range sorted {
			want := cmpInt(i, j)
			if got := naturalCompare(sorted[i], sorted[j]); got != want {
				t.Errorf("naturalCompare(%q, %q) = %d, want %d", sorted[i], sorted[j], got, want)
			}
		}
	}
}

func FuzzNaturalCompare(f *testing.F) {
	for _, s := range [][2]string{{"web2", "web10"}, {"a01", "a1"}, {"", "0"}, {"x9", "x09a"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, ba := naturalCompare(a, b), naturalCompare(b, a)
		if ab != -ba {
			t.Fatalf("not antisymmetric: %q %q: %d %d", a, b, ab, ba)
		}
		if (ab == 0) != (a == b) {
			t.Fatalf("naturalCompare(%q, %q) = %d", a, b, ab)
		}
	})
}

// FuzzMenuQuery types arbitrary text into the search box: no panic, the
// cursor stays on a match, every match passes the query, and Enter
// connects only to the only match, the ID typed or a row moved to.
func FuzzMenuQuery(f *testing.F) {
	for _, s := range []string{"web", "1", "12", "0012", "p", "/q", "web 1", "\x1b[A", "é日本", "99999999999999999999", "  "} {
		f.Add(s)
	}
	base := fixtureMenu(80, 24)
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		m, _ := press(t, base, "/")
		for _, r := range s {
			m, _ = press(t, m, string(r))
		}
		if len(m.matches) > 0 && (m.cursor < 0 || m.cursor >= len(m.matches)) {
			t.Fatalf("cursor %d of %d", m.cursor, len(m.matches))
		}
		q := parseQuery(m.query)
		for _, i := range m.matches {
			if !q.matches(&m.items[i]) {
				t.Fatalf("%q matched %s", m.query, m.items[i].access.Asset.Name)
			}
		}
		next, _ := press(t, m, "enter")
		if a, _, ok := next.Choice(); ok && len(m.matches) != 1 && (q.id == "" || m.items[m.matches[0]].id != q.id) {
			t.Fatalf("%q: Enter connected to %s among %d matches", m.query, a.Asset.Name, len(m.matches))
		}
		_ = plain(next)
	})
}

// TestGone: the assets she no longer has are named in the status line.
func TestGone(t *testing.T) {
	a := func(id int64, name string) store.Access { return store.Access{Asset: store.Asset{ID: id, Name: name}} }
	for _, tc := range []struct {
		before, after []store.Access
		want          string
	}{
		{nil, []store.Access{a(1, "web1")}, ""},
		{[]store.Access{a(1, "web1")}, []store.Access{a(1, "web1")}, ""},
		{[]store.Access{a(1, "web1"), a(2, "db1")}, []store.Access{a(1, "web1")}, "Your access to db1 has ended: the grant expired or was revoked."},
		{[]store.Access{a(1, "a"), a(2, "b"), a(3, "c"), a(4, "d"), a(5, "e")}, nil, "Your access to a, b, c, 2 more has ended: the grant expired or was revoked."},
	} {
		if got := Gone(tc.before, tc.after); got != tc.want {
			t.Errorf("Gone = %q, want %q", got, tc.want)
		}
	}
}
