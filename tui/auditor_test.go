package tui

import (
	"context"
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
