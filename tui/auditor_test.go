package tui

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

func auditorFixture() AuditorConfig {
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	return AuditorConfig{
		User: "audrey",
		Live: []SessionInfo{
			{ID: "s-live-1", User: "alice", Asset: "web-01", Account: "deploy", Source: "203.0.113.5", StartedAt: t0, Status: "active"},
			{ID: "s-live-2", User: "bob", Asset: "db-primary", Account: "postgres", Source: "203.0.113.9", StartedAt: t0.Add(time.Minute), Status: "active"},
		},
		Recent: []SessionInfo{
			{ID: "s-old-1", User: "alice", Asset: "cache-01", Account: "redis", StartedAt: t0.Add(-time.Hour), EndedAt: t0.Add(-50 * time.Minute), Status: "closed"},
		},
		Now: func() time.Time { return t0.Add(90 * time.Second) },
	}
}

func TestAuditorMenu(t *testing.T) {
	m := NewAuditorMenu(auditorFixture())
	v := plain(m)
	for _, s := range []string{"audrey (auditor) · 2 live · 1 recent", "Live sessions (2)", "Recent sessions (1)",
		"› s-live-1", "web-01", "1m30s", "10m0s"} {
		if !strings.Contains(v, s) {
			t.Errorf("view lacks %q:\n%s", s, v)
		}
	}
	tests := []struct {
		name   string
		keys   []string
		id     string
		action AuditorAction
	}{
		{"enter on a live session watches", []string{"enter"}, "s-live-1", WatchSession},
		{"down to the second", []string{"down", "enter"}, "s-live-2", WatchSession},
		{"a recent session replays", []string{"end", "enter"}, "s-old-1", ReplaySession},
		{"filter then enter", []string{"redis", "enter"}, "s-old-1", ReplaySession},
		{"j k move", []string{"j", "j", "k", "enter"}, "s-live-2", WatchSession},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, cmd := press(t, NewAuditorMenu(auditorFixture()), tt.keys...)
			if !quits(cmd) {
				t.Fatal("enter did not end the program")
			}
			s, action, ok := got.Choice()
			if !ok || s.ID != tt.id || action != tt.action {
				t.Errorf("Choice = %s %v %v, want %s %v", s.ID, action, ok, tt.id, tt.action)
			}
		})
	}
	for _, k := range []string{"q", "ctrl+c", "ctrl+d"} {
		got, cmd := press(t, NewAuditorMenu(auditorFixture()), k)
		if _, _, ok := got.Choice(); !quits(cmd) || ok {
			t.Errorf("%s: quit %v chose %v", k, quits(cmd), ok)
		}
	}
	// q is typed while searching.
	got, cmd := press(t, NewAuditorMenu(auditorFixture()), "/", "q")
	if quits(cmd) || got.query != "q" {
		t.Errorf("/ q: quit %v query %q", quits(cmd), got.query)
	}
	// No match: enter says so.
	got, cmd = press(t, NewAuditorMenu(auditorFixture()), "zzz", "enter")
	if cmd != nil || !strings.Contains(plain(got), "No session to open.") || !strings.Contains(plain(got), "none") {
		t.Errorf("no match:\n%s", plain(got))
	}
}

func TestAuditorReloadAndResize(t *testing.T) {
	cfg := auditorFixture()
	cfg.Reload = func(ctx context.Context) ([]SessionInfo, []SessionInfo, error) {
		return nil, cfg.Recent, nil
	}
	m, cmd := press(t, NewAuditorMenu(cfg), "r")
	if cmd == nil {
		t.Fatal("r returned no command")
	}
	next, _ := m.Update(cmd())
	if v := plain(next); !strings.Contains(v, "Refreshed: 0 live, 1 recent.") || !strings.Contains(v, "Live sessions (0)") {
		t.Errorf("after reload:\n%s", v)
	}
	for _, size := range [][2]int{{80, 24}, {40, 8}, {160, 50}} {
		next, _ = next.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		lines := strings.Split(next.View().Content, "\n")
		if len(lines) != size[1] {
			t.Errorf("%v: %d lines", size, len(lines))
		}
		for _, l := range lines {
			if ansi.StringWidth(l) > size[0] {
				t.Errorf("%v: line too wide: %q", size, ansi.Strip(l))
			}
		}
	}
}

