package filter

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// session drives a tracker the way the proxy does, with a scripted echo.
type session struct {
	t  *testing.T
	tr *LineTracker
}

const prompt = "\x1b]0;user@host: ~\x07\x1b[01;32muser@host\x1b[00m:\x1b[01;34m~\x1b[00m$ "

func newSession(t *testing.T, w, h int) *session {
	s := &session{t: t, tr: NewLineTracker(w, h)}
	s.tr.Output([]byte(prompt))
	return s
}

// key types in and echoes echo; it returns the segments.
func (s *session) key(in, echo string) []Segment {
	segs := s.tr.Input([]byte(in))
	if echo != "" {
		s.tr.Output([]byte(echo))
	}
	return segs
}

func (s *session) enter() string {
	s.t.Helper()
	segs := s.tr.Input([]byte("\r"))
	if len(segs) != 1 || segs[0].Kind != Submit {
		s.t.Fatalf("Enter gave %+v", segs)
	}
	return s.tr.Line()
}

func TestLineTracker(t *testing.T) {
	tests := []struct {
		name  string
		w     int
		steps func(s *session)
		want  string
	}{
		{"typed", 80, func(s *session) {
			for _, c := range "reboot" {
				s.key(string(c), string(c))
			}
		}, "reboot"},
		{"backspace and tab", 80, func(s *session) {
			for _, c := range "rebo" {
				s.key(string(c), string(c))
			}
			s.key("\x7f", "\b\x1b[K")
			s.key("o", "o")
			s.key("\t", "ot ")
		}, "reboot"},
		{"ctrl-u clears", 80, func(s *session) {
			s.key("ls -l", "ls -l")
			s.key("\x15", "\r\x1b[K"+prompt)
			s.key("reboot", "reboot")
		}, "reboot"},
		{"ctrl-w", 80, func(s *session) {
			s.key("echo hi reb", "echo hi reb")
			s.key("\x17", "\b\b\b\x1b[K")
			s.key("x", "x")
		}, "echo hi x"},
		{"history recall", 80, func(s *session) {
			s.key("ls", "ls")
			s.key("\x1b[A", "\b\b\x1b[Ksudo reboot")
		}, "sudo reboot"},
		{"ctrl-a insert", 80, func(s *session) {
			s.key("reboot", "reboot")
			s.key("\x01", "\b\b\b\b\b\b")
			s.key("sudo ", "\x1b[1@s\x1b[1@u\x1b[1@d\x1b[1@o\x1b[1@ ")
		}, "sudo reboot"},
		{"wrapped", 30, func(s *session) {
			long := "echo " + strings.Repeat("a", 40) + "; reboot"
			s.key(long, long)
		}, "echo " + strings.Repeat("a", 40) + "; reboot"},
		{"wrapped cursor moved back", 30, func(s *session) {
			long := "echo " + strings.Repeat("b", 40) + " && reboot"
			s.key(long, long)
			s.key("\x01", "\r\x1b[1A\x1b[17C")
		}, "echo " + strings.Repeat("b", 40) + " && reboot"},
		{"after output", 80, func(s *session) {
			s.key("ls", "ls")
			s.tr.Input([]byte("\r"))
			s.tr.Output([]byte("\r\nfile1  file2\r\n" + prompt))
			s.key("reboot", "reboot")
		}, "reboot"},
		{"scrolling", 40, func(s *session) {
			s.tr.Output([]byte(strings.Repeat("line\r\n", 30) + prompt))
			s.key("r", "r")
			s.tr.Output([]byte("\r\nasync message\r\n" + prompt + "r"))
			s.key("eboot", "eboot")
		}, "reboot"},
		{"ctrl-l redraw", 80, func(s *session) {
			s.key("rebo", "rebo")
			s.key("\x0c", "\x1b[H\x1b[2J"+prompt+"rebo")
			s.key("ot", "ot")
		}, "reboot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSession(t, tt.w, 24)
			tt.steps(s)
			if got := s.enter(); got != tt.want {
				t.Errorf("Line() = %q, want %q (screen %q)", got, tt.want, s.tr.emu.String())
			}
		})
	}
}

