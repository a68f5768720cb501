package tui

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/jms-bastion/jms/store"
)

// names lists the assets that pass the filter, in order.
func names(m Menu) []string {
	var out []string
	for _, i := range m.matches {
		out = append(out, m.items[i].access.Asset.Name)
	}
	return out
}

// quits reports whether cmd ends the program.
func quits(cmd tea.Cmd) bool {
	if cmd == nil {
		return false
	}
	_, ok := cmd().(tea.QuitMsg)
	return ok
}

func selectedName(m Menu) string {
	it, ok := m.selected()
	if !ok {
		return ""
	}
	return it.access.Asset.Name
}

// selectedRow matches the row under the cursor: marker, ID, name.
func selectedRow(m Menu) *regexp.Regexp {
	it, _ := m.selected()
	return regexp.MustCompile(`› +` + it.id + `  ` + regexp.QuoteMeta(fit(it.access.Asset.Name, 4)[:3]))
}

func TestMenuListsAssetsSortedWithHeader(t *testing.T) {
	m := fixtureMenu(80, 24)
	want := []string{"backup", "bastion-lab", "build-runner", "cache-01", "db-primary", "db-replica", "jenkins",
		"router-core", "staging-app", "web-01", "web-02", "win-ad-01"}
	if got := names(m); !reflect.DeepEqual(got, want) {
		t.Fatalf("order = %v, want %v", got, want)
	}
	v := plain(m)
	for _, s := range []string{"Welcome to the ACME bastion", "alice (user) · 12 assets", "12/12", "NAME", "ADDRESS",
		"10.0.3.31:2222", "› 12  backup", "ID  NAME", "no account", "q quit"} {
		if !strings.Contains(v, s) {
			t.Errorf("view lacks %q:\n%s", s, v)
		}
	}
}

func TestMenuFilter(t *testing.T) {
	tests := []struct {
		name  string
		keys  []string
		want  []string
		query string
	}{
		{"name", []string{"web"}, []string{"web-01", "web-02"}, "web"},
		{"case-insensitive", []string{"EU-WEST"}, []string{"web-01", "web-02"}, "EU-WEST"},
		{"address", []string{"10.0.3"}, []string{"cache-01"}, "10.0.3"},
		{"comment", []string{"/", "postgres"}, []string{"db-primary", "db-replica"}, "postgres"},
		{"node", []string{"/prod/infra"}, []string{"router-core", "win-ad-01"}, ""},
		{"label", []string{"team=platform"}, []string{"build-runner"}, "team=platform"},
		{"all words", []string{"/", "prod", "space", "replica"}, []string{"db-replica"}, "prod replica"},
		{"backspace widens", []string{"webx", "backspace"}, []string{"web-01", "web-02"}, "web"},
		{"ctrl+u clears", []string{"web", "ctrl+u"}, nil, ""},
		{"ctrl+w erases a word", []string{"/", "prod", "space", "replica", "ctrl+w"},
			[]string{"cache-01", "db-primary", "db-replica", "router-core", "web-01", "web-02", "win-ad-01"}, "prod "},
		{"nothing", []string{"zzz"}, []string{}, "zzz"},
		{"esc clears", []string{"web", "esc"}, nil, ""},
	}
	all := names(fixtureMenu(80, 24))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := press(t, fixtureMenu(80, 24), tt.keys...)
			want := tt.want
			if want == nil {
				want = all
			}
			got := names(m)
			if len(got) == 0 && len(want) == 0 {
				got, want = nil, nil
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("matches = %v, want %v", got, want)
			}
			if tt.name != "node" && m.query != tt.query {
				t.Errorf("query = %q, want %q", m.query, tt.query)
			}
			if len(names(m)) > 0 && m.cursor != 0 {
				t.Errorf("cursor = %d after filtering, want the first match", m.cursor)
			}
		})
	}
}

func searchOf(m Menu, name string) string {
	for _, it := range m.items {
		if it.access.Asset.Name == name {
			return it.search
		}
	}
	return ""
}