// TestViewsEscapeControls puts escape sequences where people can put
// them (a login name, an asset's comment, node and name, a session's
// account) and checks that the auditor menu, the asset menu, its tree and
// the account picker show them written out, never raw.
func TestViewsEscapeControls(t *testing.T) {
	const evil = "x\x1b]0;owned\x07\x1b[2J\u009b6n"
	const shown = `x\x1b]0;owned\x07\x1b[2J\u009b6n`
	check := func(t *testing.T, view string) {
		t.Helper()
		for _, raw := range []string{"\x07", "\x1b]", "\x1b[2J", "\u009b"} {
			if strings.Contains(view, raw) {
				t.Errorf("the view holds a raw %q:\n%q", raw, view)
			}
		}
		if !strings.Contains(ansi.Strip(view), shown) {
			t.Errorf("the view does not show %q written out:\n%s", shown, ansi.Strip(view))
		}
	}

	cfg := auditorFixture()
	cfg.Live[0].User, cfg.Live[0].Account = evil, evil
	cfg.Width = 200
	t.Run("auditor menu", func(t *testing.T) { check(t, NewAuditorMenu(cfg).View().Content) })

	assets := fixture()
	assets[0].Asset.Name = "a" + evil
	assets[0].Asset.Comment = evil
	assets[0].Asset.Node = "/" + evil
	menu := NewMenu(MenuConfig{User: "alice", Assets: assets, Width: 200, Height: 40})
	t.Run("asset menu", func(t *testing.T) { check(t, menu.View().Content) })
	t.Run("node tree", func(t *testing.T) {
		m, _ := press(t, menu, "g")
		check(t, m.View().Content)
	})
	t.Run("account picker", func(t *testing.T) {
		assets := fixture()
		assets[0].Asset.Name = "a" + evil
		assets[0].Accounts = append(assets[0].Accounts, account(assets[0].Asset.Name, "second", false))
		// Enter never guesses: move to the row first.
		m, _ := press(t, NewMenu(MenuConfig{User: "alice", Assets: assets, Width: 200, Height: 40}), "down", "up", "enter")
		check(t, m.View().Content)
	})
}

// TestAuditorRefreshesOnItsOwn: the lists refresh every RefreshEvery
// without a key (live sessions come and go while the auditor looks),
// quietly, the cursor staying on its session.
func TestAuditorRefreshesOnItsOwn(t *testing.T) {
	cfg := auditorFixture()
	if NewAuditorMenu(cfg).Init() != nil {
		t.Error("no Reload: Init starts a refresh clock")
	}
	t0 := cfg.Live[0].StartedAt
	newcomer := SessionInfo{ID: "s-live-0", User: "carol", Asset: "web-02", Account: "root", StartedAt: t0.Add(-time.Minute), Status: "active"}
	ended := cfg.Live[0]
	ended.Status, ended.EndedAt = "killed", t0.Add(80*time.Second)
	calls := 0
	cfg.Reload = func(ctx context.Context) ([]SessionInfo, []SessionInfo, error) {
		calls++
		return []SessionInfo{newcomer, cfg.Live[1]}, []SessionInfo{ended, cfg.Recent[0]}, nil
	}
	m := NewAuditorMenu(cfg)
	if m.Init() == nil {
		t.Fatal("Init does not start the refresh clock")
	}
	m, _ = press(t, m, "down") // on s-live-2
	next, cmd := m.Update(auditorTickMsg{})
	if cmd == nil {
		t.Fatal("a tick starts no refresh")
	}
	// The batch holds the reload and the next tick: run the reload.
	var reloaded tea.Msg
	for _, c := range cmd().(tea.BatchMsg) {
		if c == nil {
			continue
		}
		if msg, ok := c().(auditorReloadMsg); ok {
			reloaded = msg
		}
	}
	if reloaded == nil || calls != 1 {
		t.Fatalf("the tick did not reload (%d calls)", calls)
	}
	if v := plain(next); strings.Contains(v, "Refreshing") {
		t.Errorf("a refresh on its own shows itself every 2 s:\n%s", v)
	}
	// A second tick while loading does not pile up reloads.
	if _, cmd := next.Update(auditorTickMsg{}); cmd == nil || calls != 1 {
		t.Errorf("tick while loading: cmd %v, %d calls", cmd, calls)
	}
	next, _ = next.Update(reloaded)
	v := plain(next)
	for _, s := range []string{"2 live · 2 recent", "s-live-0", "killed"} {
		if !strings.Contains(v, s) {
			t.Errorf("after the refresh on its own, no %q:\n%s", s, v)
		}
	}
	if strings.Contains(v, "Refreshed") || strings.Contains(v, "Refreshing") {
		t.Errorf("a refresh on its own shows a message:\n%s", v)
	}
	if s, _, _ := next.(AuditorMenu).Choice(); s.ID != "" {
		t.Fatal("chosen before enter")
	}
	got, _ := press(t, next.(AuditorMenu), "enter")
	if s, _, _ := got.Choice(); s.ID != "s-live-2" {
		t.Errorf("the cursor moved off its session: %s", s.ID)
	}
	// r during a refresh on its own says when that refresh is done.
	next, _ = next.Update(auditorTickMsg{})
	next, _ = press(t, next.(AuditorMenu), "r")
	next, _ = next.Update(reloaded)
	if v := plain(next); !strings.Contains(v, "Refreshed: 2 live, 2 recent.") {
		t.Errorf("r during a refresh on its own:\n%s", v)
	}
	cfg.RefreshEvery = -1
	if NewAuditorMenu(cfg).Init() != nil {
		t.Error("RefreshEvery < 0 still refreshes on its own")
	}
}

