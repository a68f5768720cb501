package recorder

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// viewerScreen returns what a terminal of w×h shows after out.
func viewerScreen(out string, w, h int) string {
	s := NewScreen(w, h)
	s.Write([]byte(out))
	return s.Text()
}

// fast follows with a short poll.
func fast(stop func() bool) FollowOptions {
	return FollowOptions{Stop: stop, interval: time.Millisecond}
}

func TestFollow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "live.cast")
	w, err := Create(path, Header{Width: 80, Height: 24})
	if err != nil {
		t.Fatal(err)
	}
	var ended atomic.Bool
	var out syncBuffer
	errc := make(chan error, 1)
	opts := fast(ended.Load)
	opts.Title = "alice@web1"
	go func() { errc <- Follow(context.Background(), path, &out, opts) }()

	for i := 0; i < 50; i++ {
		if err := w.Output([]byte(strings.Repeat("x", i) + "€\r\n")); err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			w.Resize(80+i, 24)
			time.Sleep(3 * time.Millisecond)
		}
	}
	// The watcher sees output while the session is still live.
	last := strings.Repeat("x", 49) + "€"
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(viewerScreen(out.String(), 200, 25), last) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if !strings.Contains(viewerScreen(out.String(), 200, 25), last) {
		t.Fatalf("live: the watcher does not see %q:\n%s", last, viewerScreen(out.String(), 200, 25))
	}
	w.Output([]byte("last words"))
	w.Close()
	ended.Store(true)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	// The watcher's screen is the title over the session's screen.
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	want, err := ScreenText(r, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := viewerScreen(out.String(), 200, 25); got != "alice@web1\n"+want {
		t.Errorf("after the end, the watcher sees:\n%s\nwant the title over:\n%s", got, want)
	}
}

func TestFollowWholeLinesOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "live.cast")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out syncBuffer
	var ended atomic.Bool
	errc := make(chan error, 1)
	go func() { errc <- Follow(context.Background(), path, &out, fast(ended.Load)) }()

	// Write the header and events a few bytes at a time, as a slow disk
	// would show them.
	data := `{"version": 2, "width": 80, "height": 24}` + "\n" +
		`[0.1, "o", "hel"]` + "\n" + `[0.2, "o", "lo \u00e9"]` + "\n" + `[0.3, "i", "secret"]` + "\n" + `[0.4, "o", "!"]`
	for i := 0; i < len(data); i += 7 {
		f.WriteString(data[i:min(i+7, len(data))])
		time.Sleep(time.Millisecond)
	}
	ended.Store(true) // the last line never got its newline: a crash
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if got := viewerScreen(out.String(), 80, 24); got != "hello é\n" {
		t.Errorf("followed %q", got)
	}
}

func TestFollowStopsAndFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "live.cast")
	w, err := Create(path, Header{Width: 80, Height: 24})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Output([]byte("x"))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	var out syncBuffer
	if err := Follow(ctx, path, &out, fast(nil)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Follow = %v, want the context's error", err)
	}
	if got := viewerScreen(out.String(), 80, 24); got != "x\n" {
		t.Errorf("followed %q", got)
	}

	if err := Follow(context.Background(), filepath.Join(t.TempDir(), "nope.cast"), &out, FollowOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Follow missing file = %v", err)
	}

	bad := filepath.Join(t.TempDir(), "bad.cast")
	os.WriteFile(bad, []byte(`{"version": 2}`+"\n"+`[1, "o", "a"]`+"\n"+`oops`+"\n"), 0o600)
	err = Follow(context.Background(), bad, &out, FollowOptions{Stop: func() bool { return true }})
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("Follow bad file = %v", err)
	}
}

// hostileOutput is what an asset can write to make a watcher's terminal
// act or answer into her input.
var hostileOutput = []string{
	"\x1b[c", "\x1b[>c", "\x1b[=c", // device attributes
	"\x1b[5n", "\x1b[6n", "\x1b[?6n", // status and cursor position reports
	"\x1b]10;?\x07", "\x1b]11;?\x1b\\", "\x1b]4;1;?\x07", // colour queries
	"\x1b]52;c;?\x07", "\x1b]52;c;cm0gLXJmIH4K\x07", // clipboard read and write
	"\x1bP$qm\x1b\\", "\x1bP$q\"p\x1b\\", // DECRQSS
	"\x1bP+q544e\x1b\\",                               // XTGETTCAP
	"\x1b[14t", "\x1b[18t", "\x1b[21t", "\x1b[8;5;5t", // window reports and resize
	"\x1b]0;pwned\x07", "\x1b]2;pwned\x1b\\", // titles
	"\x1b[?1049h", "\x1b[?1000h", "\x1b[?2004h", // modes: alt screen, mouse, paste
	"\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\", // hyperlink
	"\x1b[?u", "\x1b[>q", "\x1b[?996n", // kitty keyboard, XTVERSION, colour scheme
	"\u009b6n", "\u009dl\u009c", "\x1bZ", "\x05", // C1 CSI and OSC, DECID, ENQ
	"\x9b6n", // a lone 8-bit CSI byte
}

// frameSeq is every sequence a frame may hold.
var frameSeq = regexp.MustCompile(`^\x1b\[(\?25[hl]|[0-9;:]*m|H|K|J|[0-9]+;[0-9]+H)$`)

// checkFrames fails when out holds anything a terminal would answer or
// act on beyond drawing.
func checkFrames(t *testing.T, out string) {
	t.Helper()
	var state byte
	for s := out; len(s) > 0; {
		seq, _, n, next := ansi.DecodeSequence(s, state, nil)
		state, s = next, s[n:]
		switch {
		case seq == "\r" || seq == "\n":
		case seq[0] == ansi.ESC:
			if !frameSeq.MatchString(seq) {
				t.Errorf("the watcher got %q", seq)
			}
		case seq[0] < 0x20 || seq[0] == ansi.DEL || strings.ContainsAny(seq, "\u0080\u0085\u009b\u009c\u009d\u0090"):
			t.Errorf("the watcher got the control %q", seq)
		}
	}
}

