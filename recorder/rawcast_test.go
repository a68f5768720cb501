package recorder

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRawCastTail(t *testing.T) {
	cast := filepath.Join(t.TempDir(), "s.cast")
	if r, err := OpenRawCastTail(cast); r != nil || err != nil {
		t.Fatalf("without a raw file: %v %v", r, err)
	}
	w, err := CreateRaw(RawPath(cast), time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r, err := OpenRawCastTail(cast)
	if err != nil || r == nil {
		t.Fatalf("open: %v %v", r, err)
	}
	defer r.Close()
	for _, f := range []struct {
		s Stream
		p string
	}{{StreamStdout, "one\n"}, {StreamStdin, "secret\n"}, {StreamStderr, "two \x1b\n"}, {StreamStdout, "three\xe2\x82"}, {StreamStdout, "\xac\n"}} {
		w.Write(f.s, []byte(f.p))
		w.Flush()
	}
	// A bound of 1 byte: one frame's line per call.
	var lines []byte
	for i := range 6 {
		before := bytes.Count(lines, []byte("\n"))
		if lines, err = r.AppendLines(lines, len(lines)+1); err != nil {
			t.Fatal(err)
		}
		if got := bytes.Count(lines, []byte("\n")) - before; got > 1 || i < 4 && got != 1 {
			t.Fatalf("call %d added %d lines, want one per call while frames wait", i, got)
		}
	}
	if n := bytes.Count(lines, []byte("\n")); n != 4 {
		t.Fatalf("%d lines, want 4 (one per output frame, stdin left out): %q", n, lines)
	}
	rd, err := NewReader(strings.NewReader(`{"version": 2, "width": 80, "height": 24}` + "\n" + string(lines)))
	if err != nil {
		t.Fatal(err)
	}
	evs, err := rd.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, ev := range evs {
		if ev.Type != TypeOutput {
			t.Fatalf("event %+v", ev)
		}
		out.WriteString(ev.Data)
	}
	if want := "one\ntwo \x1b\nthree€\n"; out.String() != want {
		t.Fatalf("output %q, want %q", out.String(), want)
	}
}