func TestAuditorStatusColumn(t *testing.T) {
	cfg := auditorFixture()
	t0 := cfg.Recent[0].StartedAt
	for i, st := range []string{"killed", "interrupted", "failed"} {
		cfg.Recent = append(cfg.Recent, SessionInfo{ID: "s-" + st, User: "u", Asset: "a", Account: "x",
			StartedAt: t0.Add(time.Duration(i) * time.Minute), EndedAt: t0.Add(time.Hour), Status: st})
	}
	v := plain(NewAuditorMenu(cfg))
	if !regexp.MustCompile(`SESSION +USER +ASSET +ACCOUNT +STARTED +LENGTH +STATUS`).MatchString(v) {
		t.Errorf("no STATUS column:\n%s", v)
	}
	for _, re := range []string{`s-live-1 .* active\s*\n`, `s-old-1 .* closed\s*\n`, `s-killed .* killed\s*\n`,
		`s-interr .* interrupted\s*\n`, `s-failed .* failed\s*\n`} {
		if !regexp.MustCompile(re).MatchString(v) {
			t.Errorf("no row %s:\n%s", re, v)
		}
	}
	// The status is searchable.
	m, _ := press(t, NewAuditorMenu(cfg), "killed", "enter")
	if s, _, _ := m.Choice(); s.ID != "s-killed" {
		t.Errorf("search killed: %s", s.ID)
	}
}

// TestAuditorHelp: ? opens the help as in the asset menu; any key goes
// back; once the search has the focus, ? is search text.
func TestAuditorHelp(t *testing.T) {
	for _, k := range []string{"?", "h", "f1"} {
		m, _ := press(t, NewAuditorMenu(auditorFixture()), k)
		v := plain(m)
		if !strings.Contains(v, "JMS help") || !strings.Contains(v, "refresh on their own every 2 s") ||
			!strings.Contains(v, "pauses over 2 s are cut") {
			t.Errorf("%s: no help:\n%s", k, v)
		}
		m, cmd := press(t, m, "q")
		if quits(cmd) || !strings.Contains(plain(m), "Live sessions") {
			t.Errorf("%s then q: did not go back to the list", k)
		}
	}
	m, _ := press(t, NewAuditorMenu(auditorFixture()), "/", "?")
	if v := plain(m); strings.Contains(v, "JMS help") || !strings.Contains(v, "Search: ?") {
		t.Errorf("/ then ?: %s", v)
	}
	if v := plain(NewAuditorMenu(auditorFixture())); !strings.Contains(v, "? help") {
		t.Errorf("the footer does not offer ?:\n%s", v)
	}
}