func TestMenuNoMatchSaysSo(t *testing.T) {
	m, cmd := press(t, fixtureMenu(80, 24), "zzz", "enter")
	if quits(cmd) {
		t.Fatal("enter with no match ended the program")
	}
	v := plain(m)
	if !strings.Contains(v, `No asset matches "zzz".`) || !strings.Contains(v, "0/12") {
		t.Errorf("view:\n%s", v)
	}
}

func TestMenuUniqueMatchEnterConnects(t *testing.T) {
	m, cmd := press(t, fixtureMenu(80, 24), "cache", "enter")
	if !quits(cmd) {
		t.Fatal("enter on the only match did not end the program")
	}
	a, acc, ok := m.Choice()
	if !ok || a.Asset.Name != "cache-01" || acc.Username != "redis" {
		t.Errorf("Choice = %s, %s, %v; want cache-01, redis, true", a.Asset.Name, acc.Username, ok)
	}
}

func TestMenuEnterConnectsSelected(t *testing.T) {
	m, cmd := press(t, fixtureMenu(80, 24), "down", "down", "enter")
	if !quits(cmd) {
		t.Fatal("enter did not end the program")
	}
	if a, _, ok := m.Choice(); !ok || a.Asset.Name != "build-runner" {
		t.Errorf("Choice = %s, %v; want build-runner", a.Asset.Name, ok)
	}
}

func TestMenuAccountPicker(t *testing.T) {
	m, cmd := press(t, fixtureMenu(80, 24), "web-02", "enter")
	if cmd != nil {
		t.Fatal("enter on an asset with two accounts ended the program")
	}
	if m.state != statePicker {
		t.Fatalf("state = %v, want picker", m.state)
	}
	v := plain(m)
	for _, s := range []string{"Choose an account on web-02 (10.0.1.12)", "› deploy", "root", "privileged", "connect,upload,download,delete"} {
		if !strings.Contains(v, s) {
			t.Errorf("picker lacks %q:\n%s", s, v)
		}
	}

	// Esc goes back to the list, filter intact.
	back, _ := press(t, m, "esc")
	if back.state != stateList || back.query != "web-02" {
		t.Errorf("after esc: state %v, query %q", back.state, back.query)
	}
	if _, _, ok := back.Choice(); ok {
		t.Error("esc chose something")
	}

	// Down, Enter picks root.
	m, cmd = press(t, m, "down", "enter")
	if !quits(cmd) {
		t.Fatal("enter in the picker did not end the program")
	}
	a, acc, ok := m.Choice()
	if !ok || a.Asset.Name != "web-02" || acc.Username != "root" || !acc.Privileged {
		t.Errorf("Choice = %s, %+v, %v", a.Asset.Name, acc, ok)
	}
}

func TestMenuNoAccount(t *testing.T) {
	m, cmd := press(t, fixtureMenu(80, 24), "jenkins", "enter")
	if cmd != nil {
		t.Fatal("enter on an asset without account did something")
	}
	if _, _, ok := m.Choice(); ok {
		t.Fatal("chose an asset without account")
	}
	if v := plain(m); !strings.Contains(v, "No account on jenkins") {
		t.Errorf("no message:\n%s", v)
	}
	if !strings.Contains(m.View().Content, "\x1b[") {
		t.Error("no styling at all")
	}
	m, _ = press(t, m, "down")
	if strings.Contains(plain(m), "No account on jenkins") {
		t.Error("the message stayed after the next key")
	}
}