func TestLineTrackerAltScreen(t *testing.T) {
	s := newSession(t, 80, 24)
	s.key("vim x", "vim x")
	s.enter()
	s.tr.Output([]byte("\r\n\x1b[?1049h\x1b[H\x1b[2J~\r\n~"))
	if s.tr.AtPrompt() {
		t.Fatal("AtPrompt in vim")
	}
	segs := s.tr.Input([]byte("ireboot\r"))
	if len(segs) != 1 || segs[0].Kind != Forward {
		t.Fatalf("inside vim: %+v", segs)
	}
	s.tr.Output([]byte("\x1b[?1049l" + prompt))
	if !s.tr.AtPrompt() {
		t.Fatal("not AtPrompt after vim")
	}
	s.key("reboot", "reboot")
	if got := s.enter(); got != "reboot" {
		t.Fatalf("after vim: %q", got)
	}
}

func TestLineTrackerPaste(t *testing.T) {
	s := newSession(t, 80, 24)
	s.key("echo ", "echo ")
	segs := s.tr.Input([]byte("\x1b[200~hi\nreboot\nls"))
	if len(segs) != 0 {
		t.Fatalf("paste sent before its end: %+v", segs)
	}
	segs = s.tr.Input([]byte("\x1b[201~"))
	if len(segs) != 1 || segs[0].Kind != Paste {
		t.Fatalf("segs %+v", segs)
	}
	want := []string{"echo hi", "reboot", "ls"}
	if strings.Join(segs[0].Lines, "|") != strings.Join(want, "|") {
		t.Fatalf("Lines = %q, want %q", segs[0].Lines, want)
	}
	if string(segs[0].Data) != "\x1b[200~hi\nreboot\nls\x1b[201~" {
		t.Fatalf("Data = %q", segs[0].Data)
	}

	// Several lines typed at once are one Paste as well.
	s = newSession(t, 80, 24)
	segs = s.tr.Input([]byte("ls\rreb\x7f\x7fboot\r"))
	if len(segs) != 1 || segs[0].Kind != Paste || strings.Join(segs[0].Lines, "|") != "ls|rboot" {
		t.Fatalf("multi-line input: %+v", segs)
	}

	// A paste without a line break is typing.
	s = newSession(t, 80, 24)
	segs = s.tr.Input([]byte("\x1b[200~reboot\x1b[201~"))
	if len(segs) != 1 || segs[0].Kind != Forward {
		t.Fatalf("single-line paste: %+v", segs)
	}
}

func TestLineTrackerSplitEscape(t *testing.T) {
	s := newSession(t, 80, 24)
	s.key("ls", "ls")
	if segs := s.tr.Input([]byte("\x1b")); len(segs) != 0 {
		t.Fatalf("half an escape forwarded: %+v", segs)
	}
	segs := s.tr.Input([]byte("[A"))
	if len(segs) != 1 || string(segs[0].Data) != "\x1b[A" {
		t.Fatalf("escape: %+v", segs)
	}
	segs = s.tr.Input([]byte("\x1bOM"))
	if len(segs) != 1 || segs[0].Kind != Submit {
		t.Fatalf("keypad enter: %+v", segs)
	}
}

func TestWaitEcho(t *testing.T) {
	s := newSession(t, 80, 24)
	s.tr.Input([]byte("reboot"))
	go func() {
		time.Sleep(5 * time.Millisecond)
		s.tr.Output([]byte("reboot"))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s.tr.WaitEcho(ctx, 10*time.Millisecond)
	if got := s.tr.Line(); got != "reboot" {
		t.Fatalf("Line after WaitEcho = %q", got)
	}
	// No echo: the deadline ends the wait.
	s.tr.Input([]byte("secret"))
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	s.tr.WaitEcho(ctx2, 10*time.Millisecond)
}

// An echo that arrives in parts (a loaded machine, a slow link) is waited
// for whole, with no settle time: the first part alone does not end the
// wait. A line edited into something other than the keystrokes, or one
// not echoed at all, does not wait.
func TestWaitEchoInParts(t *testing.T) {
	for _, tc := range []struct {
		name, typed, first, rest, want string
		waits                          bool
	}{
		{"in parts", "echo bound", "ec", "ho bound", "echo bound", true},
		{"edited", "ehco", "echo", "", "echo", false},
		{"not echoed", "hunter2", "", "", "hunter2", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(t, 80, 24)
			s.tr.Input([]byte(tc.typed))
			if tc.first != "" {
				s.tr.Output([]byte(tc.first))
			} else {
				s.tr.Output([]byte("\a")) // output, but no echo
			}
			if tc.rest != "" {
				go func() {
					time.Sleep(30 * time.Millisecond)
					s.tr.Output([]byte(tc.rest))
				}()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			start := time.Now()
			s.tr.WaitEcho(ctx, 0)
			// A wait lasts until the rest is echoed (30 ms) or, wrongly, until
			// the context ends (2 s); no wait returns at once, which a loaded
			// machine may still stretch past 30 ms.
			if took := time.Since(start); tc.waits && took < 30*time.Millisecond || !tc.waits && took >= time.Second {
				t.Fatalf("waited %v (want a wait: %v)", took, tc.waits)
			}
			if got := s.tr.Peek().Line; got != tc.want {
				t.Fatalf("line %q, want %q", got, tc.want)
			}
		})
	}
}

func BenchmarkLineTrackerKeystroke(b *testing.B) {
	tr := NewLineTracker(120, 40)
	tr.Output([]byte(strings.Repeat("some earlier output line\r\n", 50) + prompt))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		tr.Input([]byte("a"))
		tr.Output([]byte("a"))
		if i%60 == 59 {
			tr.Input([]byte("\r"))
			_ = tr.Line()
			tr.Output([]byte("\r\n" + prompt))
		}
	}
}

