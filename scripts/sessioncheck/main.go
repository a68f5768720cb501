// Command sessioncheck checks the sessions a load left behind: it reads
// `jmsctl session list -o json` on stdin and checks that no session is
// still active and that every recording is there, whole (the size and
// SHA-256 in its row) and valid (recorder.Validate for asciicast).
//
//	jmsctl --data-dir D session list -o json --limit 5000 | go run ./scripts/sessioncheck -data D -want 1000
//
// It prints "name value unit" lines and exits 1 when a check fails.
// scripts/bench-load.sh runs it.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/jms-bastion/jms/recorder"
	"github.com/jms-bastion/jms/store"
)

func main() {
	data := flag.String("data", "", "the serve's data dir (recording paths are relative to it)")
	want := flag.Int("want", 0, "at least this many sessions expected")
	flag.Parse()
	var ss []store.Session
	if err := json.NewDecoder(os.Stdin).Decode(&ss); err != nil {
		fmt.Fprintln(os.Stderr, "sessioncheck: reading the session list:", err)
		os.Exit(1)
	}
	var notClosed, bad int
	for _, s := range ss {
		if s.Status == store.StatusActive {
			notClosed++
			if notClosed == 1 {
				fmt.Fprintf(os.Stderr, "sessioncheck: session %s is still active\n", s.ID)
			}
		}
		if err := checkRecording(*data, s); err != nil {
			bad++
			if bad <= 3 {
				fmt.Fprintf(os.Stderr, "sessioncheck: session %s: %v\n", s.ID, err)
			}
		}
	}
	fmt.Printf("sessions_checked %d count\nsessions_not_closed %d count\nrecordings_invalid %d count\n", len(ss), notClosed, bad)
	if len(ss) < *want || notClosed > 0 || bad > 0 {
		if len(ss) < *want {
			fmt.Fprintf(os.Stderr, "sessioncheck: %d sessions listed, want at least %d\n", len(ss), *want)
		}
		os.Exit(1)
	}
}

func checkRecording(dataDir string, s store.Session) error {
	if s.RecordingPath == "" {
		return fmt.Errorf("no recording")
	}
	path := s.RecordingPath
	if !filepath.IsAbs(path) {
		path = filepath.Join(dataDir, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return err
	}
	if n != s.RecordingSize || hex.EncodeToString(h.Sum(nil)) != s.RecordingSHA256 {
		return fmt.Errorf("recording %s: %d bytes, sha256 %x; its row says %d bytes, %s", path, n, h.Sum(nil), s.RecordingSize, s.RecordingSHA256)
	}
	if !strings.HasSuffix(path, ".cast") {
		return nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := recorder.Validate(f); err != nil {
		return fmt.Errorf("recording %s: %w", path, err)
	}
	return nil
}
