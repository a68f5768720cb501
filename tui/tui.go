// Package tui is the terminal face of jms: the asset menu a person sees
// when she logs in over SSH (with its account picker and node tree), the
// auditor menu, and the replay player of jmsctl replay.
//
// Each screen is a bubbletea v2 model. A model never does I/O in Update or
// View: refreshing the asset list, for instance, runs the caller's Reload
// function inside a tea.Cmd. The menu does not dial anything either: the
// program ends with the person's choice in its final model (Menu.Choice),
// the SSH handler dials and proxies, then runs a new menu with the state of
// the old one (Menu.State, MenuConfig.Restore) so that she comes back
// where she was.
//
// Views carry full colours; the program's renderer downsamples them to the
// terminal's colour profile, which is how NO_COLOR and TERM=dumb end up
// without colour escapes. Run the programs with tea.WithEnvironment set to
// the SSH session's environment (and its TERM) so that this works remotely.
package tui

import (
	"strings"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/jms-bastion/jms/printable"
)

// Default terminal size, used until the first tea.WindowSizeMsg.
const (
	defaultWidth  = 80
	defaultHeight = 24
)

// state is the screen the menu shows.
type state int

const (
	stateList     state = iota // the asset list (with its search box)
	stateTree                  // the node tree
	statePicker                // the account picker
	stateHelp                  // the help screen
	statePassword              // her password change form
	stateKeys                  // her SSH keys
	stateMFA                   // her MFA: status or enrolment
)

func (s state) String() string {
	switch s {
	case stateList:
		return "list"
	case stateTree:
		return "tree"
	case statePicker:
		return "picker"
	case stateHelp:
		return "help"
	case statePassword:
		return "password"
	case stateKeys:
		return "keys"
	case stateMFA:
		return "mfa"
	}
	return "unknown"
}

// NoticeMsg shows a line in the status line of the asset menu or the
// auditor menu, such as the bastion's warning that the session is about
// to end; Err shows it as an error.
type NoticeMsg struct {
	Text string
	Err  bool
}

// width returns the display width of s, fast for ASCII.
func width(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf || s[i] < 0x20 {
			return ansi.StringWidth(s)
		}
	}
	return len(s)
}

// fit truncates s to w cells (with an ellipsis) or pads it with spaces to
// exactly w cells. s is plain text, often from people (asset names and
// comments, login names): its control characters are written out
// (printable.Escape), so they can neither style nor move anything.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	s = printable.Escape(s)
	sw := width(s)
	if sw > w {
		s = ansi.Truncate(s, w, "…")
		sw = width(s)
	}
	if sw < w {
		return s + strings.Repeat(" ", w-sw)
	}
	return s
}

// clip cuts a rendered line (which may hold escapes) to w cells.
func clip(s string, w int) string {
	if ansi.StringWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "")
}

// spread puts left and right on one line of w cells, right-aligned; the
// right part is dropped when there is no room for both.
func spread(left, right string, w int) string {
	lw, rw := ansi.StringWidth(left), ansi.StringWidth(right)
	if right == "" || lw+rw+1 > w {
		return clip(left, w)
	}
	return left + strings.Repeat(" ", w-lw-rw) + right
}

// screen joins lines into exactly h lines of at most w cells.
func screen(lines []string, w, h int) string {
	if len(lines) > h {
		lines = lines[:h]
	}
	var b strings.Builder
	for i := 0; i < h; i++ {
		if i > 0 {
			b.WriteByte('\n')
		}
		if i < len(lines) {
			b.WriteString(clip(lines[i], w))
		}
	}
	return b.String()
}

// wrapText word-wraps plain text to w cells.
func wrapText(s string, w int) []string {
	if w <= 0 || s == "" {
		return nil
	}
	var out []string
	for _, para := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		out = append(out, strings.Split(ansi.Wrap(para, w, ""), "\n")...)
	}
	return out
}

// isText reports whether a key press types text (a printable character
// without Ctrl or Alt).
func isText(msg tea.KeyPressMsg) bool {
	return msg.Text != "" && msg.Mod&(tea.ModCtrl|tea.ModAlt|tea.ModSuper) == 0
}

// sanitize keeps the printable characters of pasted or typed text.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			if r == '\t' || r == '\n' || r == '\r' {
				return ' '
			}
			return -1
		}
		return r
	}, s)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
