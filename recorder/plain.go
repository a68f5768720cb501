package recorder

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// WritePlain writes what r reads as one plain asciicast v2 file: its
// header, then every event. A session without a PTY keeps its output in
// its raw stream file; r (from Open) merges it in, so the plain cast has
// that output as "o" events that any asciicast player shows. Bytes that
// are not UTF-8 become U+FFFD, as JSON requires: the raw stream file
// (replay --raw) keeps them exactly.
func WritePlain(w io.Writer, r *Reader) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	head, err := json.Marshal(r.Header)
	if err != nil {
		return fmt.Errorf("recording header: %w", err)
	}
	bw.Write(append(head, '\n'))
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		line, err := json.Marshal([]any{ev.Time, ev.Type, ev.Data})
		if err != nil {
			return fmt.Errorf("recording event at %.6f s: %w", ev.Time, err)
		}
		if _, err := bw.Write(append(line, '\n')); err != nil {
			return err
		}
	}
	return bw.Flush()
}
