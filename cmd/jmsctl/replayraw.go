package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/jms-bastion/jms/recorder"
)

// replayRaw writes the bytes of one stream of a session without a PTY
// from its raw stream file, exactly, and checks the file against the size
// and hash its cast recorded at the session's end.
func (a *app) replayRaw(castPath string, s recorder.Stream) error {
	rawPath := recorder.RawPath(castPath)
	size, sum, sealed, err := rawSeal(castPath)
	if err != nil {
		return err
	}
	f, err := os.Open(rawPath)
	if err != nil {
		return fmt.Errorf("recording: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	r, err := recorder.NewRawReader(io.TeeReader(f, h))
	if err != nil {
		return fmt.Errorf("%w (%s)", err, rawPath)
	}
	if _, err := recorder.CopyRawStream(a.stdout, r, s); err != nil {
		return fmt.Errorf("%w (%s)", err, rawPath)
	}
	switch got := hex.EncodeToString(h.Sum(nil)); {
	case !sealed:
		fmt.Fprintf(a.stderr, "replay: %s has no size and hash in its cast (the session is still open, or the bastion stopped before it ended): the bytes are unverified\n", rawPath)
	case r.Offset() != size || got != sum:
		return fmt.Errorf("%s does not match what its cast recorded at the end (%d bytes, sha256 %s; found %d bytes, sha256 %s): it was changed or damaged", rawPath, size, sum, r.Offset(), got)
	}
	return nil
}

// rawSeal returns the raw stream file's size and hash recorded at the end
// of the cast at castPath; sealed is false when there are none.
func rawSeal(castPath string) (size int64, sum string, sealed bool, err error) {
	r, err := recorder.OpenCast(castPath)
	if err != nil {
		return 0, "", false, err
	}
	defer r.Close()
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			return size, sum, sealed, nil
		}
		if err != nil {
			return 0, "", false, err
		}
		if ev.Type == recorder.TypeMarker {
			if sz, sh, ok := recorder.ParseRawMarker(ev.Data); ok {
				size, sum, sealed = sz, sh, true
			}
		}
	}
}

// hasRaw reports whether the recording at castPath has a raw stream file.
func hasRaw(castPath string) bool {
	_, err := os.Stat(recorder.RawPath(castPath))
	return err == nil
}
