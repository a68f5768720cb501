package console

import (
	"bytes"
	"errors"
	"io"
	"slices"

	"golang.org/x/term"
)

// ErrInterrupt is what a LineReader returns for Ctrl-C: the console drops
// the statement being typed and prompts again.
var ErrInterrupt = errors.New("interrupted")

// NewLineEditor is a LineReader over a terminal in raw mode (a PTY): line
// editing, arrows and history as a shell's, from golang.org/x/term. Output
// written to the returned editor has its line breaks made \r\n; the console
// should write through it so that prompt and output do not tangle.
func NewLineEditor(rw io.ReadWriter, width, height int) *LineEditor {
	in := &ctrlCWatcher{r: rw}
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{in, rw}, "")
	if width > 0 && height > 0 {
		_ = t.SetSize(width, height)
	}
	return &LineEditor{t: t}
}

// LineEditor is a LineReader and io.Writer over a raw terminal.
type LineEditor struct {
	t *term.Terminal
}

// ReadLine reads a line with editing and history. Ctrl-D on an empty line
// is io.EOF; Ctrl-C is ErrInterrupt, and the line being typed is dropped.
func (e *LineEditor) ReadLine() (string, error) { return e.t.ReadLine() }

// SetPrompt sets the prompt of the next line.
func (e *LineEditor) SetPrompt(p string) { e.t.SetPrompt(p) }

// Write writes output above the prompt.
func (e *LineEditor) Write(p []byte) (int, error) { return e.t.Write(p) }

// Resize follows the terminal's size.
func (e *LineEditor) Resize(width, height int) error { return e.t.SetSize(width, height) }

// ctrlCWatcher keeps Ctrl-C from x/term, which would report it as io.EOF
// (the same as Ctrl-D): the input is cut at a Ctrl-C, the next read fails
// with ErrInterrupt once x/term has used what came before it, and the read
// after that starts with Ctrl-E Ctrl-U, which clears the line x/term holds.
type ctrlCWatcher struct {
	r       io.Reader
	held    []byte // input after a Ctrl-C, not yet handed on
	pending bool   // a Ctrl-C is to be reported
}

// clearLine is Ctrl-E (end of line) then Ctrl-U (erase to its start).
var clearLine = []byte{5, 21}

func (w *ctrlCWatcher) Read(p []byte) (int, error) {
	if w.pending {
		w.pending = false
		w.held = append(slices.Clone(clearLine), w.held...)
		return 0, ErrInterrupt
	}
	if len(w.held) == 0 {
		n, err := w.r.Read(p)
		if n == 0 {
			return n, err
		}
		w.held = append(w.held, p[:n]...)
	}
	n := copy(p, w.held)
	if i := bytes.IndexByte(p[:n], 3); i >= 0 {
		n = i
		w.pending = true
		w.held = w.held[i+1:]
	} else {
		w.held = w.held[n:]
	}
	return n, nil
}
