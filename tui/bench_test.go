package tui

import (
	"testing"

	tea "charm.land/bubbletea/v2"
)

// BenchmarkMenuFirstPaint10k measures what a person waits for before the
// menu shows with 10,000 assets: NewMenu and the first View.
func BenchmarkMenuFirstPaint10k(b *testing.B) {
	assets := bigFixture(10000)
	b.ReportAllocs()
	for b.Loop() {
		m := NewMenu(MenuConfig{User: "alice", Role: "user", Banner: fixtureBanner, Assets: assets, Width: 120, Height: 40})
		_ = m.View()
	}
}

// BenchmarkMenuFilterKeystroke10k measures one keystroke of filtering
// over 10,000 assets: Update and View. It alternates typing and erasing a
// character so that every iteration filters anew, half of them over all
// assets (erasing) and half narrowing.
func BenchmarkMenuFilterKeystroke10k(b *testing.B) {
	m := NewMenu(MenuConfig{User: "alice", Assets: bigFixture(10000), Width: 120, Height: 40})
	next, _ := m.Update(tea.KeyPressMsg{Code: '/', Text: "/"}) // h alone is KoKo's help
	next, _ = next.Update(tea.KeyPressMsg{Code: 'h', Text: "h"})
	m = next.(Menu)
	keys := []tea.Msg{tea.KeyPressMsg{Code: '7', Text: "7"}, tea.KeyPressMsg{Code: tea.KeyBackspace}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		next, _ := m.Update(keys[i%2])
		m = next.(Menu)
		_ = m.View()
		i++
	}
}

// BenchmarkMenuScroll10k measures moving the cursor over 10,000 assets.
func BenchmarkMenuScroll10k(b *testing.B) {
	m := NewMenu(MenuConfig{User: "alice", Assets: bigFixture(10000), Width: 120, Height: 40})
	down := tea.KeyPressMsg{Code: tea.KeyDown}
	b.ReportAllocs()
	for b.Loop() {
		next, _ := m.Update(down)
		m = next.(Menu)
		_ = m.View()
	}
}