func TestMenuQuitAndTyping(t *testing.T) {
	tests := []struct {
		name  string
		keys  []string
		quit  bool
		query string
	}{
		{"q quits when the search is empty", []string{"q"}, true, ""},
		{"ctrl+d quits", []string{"ctrl+d"}, true, ""},
		{"ctrl+c quits", []string{"ctrl+c"}, true, ""},
		{"ctrl+c quits while searching", []string{"we", "ctrl+c"}, true, "we"},
		{"ctrl+d quits while searching", []string{"we", "ctrl+d"}, true, "we"},
		{"q after / is typed", []string{"/", "q"}, false, "q"},
		{"q after a letter is typed", []string{"x", "q"}, false, "xq"},
		{"j k g r ? are typed while searching", []string{"/", "jkgr?"}, false, "jkgr?"},
		{"a letter starts the search", []string{"w"}, false, "w"},
		{"space alone does nothing", []string{"space"}, false, ""},
		{"esc then q quits", []string{"web", "esc", "q"}, true, ""},
		{"backspace on empty search leaves it, then q quits", []string{"/", "backspace", "q"}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, cmd := press(t, fixtureMenu(80, 24), tt.keys...)
			if quits(cmd) != tt.quit {
				t.Errorf("quit = %v, want %v", quits(cmd), tt.quit)
			}
			if tt.quit {
				if _, _, ok := m.Choice(); ok {
					t.Error("quitting chose an asset")
				}
			}
			if m.query != tt.query {
				t.Errorf("query = %q, want %q", m.query, tt.query)
			}
		})
	}
}

func TestMenuMoveAndPage(t *testing.T) {
	assets := bigFixture(100)
	m := NewMenu(MenuConfig{User: "bob", Assets: assets, Width: 80, Height: 24})
	rows := m.listRows() // 24 - 5
	if rows != 19 {
		t.Fatalf("rows = %d, want 19", rows)
	}
	tests := []struct {
		keys           []string
		cursor, offset int
	}{
		{[]string{"down"}, 1, 0},
		{[]string{"j", "j", "k"}, 1, 0},
		{[]string{"up"}, 0, 0},
		{[]string{"pgdown"}, 19, 19},
		{[]string{"pgdown", "pgdown"}, 38, 38},
		{[]string{"pgdown", "pgup"}, 0, 0},
		{[]string{"end"}, 99, 81},
		{[]string{"end", "pgdown"}, 99, 81},
		{[]string{"end", "home"}, 0, 0},
		{[]string{"end", "up"}, 98, 81},
		{[]string{"down", "down", "down", "down", "down", "down", "down", "down", "down", "down",
			"down", "down", "down", "down", "down", "down", "down", "down", "down", "down"}, 20, 2},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.keys, ","), func(t *testing.T) {
			got, _ := press(t, m, tt.keys...)
			if got.cursor != tt.cursor || got.offset != tt.offset {
				t.Errorf("cursor, offset = %d, %d; want %d, %d", got.cursor, got.offset, tt.cursor, tt.offset)
			}
			v := plain(got)
			if want := selectedRow(got); !want.MatchString(v) {
				t.Errorf("selected row %q not on screen:\n%s", want, v)
			}
		})
	}
}

