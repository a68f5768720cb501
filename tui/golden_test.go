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

// TestGoldenScreens keeps the other screens of the menu at 80×24 and
// 120×40 for review, plain and in colour (the .ansi files, as a colour
// terminal gets them): the node tree, the account picker, the help
// screen, a search with a flash error, and the auditor menu.
func TestGoldenScreens(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		w, h := size[0], size[1]
		flash := NewMenu(MenuConfig{User: "alice", Role: "user", Banner: fixtureBanner, Assets: fixture(), Width: w, Height: h,
			Flash:   "web-01: host key changed; ask an administrator to run jmsctl asset trust web-01",
			Restore: &MenuState{Query: "web", Searching: true, SelectedID: 1}})
		tree, _ := press(t, fixtureMenu(w, h), "g", "down", "down", "down", "right")
		picker, _ := press(t, fixtureMenu(w, h), "web-02", "enter")
		if picker.state != statePicker {
			t.Fatalf("web-02 and enter: state %v, want the picker", picker.state)
		}
		helpScreen, _ := press(t, fixtureMenu(w, h), "?")
		suffix := fmt.Sprintf("-%dx%d", w, h)
		for name, m := range map[string]Menu{"filter": flash, "tree": tree, "picker": picker, "help": helpScreen} {
			golden(t, "menu-"+name+suffix+".golden", plain(m)+"\n")
			golden(t, "menu-"+name+suffix+".ansi", m.View().Content+"\n")
		}
	}
	golden(t, "auditor-80x24.golden", plain(NewAuditorMenu(auditorFixture()))+"\n")
	auditorHelp, _ := press(t, NewAuditorMenu(auditorFixture()), "?")
	golden(t, "auditor-help-80x24.golden", plain(auditorHelp)+"\n")
}
