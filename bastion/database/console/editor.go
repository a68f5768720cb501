package console

import (
	"io"

	"golang.org/x/term"
)

// NewLineEditor is a LineReader over a terminal in raw mode (a PTY): line
// editing, arrows and history as a shell's, from golang.org/x/term. Output
// written to the returned editor has its line breaks made \r\n; the console
// should write through it so that prompt and output do not tangle.
func NewLineEditor(rw io.ReadWriter, width, height int) *LineEditor {
	t := term.NewTerminal(rw, "")
	if width > 0 && height > 0 {
		_ = t.SetSize(width, height)
	}
	return &LineEditor{t: t}
}

// LineEditor is a LineReader and io.Writer over a raw terminal.
type LineEditor struct {
	t *term.Terminal
}

// ReadLine reads a line with editing and history.
func (e *LineEditor) ReadLine() (string, error) { return e.t.ReadLine() }

// SetPrompt sets the prompt of the next line.
func (e *LineEditor) SetPrompt(p string) { e.t.SetPrompt(p) }

// Write writes output above the prompt.
func (e *LineEditor) Write(p []byte) (int, error) { return e.t.Write(p) }

// Resize follows the terminal's size.
func (e *LineEditor) Resize(width, height int) error { return e.t.SetSize(width, height) }