func TestMenuTree(t *testing.T) {
	m, _ := press(t, fixtureMenu(80, 24), "g")
	if m.state != stateTree {
		t.Fatalf("state = %v, want tree", m.state)
	}
	v := plain(m)
	for _, s := range []string{"› ▾ / (12)", "▸ prod (7)", "ci (2)", "lab (1)", "staging (1)"} {
		if !strings.Contains(v, s) {
			t.Errorf("tree lacks %q:\n%s", s, v)
		}
	}
	// root, ci, lab, prod, staging: open prod.
	m, _ = press(t, m, "down", "down", "down", "right")
	v = plain(m)
	for _, s := range []string{"›   ▾ prod (7)", "        cache (1)", "db (2)", "infra (2)", "web (2)"} {
		if !strings.Contains(v, s) {
			t.Errorf("open tree lacks %q:\n%s", s, v)
		}
	}
	// Close it again with left, reopen with space.
	closed, _ := press(t, m, "left")
	if strings.Contains(plain(closed), "infra (2)") {
		t.Error("left did not close the node")
	}
	// Enter on /prod/db lists its assets.
	m, _ = press(t, m, "down", "down", "enter")
	if m.state != stateList || m.node != "/prod/db" {
		t.Fatalf("state %v node %q, want list /prod/db", m.state, m.node)
	}
	if got, want := names(m), []string{"db-primary", "db-replica"}; !reflect.DeepEqual(got, want) {
		t.Errorf("node filter = %v, want %v", got, want)
	}
	if v := plain(m); !strings.Contains(v, "in /prod/db 2/12") {
		t.Errorf("scope not shown:\n%s", v)
	}
	// Typing narrows within the node; esc clears the text, then the node.
	m, _ = press(t, m, "replica")
	if got := names(m); !reflect.DeepEqual(got, []string{"db-replica"}) {
		t.Errorf("text in node = %v", got)
	}
	m, _ = press(t, m, "esc")
	if len(names(m)) != 2 {
		t.Errorf("after one esc: %v", names(m))
	}
	m, _ = press(t, m, "esc")
	if len(names(m)) != 12 || m.node != "" {
		t.Errorf("after two esc: %v, node %q", names(m), m.node)
	}
	// g toggles back to the tree, where the cursor was.
	m, _ = press(t, m, "g")
	if m.state != stateTree || m.tree.cursorPath() != "/prod/db" {
		t.Errorf("tree again: state %v cursor %q", m.state, m.tree.cursorPath())
	}
	m, _ = press(t, m, "g")
	if m.state != stateList {
		t.Errorf("g in the tree: state %v", m.state)
	}
	// Enter on the root shows everything.
	m, _ = press(t, m, "g", "home", "enter")
	if m.node != "" || len(names(m)) != 12 {
		t.Errorf("root: node %q, %d assets", m.node, len(names(m)))
	}
	if _, cmd := press(t, m, "g", "q"); !quits(cmd) {
		t.Error("q in the tree did not quit")
	}
}

func TestMenuRefresh(t *testing.T) {
	calls := 0
	var fresh []store.Access
	for _, a := range fixture() {
		switch a.Asset.Name {
		case "backup", "bastion-lab", "win-ad-01":
			fresh = append(fresh, a)
		}
	}
	var fail error
	reload := func(ctx context.Context) ([]store.Access, error) {
		calls++
		if ctx == nil {
			return nil, errors.New("nil context")
		}
		return fresh, fail
	}
	m := NewMenu(MenuConfig{User: "alice", Assets: fixture(), Reload: reload, Width: 80, Height: 24})
	m, _ = press(t, m, "down") // bastion-lab
	m, cmd := press(t, m, "r")
	if cmd == nil {
		t.Fatal("r returned no command")
	}
	if calls != 0 {
		t.Fatal("Reload ran inside Update")
	}
	if !strings.Contains(plain(m), "Refreshing…") {
		t.Error("no refreshing notice")
	}
	next, _ := m.Update(cmd())
	m = next.(Menu)
	if calls != 1 {
		t.Fatalf("Reload called %d times", calls)
	}
	if got := names(m); !reflect.DeepEqual(got, []string{"backup", "bastion-lab", "win-ad-01"}) {
		t.Errorf("after refresh: %v", got)
	}
	if selectedName(m) != "bastion-lab" {
		t.Errorf("selection moved to %q", selectedName(m))
	}
	// Nine assets went away: the status line says her access ended.
	if v := plain(m); !strings.Contains(v, "✗ Your access to build-runner, cache-01, db-primary, 6 more has ended") || !strings.Contains(v, "· 3 assets") {
		t.Errorf("view:\n%s", v)
	}
	next, _ = m.Update(cmd())
	if v := plain(next); !strings.Contains(v, "Refreshed: 3 assets.") {
		t.Errorf("view:\n%s", v)
	}

	fail = errors.New("database is locked")
	m, cmd = press(t, m, "r")
	next, _ = m.Update(cmd())
	if v := plain(next); !strings.Contains(v, "✗ refresh failed: database is locked") {
		t.Errorf("error not shown:\n%s", v)
	}

	m = NewMenu(MenuConfig{Assets: fixture()})
	m, cmd = press(t, m, "r")
	if cmd != nil || !strings.Contains(plain(m), "Refresh is not available") {
		t.Error("r without Reload")
	}
}

