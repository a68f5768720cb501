package tui

import (
	"reflect"
	"strings"
	"testing"

	"github.com/jms-bastion/jms/store"
)

// orgFixture is the golden fixture with its assets split between the
// organizations default and team-b, and a web-01 in each.
func orgFixture() []store.Access {
	list := fixture()
	for i := range list {
		list[i].Org, list[i].OrgID = "default", 1
		if strings.HasPrefix(list[i].Asset.Name, "db-") || list[i].Asset.Name == "jenkins" {
			list[i].Org, list[i].OrgID = "team-b", 2
		}
	}
	var twin store.Access
	for _, a := range list {
		if a.Asset.Name == "web-01" {
			twin = a
		}
	}
	twin.Asset.ID, twin.Org, twin.OrgID = 99, "team-b", 2
	return append(list, twin)
}

func TestMenuOrgs(t *testing.T) {
	m := NewMenu(MenuConfig{User: "alice", Assets: orgFixture(), Width: 80, Height: 24})
	v := plain(m)
	for _, s := range []string{"ID  ORG      NAME", "default  backup", "team-b   db-primary", "13/13", "enter connect · o next org · / search · p all · g tree · ? help · q quit"} {
		if !strings.Contains(v, s) {
			t.Errorf("view lacks %q:\n%s", s, v)
		}
	}
	m, _ = press(t, m, "o")
	if got := names(m); len(got) != 9 || !strings.Contains(plain(m), "org default 9/13") || !strings.Contains(plain(m), "org default 9/13") {
		t.Errorf("o once: %v\n%s", got, plain(m))
	}
	m, _ = press(t, m, "o")
	want := []string{"db-primary", "db-replica", "jenkins", "web-01"}
	if got := names(m); !reflect.DeepEqual(got, want) || !strings.Contains(plain(m), "org team-b 4/13") {
		t.Errorf("o twice: %v, want %v\n%s", got, want, plain(m))
	}
	if st := m.State(); st.Org != "team-b" {
		t.Errorf("state org %q", st.Org)
	}
	// The filter comes back after a session.
	back := NewMenu(MenuConfig{User: "alice", Assets: orgFixture(), Restore: &MenuState{Org: "team-b"}})
	if got := names(back); !reflect.DeepEqual(got, want) {
		t.Errorf("restored: %v", got)
	}
	m, _ = press(t, m, "o")
	if got := names(m); len(got) != 13 {
		t.Errorf("o thrice: %d assets, want all 13", len(got))
	}
	// Search matches org names too.
	m, _ = press(t, m, "/", "t", "e", "a", "m", "-", "b")
	if got := names(m); len(got) != 4 {
		t.Errorf("search team-b: %v", got)
	}
	m, _ = press(t, m, "esc", "?")
	if !strings.Contains(plain(m), "next organization") {
		t.Errorf("help lacks o:\n%s", plain(m))
	}
}

// TestMenuOneOrg: a person whose assets are all in one organization sees
// the menu as before organizations: no ORG column, o searches.
func TestMenuOneOrg(t *testing.T) {
	list := orgFixture()[:12]
	for i := range list {
		list[i].Org, list[i].OrgID = "team-b", 2
	}
	m := NewMenu(MenuConfig{User: "alice", Assets: list, Width: 80, Height: 24})
	if v := plain(m); strings.Contains(v, "ORG") || strings.Contains(v, "next org") || !strings.Contains(v, "ID  NAME") {
		t.Errorf("one org shows organizations:\n%s", v)
	}
	m, _ = press(t, m, "o")
	if m.query != "o" || !m.search {
		t.Errorf("o with one org: query %q, search %v; want a search for o", m.query, m.search)
	}
}

// TestMenuOrgTree: narrowed to one organization, the node tree counts that
// organization's assets only; back to all, it counts every one again.
func TestMenuOrgTree(t *testing.T) {
	m := NewMenu(MenuConfig{User: "alice", Assets: orgFixture(), Width: 80, Height: 30})
	m, _ = press(t, m, "g")
	if v := plain(m); !strings.Contains(v, "/ (13)") || !strings.Contains(v, "staging (1)") {
		t.Fatalf("tree of all organizations:\n%s", v)
	}
	m, _ = press(t, m, "esc", "o", "o", "g") // team-b
	v := plain(m)
	for _, s := range []string{"/ (4)", "prod (3)", "ci (1)"} {
		if !strings.Contains(v, s) {
			t.Errorf("team-b's tree lacks %q:\n%s", s, v)
		}
	}
	if strings.Contains(v, "staging") {
		t.Errorf("team-b's tree shows default's nodes:\n%s", v)
	}
	m, _ = press(t, m, "esc", "o", "g") // all again
	if v := plain(m); !strings.Contains(v, "/ (13)") {
		t.Errorf("tree of all organizations again:\n%s", v)
	}
}
