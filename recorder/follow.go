package recorder

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// followInterval is how often Follow polls a growing recording.
const followInterval = 100 * time.Millisecond

// Follow writes the output of the recording at path to w as it is written,
// from its beginning. It reads whole lines only, polling for growth. It
// returns nil once stop reports that the session has ended and the file has
// been read to its end, or ctx's error when ctx is done. stop may be nil
// (follow until ctx is done).
func Follow(ctx context.Context, path string, w io.Writer, stop func() bool) error {
	return follow(ctx, path, w, stop, followInterval)
}

func follow(ctx context.Context, path string, w io.Writer, stop func() bool, interval time.Duration) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("recording: %w", err)
	}
	defer f.Close()

	br := bufio.NewReaderSize(f, 64<<10)
	var (
		partial  []byte // the start of a line not yet whole
		line     int
		finished bool // stop() said so: one last read to the end
	)
	for {
		// Read every whole line available now.
	read:
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			chunk, err := br.ReadSlice('\n')
			switch {
			case err == nil:
				l := chunk
				if len(partial) > 0 {
					partial = append(partial, chunk...)
					l = partial
				}
				line++
				if err := followLine(w, line, l[:len(l)-1]); err != nil {
					return fmt.Errorf("%w (%s)", err, path)
				}
				partial = partial[:0]
			case errors.Is(err, bufio.ErrBufferFull) || err == io.EOF:
				partial = append(partial, chunk...)
				if len(partial) > maxLine {
					return fmt.Errorf("recording: %s: line %d: longer than %d bytes", path, line+1, maxLine)
				}
				if err == io.EOF {
					break read
				}
			default:
				return fmt.Errorf("recording: %w", err)
			}
		}
		if finished {
			return nil
		}
		if stop != nil && stop() {
			finished = true
			continue
		}
		if err := sleepContext(ctx, interval); err != nil {
			return err
		}
	}
}

// followLine handles one whole line of a followed recording.
func followLine(w io.Writer, n int, l []byte) error {
	if n == 1 {
		_, err := NewReader(bytes.NewReader(append(l, '\n')))
		return err
	}
	if len(bytes.TrimSpace(l)) == 0 {
		return nil
	}
	ev, err := parseEvent(l)
	if err != nil {
		return fmt.Errorf("recording: line %d: %w", n, err)
	}
	if ev.Type != TypeOutput {
		return nil
	}
	if _, err := io.WriteString(w, ev.Data); err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	return nil
}