func TestMenuHelp(t *testing.T) {
	m, _ := press(t, fixtureMenu(80, 24), "?")
	if m.state != stateHelp {
		t.Fatalf("state = %v", m.state)
	}
	v := plain(m)
	for _, s := range []string{"JMS help", "search for text that starts with p g h q r j k", "ctrl+c quits from anywhere"} {
		if !strings.Contains(v, s) {
			t.Errorf("help lacks %q:\n%s", s, v)
		}
	}
	for _, l := range strings.Split(v, "\n") {
		if ansi.StringWidth(l) > 80 {
			t.Errorf("help line wider than 80: %q", l)
		}
	}
	m, cmd := press(t, m, "q")
	if quits(cmd) || m.state != stateList {
		t.Errorf("a key on the help screen: state %v, quit %v", m.state, quits(cmd))
	}
	m, _ = press(t, m, "g", "?", "x")
	if m.state != stateTree {
		t.Errorf("help from the tree went back to %v", m.state)
	}
}

func TestMenuFlash(t *testing.T) {
	m := NewMenu(MenuConfig{User: "alice", Assets: fixture(), Flash: "web-01: host key changed, refusing to connect"})
	v := plain(m)
	lines := strings.Split(v, "\n")
	if got := lines[len(lines)-2]; !strings.Contains(got, "✗ web-01: host key changed, refusing to connect") {
		t.Errorf("status line = %q", got)
	}
	if !strings.Contains(m.View().Content, "\x1b[1;31m") && !strings.Contains(m.View().Content, "31m") {
		t.Error("the error is not red")
	}
	m, _ = press(t, m, "down")
	if strings.Contains(plain(m), "host key") {
		t.Error("flash stayed after a key")
	}
}

func TestMenuRestore(t *testing.T) {
	assets := bigFixture(300)
	m := NewMenu(MenuConfig{User: "alice", Assets: assets, Width: 80, Height: 24})
	m, _ = press(t, m, "/", "host-001", "pgdown", "down", "down")
	st := m.State()
	if st.Query != "host-001" || !st.Searching || !st.Moved || st.SelectedID == 0 {
		t.Fatalf("state = %+v", st)
	}
	again := NewMenu(MenuConfig{User: "alice", Assets: assets, Width: 80, Height: 24, Restore: &st})
	// The query comes back without the focus: q quits, it is not typed.
	m.search = false
	if !again.moved || again.search {
		t.Errorf("restored moved, search = %v, %v; want true, false", again.moved, again.search)
	}
	if a, b := plain(m), plain(again); a != b {
		t.Errorf("restored view differs:\n%s\n---\n%s", a, b)
	}
	if selectedName(again) != selectedName(m) {
		t.Errorf("selected %q, want %q", selectedName(again), selectedName(m))
	}

	// Tree state and node scope come back too.
	m, _ = press(t, fixtureMenu(80, 24), "g", "down", "down", "down", "right", "down")
	st = m.State()
	again = NewMenu(MenuConfig{User: "alice", Role: "user", Banner: fixtureBanner, Assets: fixture(), Width: 80, Height: 24, Restore: &st})
	if a, b := plain(m), plain(again); a != b {
		t.Errorf("restored tree differs:\n%s\n---\n%s", a, b)
	}

	// A selected asset that is gone: the cursor goes to the first row.
	st = MenuState{SelectedID: 999, Offset: 50}
	again = NewMenu(MenuConfig{Assets: fixture(), Restore: &st})
	if again.cursor != 0 || again.offset != 0 {
		t.Errorf("cursor, offset = %d, %d", again.cursor, again.offset)
	}
}