func BenchmarkOutput(b *testing.B) {
	chunk := []byte(strings.Repeat("drwxr-xr-x  2 root root  4096 Jan  1 00:00 \x1b[01;34msome-directory\x1b[0m\r\n", 400))
	tr := NewLineTracker(120, 40)
	tr.Output([]byte(prompt))
	tr.Input([]byte("ls -l\r"))
	_ = tr.Line()
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		tr.Output(chunk)
	}
}

// BenchmarkOutputEditing is output arriving while a line is being edited
// (the emulator's full cost, on large chunks only the tail).
func BenchmarkOutputEditing(b *testing.B) {
	chunk := []byte(strings.Repeat("drwxr-xr-x  2 root root  4096 Jan  1 00:00 \x1b[01;34msome-directory\x1b[0m\r\n", 400))
	tr := NewLineTracker(120, 40)
	tr.Output([]byte(prompt))
	tr.Input([]byte("l"))
	b.SetBytes(int64(len(chunk)))
	for i := 0; i < b.N; i++ {
		tr.Output(chunk)
	}
}

func BenchmarkOutputSmallChunks(b *testing.B) {
	chunk := []byte(strings.Repeat("x", 70) + "\r\n")
	tr := NewLineTracker(120, 40)
	tr.Output([]byte(prompt))
	tr.Input([]byte("yes\r"))
	_ = tr.Line()
	b.SetBytes(int64(len(chunk)))
	for i := 0; i < b.N; i++ {
		tr.Output(chunk)
	}
}

// TestSubmissionUnechoed: input the screen does not show is judged as
// typed; at a prompt that asks for a secret, or that is not a shell's, it
// is marked Secret.
func TestSubmissionUnechoed(t *testing.T) {
	tests := []struct {
		prompt, keys string
		secret       bool
	}{
		{prompt, "reb\x7f\x7fboot", false},
		{"[sudo] password for alice: ", "reboot", true},
		{"Enter passphrase for key: ", "reboot", true},
		{"Verification code: ", "123456", true},
		{"➜  ~ ", "reboot", true},
		{"root@web1:~# ", "reboot", false},
	}
	for _, tt := range tests {
		tr := NewLineTracker(80, 24)
		tr.Output([]byte(tt.prompt))
		tr.Input([]byte(tt.keys)) // no echo
		segs := tr.Input([]byte("\r"))
		if len(segs) != 1 || segs[0].Kind != Submit {
			t.Fatalf("%q: segs %+v", tt.prompt, segs)
		}
		sub := tr.Submitted()
		want := cook(tt.keys)
		if !sub.Unechoed || sub.Secret != tt.secret || sub.Line != want || !slices.Contains(sub.Readings, want) {
			t.Errorf("%q: %+v, want Unechoed, Secret %v, Line %q", tt.prompt, sub, tt.secret, want)
		}
	}
	// Echoed input is not Unechoed, and a matching echo adds no reading.
	s := newSession(t, 80, 24)
	s.key("ls", "ls")
	s.tr.Input([]byte("\r"))
	if sub := s.tr.Submitted(); sub.Unechoed || len(sub.Readings) != 1 {
		t.Errorf("echoed: %+v", sub)
	}
	// A paste at a password prompt is Secret.
	tr := NewLineTracker(80, 24)
	tr.Output([]byte("Password: "))
	segs := tr.Input([]byte("\x1b[200~hunter2\n\x1b[201~"))
	if len(segs) != 1 || segs[0].Kind != Paste || !segs[0].Secret {
		t.Errorf("paste at a password prompt: %+v", segs)
	}
}

