package recorder

import (
	"bufio"
	"fmt"
	"io"
)

// Cat writes the output data of every remaining event of r to w, as
// `asciinema cat` does.
func Cat(w io.Writer, r *Reader) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			bw.Flush()
			return err
		}
		if ev.Type != TypeOutput {
			continue
		}
		if _, err := bw.WriteString(ev.Data); err != nil {
			return fmt.Errorf("recording: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("recording: %w", err)
	}
	return nil
}