func TestMenuResize(t *testing.T) {
	m := NewMenu(MenuConfig{User: "alice", Banner: fixtureBanner, Assets: bigFixture(200), Width: 120, Height: 40})
	m, _ = press(t, m, "end")
	for _, size := range [][2]int{{80, 24}, {120, 40}, {60, 15}, {40, 10}, {24, 6}, {200, 60}} {
		next, _ := m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		m = next.(Menu)
		for _, st := range []string{"list", "help", "tree", "picker"} {
			mm := m
			switch st {
			case "help":
				mm, _ = press(t, m, "?")
			case "tree":
				mm, _ = press(t, m, "g")
			case "picker":
				mm = NewMenu(MenuConfig{Assets: fixture(), Width: size[0], Height: size[1]})
				mm, _ = press(t, mm, "web-02", "enter")
			}
			v := mm.View().Content
			lines := strings.Split(v, "\n")
			if len(lines) != size[1] {
				t.Errorf("%dx%d %s: %d lines", size[0], size[1], st, len(lines))
			}
			for _, l := range lines {
				if w := ansi.StringWidth(l); w > size[0] {
					t.Errorf("%dx%d %s: line of %d cells: %q", size[0], size[1], st, w, ansi.Strip(l))
				}
			}
		}
		if !selectedRow(m).MatchString(plain(m)) {
			t.Errorf("%dx%d: selected row not on screen:\n%s", size[0], size[1], plain(m))
		}
	}
}

func TestMenuPaste(t *testing.T) {
	next, _ := fixtureMenu(80, 24).Update(tea.PasteMsg{Content: "db\n"})
	m := next.(Menu)
	if m.query != "db " || len(names(m)) != 2 {
		t.Errorf("paste: query %q, %v", m.query, names(m))
	}
}

func TestMenuEmpty(t *testing.T) {
	m := NewMenu(MenuConfig{User: "carol"})
	if v := plain(m); !strings.Contains(v, "You have no assets yet") || !strings.Contains(v, "carol · 0 assets") {
		t.Errorf("view:\n%s", v)
	}
	m, cmd := press(t, m, "enter")
	if cmd != nil || !strings.Contains(plain(m), "You have no assets.") {
		t.Error("enter with no assets")
	}
}

func TestLayoutColumns(t *testing.T) {
	mw := maxWidths{id: 2, name: 12, address: 28, platform: 7, node: 11}
	for _, w := range []int{20, 30, 40, 60, 80, 100, 120, 200} {
		c := mw.layout(w)
		row := c.row("› ", "12", "", "name", "address", "platform", "node", "comment")
		if got := width(row); got != w && w >= 20 {
			t.Errorf("width %d: row is %d cells (%+v)", w, got, c)
		}
	}
	if c := mw.layout(80); c.comment < 16 || c.platform == 0 || c.node == 0 {
		t.Errorf("80 columns: %+v", c)
	}
	if c := mw.layout(40); c.platform != 0 || c.node != 0 || c.comment != 0 {
		t.Errorf("40 columns keep too much: %+v", c)
	}
}

func ExampleMenu_Choice() {
	m := NewMenu(MenuConfig{User: "alice", Assets: fixture()})
	for _, k := range "cache" {
		next, _ := m.Update(tea.KeyPressMsg{Code: k, Text: string(k)})
		m = next.(Menu)
	}
	next, _ := m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	a, acc, ok := next.(Menu).Choice()
	fmt.Println(a.Asset.Name, acc.Username, ok)
	// Output: cache-01 redis true
}

func TestMenuAccountsWithoutConnect(t *testing.T) {
	assets := fixture()
	for i := range assets {
		if assets[i].Asset.Name == "web-02" {
			assets[i].Accounts[1].Actions = []string{store.ActionUpload} // root: sftp only
		}
	}
	m := NewMenu(MenuConfig{Assets: assets})
	m, cmd := press(t, m, "web-02", "enter")
	if !quits(cmd) {
		t.Fatal("one connectable account left: enter should connect straight away")
	}
	if _, acc, _ := m.Choice(); acc.Username != "deploy" {
		t.Errorf("account = %s, want deploy", acc.Username)
	}
}
