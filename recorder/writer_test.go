package recorder

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeClock advances by step on every call.
func fakeClock(step time.Duration) func() time.Time {
	t := time.Unix(1700000000, 0)
	var mu sync.Mutex
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now := t
		t = t.Add(step)
		return now
	}
}

// decoded is what a JSON decoder yields for bytes p: each byte of an invalid
// UTF-8 sequence becomes U+FFFD.
func decoded(p []byte) string { return string([]rune(string(p))) }

func TestAppendJSONString(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // the exact encoding, "" to check by decoding only
	}{
		{"empty", "", `""`},
		{"ascii", "hello, world", `"hello, world"`},
		{"quote and backslash", `a"b\c`, `"a\"b\\c"`},
		{"newline cr tab", "a\nb\rc\td", `"a\nb\rc\td"`},
		{"escape", "\x1b[31mred\x1b[0m", `"\u001b[31mred\u001b[0m"`},
		{"nul and bell", "\x00\x07\x1f", `"\u0000\u0007\u001f"`},
		{"del passes", "\x7f", "\"\x7f\""},
		{"utf8", "héllo €😀", `"héllo €😀"`},
		{"line separator", "\u2028\u2029", "\"\u2028\u2029\""},
		{"invalid byte", "a\xffb", "\"a\uFFFDb\""},
		{"lone continuation", "\x80\x80", "\"\uFFFD\uFFFD\""},
		{"cut sequence in the middle", "\xe2\x82x", "\"\uFFFD\uFFFDx\""},
		{"overlong", "\xc0\xaf", "\"\uFFFD\uFFFD\""},
		{"surrogate", "\xed\xa0\x80", "\"\uFFFD\uFFFD\uFFFD\""},
		{"too big", "\xf4\x90\x80\x80", "\"\uFFFD\uFFFD\uFFFD\uFFFD\""},
		{"invalid at end", "ok\xf0\x9f", "\"ok\uFFFD\uFFFD\""},
		{"mixed", "\x1b]0;tïtle\x07\xfe\"\\", ""},
		{"nul pair", "\x00\x00", `"\u0000\u0000"`},
		{"nul run", strings.Repeat("\x00", 1000), `"` + strings.Repeat(`\u0000`, 1000) + `"`},
		{"nul runs between text", "a" + strings.Repeat("\x00", 17) + "b\x00c" + strings.Repeat("\x00", 9), ""},
		{"runs of other controls", "\x01\x01\x01\x1b\x1b[\x07\x07\x00\x01", `"\u0001\u0001\u0001\u001b\u001b[\u0007\u0007\u0000\u0001"`},
		{"run then newlines", "\x00\x00\x00\n\n\x00", `"\u0000\u0000\u0000\n\n\u0000"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := appendJSONString(nil, nil, []byte(tt.in))
			if tt.want != "" && string(got) != tt.want {
				t.Errorf("encoding = %s, want %s", got, tt.want)
			}
			checkJSONString(t, got, decoded([]byte(tt.in)))
		})
	}
}

func checkJSONString(t *testing.T, enc []byte, want string) {
	t.Helper()
	if !utf8.Valid(enc) {
		t.Errorf("encoding %q is not valid UTF-8", enc)
	}
	for _, b := range enc {
		if b < 0x20 {
			t.Errorf("encoding %q holds raw control byte %#x", enc, b)
		}
	}
	var s string
	if err := json.Unmarshal(enc, &s); err != nil {
		t.Fatalf("encoding %q does not decode: %v", enc, err)
	}
	if s != want {
		t.Errorf("decodes to %q, want %q", s, want)
	}
}

// writeChunks records chunks as output and returns the file's bytes.
func writeChunks(t *testing.T, chunks [][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Header{Width: 80, Height: 24}, Options{Now: fakeClock(time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range chunks {
		if err := w.Output(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// outputOf checks that every event line json-decodes, and returns the
// concatenated output.
func outputOf(t *testing.T, file []byte) string {
	t.Helper()
	lines := bytes.Split(bytes.TrimSuffix(file, []byte("\n")), []byte("\n"))
	var out strings.Builder
	for i, l := range lines[1:] {
		var ev []any
		if err := json.Unmarshal(l, &ev); err != nil {
			t.Fatalf("line %d %q: %v", i+2, l, err)
		}
		if len(ev) != 3 || ev[1] != "o" {
			t.Fatalf("line %d %q: not an output event", i+2, l)
		}
		out.WriteString(ev[2].(string))
	}
	return out.String()
}

func TestOutputSplitRunes(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
	}{
		{"euro split 1+2", []string{"a\xe2", "\x82\xacb"}},
		{"euro split 2+1", []string{"a\xe2\x82", "\xacb"}},
		{"euro split 1+1+1", []string{"\xe2", "\x82", "\xac"}},
		{"emoji split 3+1", []string{"\xf0\x9f\x98", "\x80"}},
		{"emoji in four calls", []string{"\xf0", "\x9f", "\x98", "\x80!"}},
		{"cut then ascii", []string{"x\xe2\x82", "y"}},
		{"cut then new lead", []string{"\xe2\x82", "\xe2\x82\xac"}},
		{"cut at close", []string{"end\xf0\x9f"}},
		{"invalid lead not held", []string{"\xff", "a"}},
		{"overlong prefix", []string{"\xe0", "\x80\x80"}},
		{"empty chunks", []string{"", "\xc3", "", "\xa9", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var chunks [][]byte
			var all []byte
			for _, c := range tt.chunks {
				chunks = append(chunks, []byte(c))
				all = append(all, c...)
			}
			got := outputOf(t, writeChunks(t, chunks))
			if want := decoded(all); got != want {
				t.Errorf("output %q, want %q", got, want)
			}
		})
	}
}

func TestOutputEveryCut(t *testing.T) {
	s := []byte("a€😀é\xff\xe2\x82z\xf0\x9f\x98\x80")
	for i := 0; i <= len(s); i++ {
		for j := i; j <= len(s); j++ {
			chunks := [][]byte{s[:i], s[i:j], s[j:]}
			if got, want := outputOf(t, writeChunks(t, chunks)), decoded(s); got != want {
				t.Fatalf("cut at %d,%d: output %q, want %q", i, j, got, want)
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, input := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "2024-01-02", "s1.cast")
		h := Header{
			Width: 120, Height: 40, Title: "alice@web1",
			Env:           map[string]string{"TERM": "xterm-256color", "SHELL": "/bin/bash"},
			IdleTimeLimit: 2.5,
		}
		w, err := CreateWith(path, h, Options{RecordInput: input, Now: fakeClock(1500 * time.Microsecond)})
		if err != nil {
			t.Fatal(err)
		}
		steps := []func() error{
			func() error { return w.Output([]byte("$ ")) },
			func() error { return w.Input([]byte("ls\r")) },
			func() error { return w.Output([]byte("ls\r\n\x1b[1mfile\x1b[0m \"q\"\r\n")) },
			func() error { return w.Resize(100, 30) },
			func() error { return w.Marker("before exit") },
			func() error { return w.Output([]byte("bye ☺\r\n")) },
		}
		for _, s := range steps {
			if err := s(); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if err := w.Output([]byte("late")); !errors.Is(err, ErrClosed) {
			t.Errorf("Output after Close = %v, want ErrClosed", err)
		}

		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if w.Size() != int64(len(data)) {
			t.Errorf("Size = %d, file has %d bytes", w.Size(), len(data))
		}
		sum := sha256.Sum256(data)
		if w.SHA256() != hex.EncodeToString(sum[:]) {
			t.Errorf("SHA256 = %s, want %x", w.SHA256(), sum)
		}
		if w.Path() != path {
			t.Errorf("Path = %q", w.Path())
		}

		r, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		wantH := h
		wantH.Version = 2
		wantH.Timestamp = 1700000000
		if got, _ := json.Marshal(r.Header); string(got) != string(mustJSON(t, wantH)) {
			t.Errorf("header = %s, want %s", got, mustJSON(t, wantH))
		}
		evs, err := r.ReadAll()
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		// The clock steps 1.5 ms per call; the first call is the start.
		want := []Event{
			{0.0015, "o", "$ "},
			{0.003, "i", "ls\r"},
			{0.0045, "o", "ls\r\n\x1b[1mfile\x1b[0m \"q\"\r\n"},
			{0.006, "r", "100x30"},
			{0.0075, "m", "before exit"},
			{0.009, "o", "bye ☺\r\n"},
		}
		if !input {
			want = []Event{
				{0.0015, "o", "$ "},
				{0.003, "o", "ls\r\n\x1b[1mfile\x1b[0m \"q\"\r\n"},
				{0.0045, "r", "100x30"},
				{0.006, "m", "before exit"},
				{0.0075, "o", "bye ☺\r\n"},
			}
		}
		if !equalEvents(evs, want) {
			t.Errorf("input=%v: events\n%v\nwant\n%v", input, evs, want)
		}
		if err := Validate(bytes.NewReader(data)); err != nil {
			t.Errorf("Validate: %v", err)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func equalEvents(a, b []Event) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Type != b[i].Type || a[i].Data != b[i].Data || abs(a[i].Time-b[i].Time) > 1e-9 {
			return false
		}
	}
	return true
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func TestCreateModes(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(root, "recordings", "2024-01-02", "s.cast")
	w, err := Create(path, Header{Width: 80, Height: 24})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, c := range []struct {
		path string
		mode os.FileMode
	}{
		{filepath.Join(root, "recordings"), os.ModeDir | 0o700},
		{filepath.Join(root, "recordings", "2024-01-02"), os.ModeDir | 0o700},
		{path, 0o600},
	} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != c.mode {
			t.Errorf("%s: mode %v, want %v", c.path, fi.Mode(), c.mode)
		}
	}
	if _, err := Create(path, Header{}); !errors.Is(err, os.ErrExist) {
		t.Errorf("Create over an existing file: %v, want ErrExist", err)
	}
}

// failAfter accepts n bytes, then fails.
type failAfter struct {
	n   int
	err error
}

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) <= f.n {
		f.n -= len(p)
		return len(p), nil
	}
	n := f.n
	f.n = 0
	return n, f.err
}

func TestFailClosed(t *testing.T) {
	errFull := errors.New("no space left on device")
	fw := &failAfter{n: 200, err: errFull}
	w, err := NewWriter(fw, Header{Width: 80, Height: 24}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var first error
	for i := 0; i < 100 && first == nil; i++ {
		first = w.Output([]byte("some output\r\n"))
	}
	if first == nil {
		t.Fatal("no error after the writer filled up")
	}
	if !errors.Is(first, errFull) || !strings.HasPrefix(first.Error(), "recording: write: ") {
		t.Errorf("error %q, want a wrapped %q", first, errFull)
	}
	fw.n = 1 << 20 // the disk has room again: the writer must stay failed
	for name, call := range map[string]func() error{
		"Output": func() error { return w.Output([]byte("x")) },
		"Input":  func() error { return w.Input([]byte("x")) },
		"Resize": func() error { return w.Resize(1, 2) },
		"Marker": func() error { return w.Marker("m") },
		"Err":    w.Err,
		"Close":  w.Close,
		"Close2": w.Close,
	} {
		if err := call(); err != first {
			t.Errorf("%s = %v, want the first error %v", name, err, first)
		}
	}
}

func TestFailClosedFile(t *testing.T) {
	// A full disk: /dev/full fails every write with ENOSPC.
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	_, err = newWriter(f, f, "/dev/full", Header{}, Options{})
	f.Close()
	if err == nil || err.Error() != "recording: write /dev/full: no space left on device" {
		t.Errorf("error = %v", err)
	}

	// A file that goes away under the writer.
	path := filepath.Join(t.TempDir(), "s.cast")
	w, err := Create(path, Header{Width: 80, Height: 24})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Output([]byte("ok")); err != nil {
		t.Fatal(err)
	}
	w.f.Close()
	err = w.Output([]byte("lost"))
	if err == nil || !strings.Contains(err.Error(), "recording: write "+path) {
		t.Errorf("error = %v", err)
	}
	if err2 := w.Resize(1, 1); err2 != err {
		t.Errorf("later call = %v, want %v", err2, err)
	}
	if err2 := w.Close(); err2 != err {
		t.Errorf("Close = %v, want %v", err2, err)
	}
}

func TestConcurrentWriters(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Header{Width: 80, Height: 24}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				_ = w.Output([]byte("héllo\r\n"))
				_ = w.Resize(80+g, 24)
				_ = w.Size()
				_ = w.SHA256()
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := Validate(&buf); err != nil {
		t.Fatal(err)
	}
}

func TestAsciinemaCat(t *testing.T) {
	bin, err := exec.LookPath("asciinema")
	if err != nil {
		if os.Getenv("JMS_E2E") == "1" {
			t.Fatal("asciinema is not on PATH (JMS_E2E=1)")
		}
		t.Skip("asciinema is not on PATH: skipping the compatibility check (set JMS_E2E=1 to require it)")
	}
	path := filepath.Join(t.TempDir(), "s.cast")
	w, err := Create(path, Header{Width: 80, Height: 24, Title: "t", Env: map[string]string{"TERM": "xterm"}})
	if err != nil {
		t.Fatal(err)
	}
	chunks := []string{"hello \xe2\x82", "\xac world\r\n", "\x1b[1mbold\x1b[0m \"quoted\" \\ back\r\n"}
	for _, c := range chunks {
		if err := w.Output([]byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	w.Resize(100, 30)
	w.Marker("m")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// asciinema 2 cat puts /dev/tty in raw mode, so it needs a controlling
	// terminal; its stdout stays a pipe so the bytes arrive untouched.
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	defer tty.Close()
	cmd := exec.Command(bin, "cat", path)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	cmd.Stdin = tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("asciinema cat: %v\n%s", err, stderr.Bytes())
	}
	want := strings.Join(chunks, "")
	if string(out) != want {
		t.Errorf("asciinema cat printed %q, want %q", out, want)
	}
}

var _ io.Writer = (*failAfter)(nil)

// Bulk output (runs of NULs copied in blocks, writeback hints to the
// kernel every few MiB): the hash, the size and the bytes must match the
// file whatever the mix of event sizes, and SHA256 may be asked in the
// middle.
func TestBulkHashAndSize(t *testing.T) {
	chunks := [][]byte{
		[]byte("prompt$ "),
		make([]byte, 40<<10),                        // NULs: 240 KiB of JSON
		[]byte("small after big\r\n"),               //
		bytes.Repeat([]byte("text line\r\n"), 9000), // about 100 KiB
		termOutput(300 << 10),
		{0x1b},
		make([]byte, 2<<20), // 12 MiB of JSON: crosses the writeback step
		[]byte("end\r\n"),
	}
	for _, tt := range []struct {
		name   string
		create func(t *testing.T) (*Writer, func() []byte)
	}{
		{"buffer", func(t *testing.T) (*Writer, func() []byte) {
			var buf bytes.Buffer
			w, err := NewWriter(&buf, Header{Width: 80, Height: 24}, Options{Now: fakeClock(time.Millisecond)})
			if err != nil {
				t.Fatal(err)
			}
			return w, buf.Bytes
		}},
		{"file", func(t *testing.T) (*Writer, func() []byte) {
			path := filepath.Join(t.TempDir(), "bulk.cast")
			w, err := CreateWith(path, Header{Width: 80, Height: 24}, Options{Now: fakeClock(time.Millisecond)})
			if err != nil {
				t.Fatal(err)
			}
			return w, func() []byte {
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w, contents := tt.create(t)
			for i, c := range chunks {
				if err := w.Output(c); err != nil {
					t.Fatal(err)
				}
				if i == 3 {
					// A hash in the middle covers everything written so far.
					if got, want := w.SHA256(), sha256Hex(contents()); tt.name == "buffer" && got != want {
						t.Errorf("SHA256 after %d chunks = %s, want %s", i+1, got, want)
					}
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			file := contents()
			if got, want := w.SHA256(), sha256Hex(file); got != want {
				t.Errorf("SHA256 = %s, want %s", got, want)
			}
			if w.Size() != int64(len(file)) {
				t.Errorf("Size = %d, file has %d bytes", w.Size(), len(file))
			}
			var want strings.Builder
			for _, c := range chunks {
				want.WriteString(decoded(c))
			}
			if got := outputOf(t, file); got != want.String() {
				t.Errorf("output differs: %d bytes, want %d", len(got), want.Len())
			}
		})
	}
}

// A write failing in the middle of bulk output fails the writer for good.
func TestBulkFailClosed(t *testing.T) {
	errFull := errors.New("no space left on device")
	fw := &failAfter{n: 1 << 20, err: errFull}
	w, err := NewWriter(fw, Header{Width: 80, Height: 24}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var first error
	for i := 0; i < 20 && first == nil; i++ {
		first = w.Output(make([]byte, 32<<10))
	}
	if !errors.Is(first, errFull) {
		t.Fatalf("error %v, want %v", first, errFull)
	}
	if err := w.Close(); err != first {
		t.Errorf("Close = %v, want %v", err, first)
	}
	if w.SHA256() == "" {
		t.Error("no hash after a failure")
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