func TestFollowDrawsNoQuery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "live.cast")
	w, err := Create(path, Header{Width: 80, Height: 24})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range hostileOutput {
		w.Output([]byte(q))
	}
	w.Output([]byte("\x1b[H\x1b[2Jbefore\r\n"))
	w.Output([]byte("\x1b[1;31mred\x1b[0m after 你好\r\n"))
	w.Close()

	var out syncBuffer
	opts := fast(func() bool { return true })
	opts.Title = "jms: watching evil\x1b]0;t\x07@web1"
	if err := Follow(context.Background(), path, &out, opts); err != nil {
		t.Fatal(err)
	}
	checkFrames(t, out.String())
	for _, q := range hostileOutput {
		if strings.Contains(out.String(), q) {
			t.Errorf("the watcher got %q", q)
		}
	}
	screen := viewerScreen(out.String(), 80, 25)
	for _, s := range []string{`jms: watching evil\x1b]0;t\x07@web1`, "before", "red after 你好"} {
		if !strings.Contains(screen, s) {
			t.Errorf("the watcher does not see %q:\n%s", s, screen)
		}
	}
	if !strings.Contains(out.String(), "\x1b[1;31m") && !strings.Contains(out.String(), "\x1b[31;1m") &&
		!strings.Contains(out.String(), "31") {
		t.Errorf("colours are lost: %q", out.String())
	}
}

func TestFrameFitsTheViewer(t *testing.T) {
	s := NewScreen(100, 30)
	for i := range 30 {
		s.Write([]byte(strings.Repeat("y", 99) + string(rune('a'+i%26))))
		if i < 29 {
			s.Write([]byte("\r\n"))
		}
	}
	got := viewerScreen(s.Frame("title", 40, 10), 40, 10)
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 10 || lines[0] != "title" || lines[1] != strings.Repeat("y", 40) {
		t.Errorf("a 40×10 viewer sees:\n%s", got)
	}
}

func FuzzFrame(f *testing.F) {
	for _, q := range hostileOutput {
		f.Add(q)
	}
	f.Add("\x1b[38;2;1;2;3mtrue colour\x1b[m 你好 🚀")
	f.Fuzz(func(t *testing.T, output string) {
		s := NewScreen(40, 5)
		s.Write([]byte(output))
		checkFrames(t, s.Frame("t", 0, 0))
	})
}

func TestFollowFitsTheWatchersTerminal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "live.cast")
	w, err := Create(path, Header{Width: 80, Height: 24})
	if err != nil {
		t.Fatal(err)
	}
	w.Output([]byte(strings.Repeat("z", 70) + "\r\nsecond\r\nthird"))
	w.Close()
	var out syncBuffer
	opts := fast(func() bool { return true })
	opts.Title = "a title longer than the watcher's terminal"
	opts.Size = func() (int, int) { return 20, 3 }
	if err := Follow(context.Background(), path, &out, opts); err != nil {
		t.Fatal(err)
	}
	want := "a title longer than…\n" + strings.Repeat("z", 20) + "\nsecond\n"
	if got := viewerScreen(out.String(), 20, 3); got != want {
		t.Errorf("a 20×3 watcher sees:\n%q\nwant:\n%q", got, want)
	}
}

// FuzzFollow follows arbitrary recordings: Follow returns (an error for a
// bad one) and whatever it drew holds nothing but frames.
func FuzzFollow(f *testing.F) {
	f.Add(`{"version": 2, "width": 80, "height": 24}` + "\n" + `[0.1, "o", "hi\u001b[6n"]` + "\n")
	f.Add(`{"version": 2, "width": 3, "height": 1}` + "\n" + `[0.1, "r", "1x1"]` + "\n" + `[0.2, "o", "\u009b6n"]` + "\n")
	f.Add(`{"version": 2}` + "\n" + `oops` + "\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, data string) {
		path := filepath.Join(t.TempDir(), "f.cast")
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		var out syncBuffer
		_ = Follow(context.Background(), path, &out, fast(func() bool { return true }))
		checkFrames(t, out.String())
	})
}

// A session without a PTY: Follow shows the output from its raw stream
// file as frames are written whole (a frame seen in part waits), not its
// input.
func TestFollowRawStreams(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "live.cast")
	cw, err := Create(path, Header{Width: 80, Height: 24})
	if err != nil {
		t.Fatal(err)
	}
	defer cw.Close()
	var frames bytes.Buffer
	rw, _ := NewRawWriter(&frames, time.Now(), nil)
	rw.Write(StreamStdout, []byte("hel"))
	rw.Write(StreamStdin, []byte("secret"))
	rw.Write(StreamStdout, []byte("lo \xc3"))
	rw.Write(StreamStdout, []byte("\xa9!"))
	rw.Write(StreamStderr, []byte("?"))
	rw.Close()
	f, err := os.OpenFile(RawPath(path), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data := frames.Bytes()
	f.Write(data[:rawHdrLen])

	var out syncBuffer
	var ended atomic.Bool
	errc := make(chan error, 1)
	go func() { errc <- Follow(context.Background(), path, &out, fast(ended.Load)) }()
	for i := rawHdrLen; i < len(data); i += 5 {
		f.Write(data[i:min(i+5, len(data))])
		time.Sleep(time.Millisecond)
	}
	ended.Store(true)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if got := viewerScreen(out.String(), 80, 24); got != "hello é!?\n" {
		t.Errorf("followed %q", got)
	}
}