// TestProbeAndContinuation: a control key that may submit the line is a
// Probe; a line it submitted comes back as Ran; continuation lines are
// joined in Submitted.
func TestProbeAndContinuation(t *testing.T) {
	s := newSession(t, 80, 24)
	s.key("echo hi", "echo hi")
	segs := s.key("\x14", "")
	if len(segs) != 1 || segs[0].Kind != Probe {
		t.Fatalf("^T: %+v", segs)
	}
	if sub := s.tr.Peek(); sub.Line != "echo hi" {
		t.Fatalf("Peek = %+v", sub)
	}
	s.tr.Output([]byte("\r\nhi\r\n" + prompt)) // it was accept-line
	segs = s.key("t", "t")
	if len(segs) != 2 || segs[0].Kind != Ran || segs[0].Lines[0] != "echo hi" {
		t.Fatalf("after a submitting probe: %+v", segs)
	}
	s.key("ou\\", "ou\\")
	s.tr.Input([]byte("\r"))
	if sub := s.tr.Submitted(); !sub.Pending || sub.Line != `tou\` {
		t.Fatalf("continued line: %+v", sub)
	}
	s.tr.Output([]byte("\r\n> "))
	s.key("ch x", "ch x")
	s.tr.Input([]byte("\r"))
	sub := s.tr.Submitted()
	if sub.Pending || sub.Command != "tou\\\nch x" || !slices.Contains(sub.Readings, sub.Command) {
		t.Fatalf("joined: %+v", sub)
	}
	// ^A is a probe too, and a line that stays is not Ran.
	s.tr.Output([]byte("\r\n" + prompt))
	s.key("ls", "ls")
	s.key("\x01", "\b\b")
	if segs := s.key("x", "xls\b\b"); len(segs) != 1 || segs[0].Kind != Forward {
		t.Fatalf("after a probe that did not submit: %+v", segs)
	}
	s.tr.Input([]byte("\r"))
	if got := s.tr.Line(); got != "xls" {
		t.Fatalf("line after ^A = %q", got)
	}
}

// TestLongPaste: a bracketed paste too long to judge is refused whole,
// not judged in halves; without filters it is passed on.
func TestLongPaste(t *testing.T) {
	big := []byte(pasteStart + strings.Repeat("x", maxPaste) + "reb")
	rest := []byte("oot\n" + pasteEnd[:3])
	s := newSession(t, 80, 24)
	segs := s.tr.Input(big)
	if len(segs) != 1 || segs[0].Kind != Paste || !segs[0].TooLong || len(segs[0].Data) != 0 {
		t.Fatalf("long paste: %d segments, first %v", len(segs), segs[0].Kind)
	}
	if segs := s.tr.Input(rest); len(segs) != 0 {
		t.Fatalf("the rest of a refused paste was not skipped: %+v", segs)
	}
	segs = s.tr.Input([]byte(pasteEnd[3:] + "ls\r"))
	if len(segs) != 2 || segs[0].Kind != Forward || string(segs[0].Data) != "ls" || segs[1].Kind != Submit {
		t.Fatalf("after the refused paste: %+v", segs)
	}

	s = newSession(t, 80, 24)
	s.tr.Unfiltered()
	var sent []byte
	for _, in := range [][]byte{big, rest, []byte(pasteEnd[3:] + "ls")} {
		for _, seg := range s.tr.Input(in) {
			if seg.Kind != Forward {
				t.Fatalf("unfiltered long paste: %v segment", seg.Kind)
			}
			sent = append(sent, seg.Data...)
		}
	}
	if want := string(big) + string(rest) + pasteEnd[3:] + "ls"; string(sent) != want {
		t.Fatalf("unfiltered long paste: sent %d bytes, want %d", len(sent), len(want))
	}
}
