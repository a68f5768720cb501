package recorder

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A session without a PTY has its output in the raw stream file only: the
// plain cast made from both has it as output events a player shows.
func TestWritePlainMergesRawOutput(t *testing.T) {
	dir := t.TempDir()
	cast := filepath.Join(dir, "s.cast")
	start := time.Unix(1700000000, 0)
	clock := start
	now := func() time.Time { clock = clock.Add(time.Millisecond); return clock }
	raw, err := CreateRaw(RawPath(cast), start, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Write(StreamStdout, []byte("hello from stdout\n")); err != nil {
		t.Fatal(err)
	}
	if err := raw.Write(StreamStderr, []byte("oops\n")); err != nil {
		t.Fatal(err)
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}
	head := `{"version":2,"width":80,"height":24,"timestamp":1700000000,"title":"t","env":{}}` + "\n"
	if err := os.WriteFile(cast, []byte(head), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := Open(cast)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out bytes.Buffer
	if err := WritePlain(&out, r); err != nil {
		t.Fatal(err)
	}
	back, err := NewReader(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatalf("the plain cast does not read back: %v\n%s", err, out.String())
	}
	evs, err := back.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for _, ev := range evs {
		if ev.Type == TypeOutput {
			text.WriteString(ev.Data)
		}
	}
	if !strings.Contains(text.String(), "hello from stdout") || !strings.Contains(text.String(), "oops") {
		t.Fatalf("output events %q, want stdout and stderr\n%s", text.String(), out.String())
	}
	if back.Header.Width != 80 || back.Header.Timestamp != 1700000000 {
		t.Fatalf("header %+v", back.Header)
	}
}
