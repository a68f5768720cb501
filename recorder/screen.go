package recorder

import (
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"

	"github.com/jms-bastion/jms/printable"
)

// Default terminal size for recordings whose header has none.
const (
	DefaultWidth  = 80
	DefaultHeight = 24
)

// The largest screen a Screen emulates. A recording's size is the one the
// person's SSH client asked for, and an emulator's cells cost some 200
// bytes each: a session recorded at 10000×10000 would otherwise make a
// watch or a replay (in the bastion, for the auditor menu) allocate tens
// of gigabytes. Output beyond these bounds is cut.
const (
	MaxWidth  = 500
	MaxHeight = 200
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
	return &Screen{em: newEmulator(min(width, MaxWidth), min(height, MaxHeight))}
}

func newEmulator(width, height int) *vt.Emulator {
	em := vt.NewEmulator(width, height)
	// The emulator answers terminal queries in the output (device
	// attributes, cursor position…) by writing to its input pipe, which
	// blocks while nobody reads it. Nobody types into a replay: close the
	// pipe so those answers are dropped instead.
	if c, ok := em.InputPipe().(io.Closer); ok {
		c.Close()
	}
	// Scroll margins (DECSTBM) whose bottom lies below the screen are
	// ignored, as a VT100 ignores bad parameters: the emulator would take
	// them and index past its buffer at the next scroll, a panic that
	// anyone could print on an asset (printf '\e[1;200r\e[M'). Handlers
	// registered last run first; returning true ends the sequence here.
	em.RegisterCsiHandler('r', func(params ansi.Params) bool {
		bottom, _, _ := params.Param(1, 0)
		return bottom > em.Height()
	})
	return em
}

// Apply feeds one event to the screen: output is interpreted, a resize
// resizes; other events are ignored.
func (s *Screen) Apply(ev Event) {
	switch ev.Type {
	case TypeOutput:
		s.write(ev.Data)
	case TypeResize:
		if w, h, err := ParseResize(ev.Data); err == nil {
			s.guard(func() { s.em.Resize(min(w, MaxWidth), min(h, MaxHeight)) })
		}
	}
}

// Write feeds raw output to the screen.
func (s *Screen) Write(p []byte) (int, error) {
	s.write(string(p))
	return len(p), nil
}

func (s *Screen) write(data string) {
	s.guard(func() { s.em.WriteString(data) })
}

// guard runs f on the emulator. Should the emulator panic on what a
// session wrote (it is a library fed with anyone's output), the screen
// starts again blank at its size instead of taking the replay, the watch
// or the bastion down with it.
func (s *Screen) guard(f func()) {
	defer func() {
		if recover() != nil {
			s.em = newEmulator(s.em.Width(), s.em.Height())
		}
	}()
	f()
}

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

// Frame returns the screen as one frame for a viewer's terminal of width
// by height cells (the screen's size when zero): the title, if any, in
// reverse video on the first line, then the screen's lines, the cursor
// where the screen has it. A frame holds only cursor moves, line and
// screen erases, the cursor's visibility and colours (SGR): nothing of
// what the session wrote that a terminal would act on or answer.
func (s *Screen) Frame(title string, width, height int) string {
	if width <= 0 {
		width = s.em.Width()
	}
	if height <= 0 {
		height = s.em.Height() + 1
	}
	var b strings.Builder
	b.WriteString("\x1b[?25l\x1b[H")
	top := 0
	if title != "" {
		b.WriteString("\x1b[0;7m")
		writeLine(&b, ansi.Truncate(printable.Escape(title), width, "…"), width)
		top = 1
	}
	for i, l := range strings.Split(s.em.Render(), "\n") {
		if top+i >= height {
			break
		}
		if top+i > 0 {
			b.WriteString("\r\n")
		}
		writeLine(&b, ansi.Truncate(styledText(l), width, ""), width)
	}
	b.WriteString("\x1b[J")
	if pos := s.em.CursorPosition(); top+pos.Y < height && pos.X < width {
		fmt.Fprintf(&b, "\x1b[%d;%dH", top+pos.Y+1, pos.X+1)
		if !s.em.CursorHidden() {
			b.WriteString("\x1b[?25h")
		}
	}
	return b.String()
}

// writeLine writes l and erases the rest of the line, unless l fills it:
// a terminal erases from the last column then, l's last cell with it.
func writeLine(b *strings.Builder, l string, width int) {
	b.WriteString(l)
	b.WriteString("\x1b[0m")
	if ansi.StringWidth(l) < width {
		b.WriteString("\x1b[K")
	}
}

// styledText keeps of a rendered line its text and its SGR sequences
// (colours and attributes). Any other sequence is dropped and any control
// character written out: deny by default, whatever the emulator lets
// through.
func styledText(l string) string {
	var b strings.Builder
	var state byte
	for len(l) > 0 {
		seq, _, n, next := ansi.DecodeSequence(l, state, nil)
		if n <= 0 {
			n, seq = 1, l[:1]
		}
		state, l = next, l[n:]
		switch {
		case isSGR(seq):
			b.WriteString(seq)
		case seq[0] == ansi.ESC || seq[0] < 0x20 || seq[0] == ansi.DEL:
			// a sequence or a C0 control: not for the viewer's terminal
		default:
			b.WriteString(printable.Escape(seq))
		}
	}
	return b.String()
}

// isSGR reports whether seq is a Select Graphic Rendition sequence:
// ESC [ digits, ';' and ':' m.
func isSGR(seq string) bool {
	p, ok := strings.CutPrefix(seq, "\x1b[")
	if !ok || !strings.HasSuffix(p, "m") {
		return false
	}
	return strings.Trim(p[:len(p)-1], "0123456789;:") == ""
}
