package recorder

import (
	"io"
	"strings"

	"github.com/charmbracelet/x/vt"
)

// Default terminal size for recordings whose header has none.
const (
	DefaultWidth  = 80
	DefaultHeight = 24
)

// Screen is a terminal emulator fed with a recording's events: what the
// user saw at some point of the session.
type Screen struct {
	em *vt.Emulator
}

// NewScreen returns an empty screen of the given size (the defaults when
// zero).
func NewScreen(width, height int) *Screen {
	if width <= 0 {
		width = DefaultWidth
	}
	if height <= 0 {
		height = DefaultHeight
	}
	em := vt.NewEmulator(width, height)
	// The emulator answers terminal queries in the output (device
	// attributes, cursor position…) by writing to its input pipe, which
	// blocks while nobody reads it. Nobody types into a replay: close the
	// pipe so those answers are dropped instead.
	if c, ok := em.InputPipe().(io.Closer); ok {
		c.Close()
	}
	return &Screen{em: em}
}

// Apply feeds one event to the screen: output is interpreted, a resize
// resizes; other events are ignored.
func (s *Screen) Apply(ev Event) {
	switch ev.Type {
	case TypeOutput:
		s.em.WriteString(ev.Data)
	case TypeResize:
		if w, h, err := ParseResize(ev.Data); err == nil {
			s.em.Resize(w, h)
		}
	}
}

// Write feeds raw output to the screen.
func (s *Screen) Write(p []byte) (int, error) { return s.em.Write(p) }

// Size returns the current size of the screen.
func (s *Screen) Size() (width, height int) { return s.em.Width(), s.em.Height() }

// Text returns the screen as plain text: trailing spaces and trailing
// empty lines removed, each line ended by "\n".
func (s *Screen) Text() string {
	t := strings.TrimRight(s.em.String(), "\n")
	if t == "" {
		return ""
	}
	return t + "\n"
}

// Render returns the screen with its colours and attributes as ANSI escape
// sequences, lines separated by "\n".
func (s *Screen) Render() string { return s.em.Render() }

// ScreenText plays all the output of r through a terminal emulator and
// returns the final screen as plain text. A zero width or height means the
// header's size.
func ScreenText(r *Reader, width, height int) (string, error) {
	if width <= 0 {
		width = r.Header.Width
	}
	if height <= 0 {
		height = r.Header.Height
	}
	s := NewScreen(width, height)
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return s.Text(), nil
		}
		if err != nil {
			return "", err
		}
		s.Apply(ev)
	}
}
