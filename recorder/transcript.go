package recorder

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/jms-bastion/jms/printable"
)

// transcriptChunk bounds the output fed to the emulator between two
// drains of its scrollback: fewer newlines than the scrollback holds, so
// that no line is lost however much one event scrolls.
const transcriptChunk = 4096

// Transcript writes the session of r as plain text, line by line, for a
// person or grep: every line as it scrolled off the top of the screen or
// was erased with it (clear, ^L), then the lines of the final screen. It
// is the recording as the user read it, scrollback included; what a
// full-screen program drew on the alternate screen (vim, top) is not in
// it. Lines end in "\n", have no trailing spaces and their control
// characters are written out. Output before from (seconds into the
// recording) is played but not written: the transcript starts with the
// screen as it was then.
func Transcript(w io.Writer, r *Reader, from float64) error {
	s := NewScreen(r.Header.Width, r.Header.Height)
	bw := bufio.NewWriter(w)
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		quiet := ev.Time < from
		if ev.Type != TypeOutput {
			s.Apply(ev)
			if err := s.drainScrollback(bw, quiet); err != nil {
				return err
			}
			continue
		}
		for data := ev.Data; data != ""; {
			n := min(len(data), transcriptChunk)
			s.write(data[:n])
			data = data[n:]
			if err := s.drainScrollback(bw, quiet); err != nil {
				return err
			}
		}
	}
	for l := range strings.Lines(s.Text()) {
		if _, err := bw.WriteString(printable.Escape(strings.TrimSuffix(l, "\n")) + "\n"); err != nil {
			return fmt.Errorf("transcript: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("transcript: %w", err)
	}
	return nil
}

// drainScrollback writes the lines that left the screen since the last
// drain (unless quiet) and forgets them.
func (s *Screen) drainScrollback(w *bufio.Writer, quiet bool) error {
	sb := s.em.Scrollback()
	if sb == nil || sb.Len() == 0 {
		return nil
	}
	if !quiet {
		for _, l := range sb.Lines() {
			if _, err := w.WriteString(printable.Escape(strings.TrimRight(l.String(), " ")) + "\n"); err != nil {
				return fmt.Errorf("transcript: %w", err)
			}
		}
	}
	sb.Clear()
	return nil
}
