package recorder

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeClock advances by step on every call.
func rawClock(step time.Duration) func() time.Time {
	t := time.Unix(1700000000, 0)
	return func() time.Time { t = t.Add(step); return t }
}

type rawWrite struct {
	s Stream
	p []byte
}

func writeRaw(t *testing.T, ws []rawWrite) []byte {
	t.Helper()
	var buf bytes.Buffer
	now := rawClock(time.Millisecond)
	w, err := NewRawWriter(&buf, now(), now)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ws {
		if err := w.Write(x.s, x.p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Size() != int64(buf.Len()) {
		t.Fatalf("Size %d, wrote %d", w.Size(), buf.Len())
	}
	sum := sha256.Sum256(buf.Bytes())
	if w.SHA256() != hex.EncodeToString(sum[:]) {
		t.Fatal("SHA256 does not match the bytes written")
	}
	return buf.Bytes()
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func TestRawRoundTrip(t *testing.T) {
	big := randBytes(MaxRawFrame + 12345) // split into two frames
	tests := []struct {
		name string
		ws   []rawWrite
	}{
		{"empty", nil},
		{"zeros", []rawWrite{{StreamStdout, make([]byte, 100000)}}},
		{"random, all streams", []rawWrite{{StreamStdin, randBytes(70000)}, {StreamStdout, randBytes(3)}, {StreamStderr, []byte("oops\n")}, {StreamStdout, randBytes(5000)}}},
		{"larger than a frame", []rawWrite{{StreamStdout, big}}},
		{"empty writes skipped", []rawWrite{{StreamStdout, nil}, {StreamStdout, []byte{0}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeRaw(t, tt.ws)
			for _, s := range []Stream{StreamStdin, StreamStdout, StreamStderr} {
				var want bytes.Buffer
				for _, x := range tt.ws {
					if x.s == s {
						want.Write(x.p)
					}
				}
				r, err := NewRawReader(bytes.NewReader(file))
				if err != nil {
					t.Fatal(err)
				}
				var got bytes.Buffer
				n, err := CopyRawStream(&got, r, s)
				if err != nil {
					t.Fatal(err)
				}
				if n != int64(want.Len()) || !bytes.Equal(got.Bytes(), want.Bytes()) {
					t.Fatalf("%s: got %d bytes, want %d (equal: %v)", s, n, want.Len(), bytes.Equal(got.Bytes(), want.Bytes()))
				}
				if r.Offset() != int64(len(file)) {
					t.Fatalf("offset at the end %d, file %d", r.Offset(), len(file))
				}
			}
		})
	}
}

func TestRawTimesMonotonic(t *testing.T) {
	var buf bytes.Buffer
	clock := []time.Time{time.Unix(100, 0), time.Unix(101, 0), time.Unix(100, 500)} // steps back
	i := 0
	now := func() time.Time { c := clock[min(i, len(clock)-1)]; i++; return c }
	w, _ := NewRawWriter(&buf, time.Unix(100, 0), now)
	w.Write(StreamStdout, []byte("a"))
	w.Write(StreamStdout, []byte("b"))
	w.Write(StreamStdout, []byte("c"))
	w.Close()
	r, err := NewRawReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var last time.Duration
	for {
		fr, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if fr.Time < last {
			t.Fatalf("time went back: %v after %v", fr.Time, last)
		}
		last = fr.Time
	}
	if last != time.Second {
		t.Fatalf("last frame at %v, want 1s", last)
	}
}

// Every cut of a file is either a clean end at a frame boundary or
// ErrRawTruncated naming the offset of the cut frame, never a panic, and
// the frames before the cut are all there.
func TestRawTruncatedEverywhere(t *testing.T) {
	file := writeRaw(t, []rawWrite{{StreamStdout, []byte("hello")}, {StreamStderr, randBytes(300)}, {StreamStdout, []byte("world")}})
	for cut := rawHdrLen; cut < len(file); cut++ {
		r, err := NewRawReader(bytes.NewReader(file[:cut]))
		if err != nil {
			t.Fatalf("cut %d: header: %v", cut, err)
		}
		var out bytes.Buffer
		_, err = CopyRawStream(&out, r, StreamStdout)
		if err == nil {
			if !bytes.HasPrefix([]byte("helloworld"), out.Bytes()) {
				t.Fatalf("cut %d: clean end with %q", cut, out.Bytes())
			}
			continue
		}
		if !errors.Is(err, ErrRawTruncated) || !strings.Contains(err.Error(), "offset ") {
			t.Fatalf("cut %d: %v, want a truncation naming the offset", cut, err)
		}
		if !bytes.HasPrefix([]byte("helloworld"), out.Bytes()) {
			t.Fatalf("cut %d: got %q before the fault", cut, out.Bytes())
		}
	}
}

func TestRawDamage(t *testing.T) {
	file := writeRaw(t, []rawWrite{{StreamStdout, []byte("hello")}, {StreamStdout, []byte("world")}})
	second := rawHdrLen + 1 + 2 + 1 + 4 + 5 // header, then stream, time (1 ms: 2 bytes), length, crc, data of frame 1
	tests := []struct {
		name   string
		mangle func(b []byte) []byte
		want   string
	}{
		{"bad magic", func(b []byte) []byte { b[0] = 'X'; return b }, "offset 0: not a jms raw stream file"},
		{"newer version", func(b []byte) []byte { b[6] = 9; return b }, "offset 6: version 9"},
		{"flags", func(b []byte) []byte { b[7] = 1; return b }, "offset 7: unknown flags"},
		{"empty", func(b []byte) []byte { return b[:0] }, "empty file"},
		{"bad stream", func(b []byte) []byte { b[second] = 7; return b }, "offset 21: bad stream 7"},
		{"flipped data bit", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, "offset 21: checksum mismatch"},
		{"zero length", func(b []byte) []byte { b[second+3] = 0; return b }, "offset 21: bad frame length 0"},
		{"huge length", func(b []byte) []byte {
			return append(b[:second:second], 1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f)
		}, "offset 21: bad frame length"},
		{"varint overflow", func(b []byte) []byte {
			return append(b[:second:second], 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)
		}, "offset 21: bad number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.mangle(append([]byte(nil), file...))
			r, err := NewRawReader(bytes.NewReader(b))
			if err == nil {
				_, err = CopyRawStream(io.Discard, r, StreamStdout)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func FuzzRawReader(f *testing.F) {
	f.Add([]byte(rawMagic + "\x01\x00"))
	f.Add(writeRawSeed([]rawWrite{{StreamStdout, []byte("hi")}, {StreamStdin, []byte{0, 1, 2}}}))
	f.Add([]byte(rawMagic + "\x01\x00\x01\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewRawReader(bytes.NewReader(b))
		if err != nil {
			return
		}
		for i := 0; ; i++ {
			fr, err := r.Next()
			if err != nil {
				if err != io.EOF && !strings.Contains(err.Error(), "offset ") {
					t.Fatalf("error without an offset: %v", err)
				}
				return
			}
			if len(fr.Data) == 0 || len(fr.Data) > MaxRawFrame || fr.Stream > StreamStderr {
				t.Fatalf("bad frame %d: stream %d, %d bytes", i, fr.Stream, len(fr.Data))
			}
		}
	})
}

func writeRawSeed(ws []rawWrite) []byte {
	var buf bytes.Buffer
	w, _ := NewRawWriter(&buf, time.Unix(0, 0), rawClock(time.Second))
	for _, x := range ws {
		w.Write(x.s, x.p)
	}
	w.Close()
	return buf.Bytes()
}

// A recording with a raw stream file reads as one session: the cast's
// events and the frames in time order, valid UTF-8 with runes split across
// frames joined.
func TestOpenMergesRawStreams(t *testing.T) {
	dir := t.TempDir()
	cast := filepath.Join(dir, "s.cast")
	now := rawClock(time.Second) // every call one second later
	start := now()
	cw, err := CreateWith(cast, Header{Width: 80, Height: 24}, Options{Now: func() time.Time { return start }})
	if err != nil {
		t.Fatal(err)
	}
	rw, err := CreateRaw(RawPath(cast), start, now)
	if err != nil {
		t.Fatal(err)
	}
	rw.Write(StreamStdout, []byte("caf\xc3"))   // 1 s
	rw.Write(StreamStdout, []byte("\xa9 \xff")) // 2 s
	rw.Write(StreamStderr, []byte("warn\n"))    // 3 s
	rw.Write(StreamStdin, []byte("in"))         // 4 s
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	cw.Output([]byte("notice\r\n")) // at 0 s
	cw.Marker(RawMarker(rw.Size(), rw.SHA256()))
	cw.Close()

	files, err := SessionFiles(cast)
	if err != nil || len(files) != 2 || files[1] != RawPath(cast) {
		t.Fatalf("SessionFiles = %v, %v", files, err)
	}
	r, err := Open(cast)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	evs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range evs {
		got = append(got, ev.Type+":"+ev.Data)
	}
	want := []string{"o:notice\r\n", "m:" + RawMarker(rw.Size(), rw.SHA256()), "o:caf", "o:é \uFFFD", "o:warn\n", "i:in"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("events\n got %q\nwant %q", got, want)
	}
	size, sum, ok := ParseRawMarker(evs[1].Data)
	if !ok || size != rw.Size() || sum != rw.SHA256() {
		t.Fatalf("ParseRawMarker = %d %s %v", size, sum, ok)
	}
}

// A raw file cut by a crash: the merged reader stops at the last whole
// frame and says it was truncated, as it does for a cast.
func TestOpenRawTruncated(t *testing.T) {
	dir := t.TempDir()
	cast := filepath.Join(dir, "s.cast")
	cw, _ := Create(cast, Header{Width: 80, Height: 24})
	cw.Close()
	file := writeRaw(t, []rawWrite{{StreamStdout, []byte("whole")}, {StreamStdout, []byte("cut off")}})
	if err := os.WriteFile(RawPath(cast), file[:len(file)-3], 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := Open(cast)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out bytes.Buffer
	if err := Cat(&out, r); err != nil {
		t.Fatal(err)
	}
	if out.String() != "whole" || !r.Truncated() {
		t.Fatalf("got %q, truncated %v", out.String(), r.Truncated())
	}
}

// OutputHeld keeps events in memory until Flush, another event or Close,
// in order.
func TestOutputHeld(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Header{Width: 80, Height: 24}, Options{Now: rawClock(time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	hdr := buf.Len()
	w.OutputHeld([]byte("a"))
	w.OutputHeld([]byte("b"))
	if buf.Len() != hdr {
		t.Fatalf("held output was written: %q", buf.String()[hdr:])
	}
	w.Flush()
	if got := strings.Count(buf.String()[hdr:], "\n"); got != 2 {
		t.Fatalf("after Flush, %d events written", got)
	}
	w.OutputHeld([]byte("c"))
	w.Resize(100, 30) // writes the held event first
	w.OutputHeld([]byte("d"))
	size := w.Size()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if int64(buf.Len()) != w.Size() || w.Size() <= size {
		t.Fatalf("Close did not write the held event: size %d, buffer %d", w.Size(), buf.Len())
	}
	r, _ := NewReader(&buf)
	evs, _ := r.ReadAll()
	var got []string
	for _, ev := range evs {
		got = append(got, ev.Data)
	}
	if strings.Join(got, ",") != "a,b,c,100x30,d" {
		t.Fatalf("events %q", got)
	}
}
