package tui

import (
	"fmt"
	"testing"
)

func TestGoldenMenu(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		w, h := size[0], size[1]
		t.Run(fmt.Sprintf("%dx%d", w, h), func(t *testing.T) {
			m := fixtureMenu(w, h)
			golden(t, fmt.Sprintf("menu-%dx%d.golden", w, h), plain(m)+"\n")
			golden(t, fmt.Sprintf("menu-%dx%d.ansi", w, h), m.View().Content+"\n")
		})
	}
}
