package tui

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"go.uber.org/goleak"

	"github.com/jms-bastion/jms/recorder"
)

// samplePlayer opens testdata/recordings/sample.cast: a prompt at 0.104 s,
// "ls" typed at 1.2–1.35 s, its output at 1.9 s ("docs  notes.txt
// résumé.pdf"), a resize to 100x30 at 2 s, a prompt at 2.001 s, a marker
// at 9.5 s and "exit" at 9.6 s.
func samplePlayer(t testing.TB) *recorder.Player {
	t.Helper()
	r, err := recorder.Open(filepath.Join("..", "testdata", "recordings", "sample.cast"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := recorder.NewPlayer(r)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// tickAt sends the tick of the current loop at wall time t.
func tickAt(t *testing.T, r Replay, at time.Time) (Replay, tea.Cmd) {
	t.Helper()
	next, cmd := r.Update(replayTickMsg{seq: r.seq, t: at})
	return next.(Replay), cmd
}

func screenText(r Replay) string { return r.Screen().Text() }

func TestReplayPlaysAtRealSpeed(t *testing.T) {
	r := NewReplay(samplePlayer(t), "")
	if r.Duration() != 9600*time.Millisecond {
		t.Fatalf("duration = %v", r.Duration())
	}
	if r.Init() == nil {
		t.Fatal("Init does not start the clock")
	}
	t0 := time.Unix(1700000000, 0)
	r, cmd := tickAt(t, r, t0)
	if cmd == nil || r.Position() != 0 {
		t.Fatalf("first tick: pos %v, cmd %v", r.Position(), cmd)
	}
	r, _ = tickAt(t, r, t0.Add(time.Second))
	if r.Position() != time.Second {
		t.Fatalf("pos = %v after 1 s", r.Position())
	}
	if s := screenText(r); !strings.Contains(s, "alice@web1:~$") || strings.Contains(s, "docs") {
		t.Errorf("screen at 1 s:\n%s", s)
	}
	r, _ = tickAt(t, r, t0.Add(2500*time.Millisecond))
	if s := screenText(r); !strings.Contains(s, "docs  notes.txt  résumé.pdf") {
		t.Errorf("screen at 2.5 s:\n%s", s)
	}
	v := plain(r)
	for _, s := range []string{"playing", "0:02 / 0:09", "1× alice@web1", "space pause"} {
		if !strings.Contains(v, s) {
			t.Errorf("view lacks %q:\n%s", s, v)
		}
	}
	// A tick of an old loop is dropped.
	next, _ := r.Update(replayTickMsg{seq: r.seq - 1, t: t0.Add(5 * time.Second)})
	if next.(Replay).Position() != r.Position() {
		t.Error("a stale tick moved the playback")
	}
	// Playing to the end stops there.
	r, cmd = tickAt(t, r, t0.Add(time.Minute))
	if cmd != nil || r.Position() != r.Duration() || !r.Paused() {
		t.Errorf("at the end: pos %v, paused %v, cmd %v", r.Position(), r.Paused(), cmd)
	}
	if v := plain(r); !strings.Contains(v, "ended") || !strings.Contains(v, "exit") {
		t.Errorf("end view:\n%s", v)
	}
}

func TestReplayPause(t *testing.T) {
	r := NewReplay(samplePlayer(t), "web1")
	t0 := time.Unix(1700000000, 0)
	r, _ = tickAt(t, r, t0)
	r, _ = tickAt(t, r, t0.Add(time.Second))
	r, cmd := press(t, r, "space")
	if !r.Paused() || cmd != nil {
		t.Fatalf("space: paused %v, cmd %v", r.Paused(), cmd)
	}
	if !strings.Contains(plain(r), "paused") {
		t.Error("status does not say paused")
	}
	r, _ = tickAt(t, r, t0.Add(5*time.Second))
	if r.Position() != time.Second {
		t.Errorf("paused playback moved to %v", r.Position())
	}
	r, cmd = press(t, r, "space")
	if r.Paused() || cmd == nil {
		t.Fatalf("space again: paused %v, cmd %v", r.Paused(), cmd)
	}
	// The clock restarts: the pause does not count.
	r, _ = tickAt(t, r, t0.Add(10*time.Second))
	r, _ = tickAt(t, r, t0.Add(10500*time.Millisecond))
	if r.Position() != 1500*time.Millisecond {
		t.Errorf("after resuming: pos %v, want 1.5s", r.Position())
	}
	// Space at the end plays again from the start.
	r, _ = press(t, r, "end")
	if !r.Paused() || r.Position() != r.Duration() {
		t.Fatalf("end: pos %v paused %v", r.Position(), r.Paused())
	}
	r, cmd = press(t, r, "space")
	if r.Paused() || r.Position() != 0 || cmd == nil {
		t.Errorf("space at the end: pos %v paused %v", r.Position(), r.Paused())
	}
}

func TestReplaySeek(t *testing.T) {
	r := NewReplay(samplePlayer(t), "")
	r, _ = press(t, r, "space") // pause: only the keys move
	tests := []struct {
		key  string
		want time.Duration
		see  string
		not  string
	}{
		{"right", 5 * time.Second, "docs", ""},
		{"right", 9600 * time.Millisecond, "exit", ""},
		{"left", 4600 * time.Millisecond, "docs", "exit"},
		{"left", 0, "", "docs"},
		{"left", 0, "", "alice"},
		{"l", 5 * time.Second, "docs", ""},
		{"h", 0, "", "docs"},
		{"end", 9600 * time.Millisecond, "exit", ""},
		{"home", 0, "", "alice"},
	}
	for i, tt := range tests {
		r, _ = press(t, r, tt.key)
		if r.Position() != tt.want {
			t.Fatalf("step %d (%s): pos %v, want %v", i, tt.key, r.Position(), tt.want)
		}
		s := screenText(r)
		if tt.see != "" && !strings.Contains(s, tt.see) {
			t.Errorf("step %d (%s): screen lacks %q:\n%s", i, tt.key, tt.see, s)
		}
		if tt.not != "" && strings.Contains(s, tt.not) {
			t.Errorf("step %d (%s): screen has %q:\n%s", i, tt.key, tt.not, s)
		}
		// The frame drawn incrementally equals a fresh one.
		if want := r.player.FrameAt(r.Position()).Text(); s != want {
			t.Errorf("step %d (%s): screen differs from FrameAt:\n%s\n---\n%s", i, tt.key, s, want)
		}
	}
}

func TestReplaySpeed(t *testing.T) {
	r := NewReplay(samplePlayer(t), "")
	want := []float64{2, 4, 8, 16, 16}
	for _, w := range want {
		r, _ = press(t, r, "+")
		if r.Speed() != w {
			t.Fatalf("+: speed %v, want %v", r.Speed(), w)
		}
	}
	if !strings.Contains(plain(r), "16×") {
		t.Error("speed not shown")
	}
	for _, w := range []float64{8, 4, 2, 1, 0.5, 0.25, 0.25} {
		r, _ = press(t, r, "-")
		if r.Speed() != w {
			t.Fatalf("-: speed %v, want %v", r.Speed(), w)
		}
	}
	if !strings.Contains(plain(r), "0.25×") {
		t.Error("0.25 not shown")
	}
	// At 2×, one second of wall time is two of the recording.
	r, _ = press(t, r, "+", "+", "+")
	t0 := time.Unix(1700000000, 0)
	r, _ = tickAt(t, r, t0)
	r, _ = tickAt(t, r, t0.Add(time.Second))
	if r.Speed() != 2 || r.Position() != 2*time.Second {
		t.Errorf("at %v×: pos %v", r.Speed(), r.Position())
	}

	// The player's speed is where it starts; the player is not changed.
	p := samplePlayer(t)
	p.Speed = 3
	r = NewReplay(p, "")
	if r.Speed() != 3 || p.Speed != 3 {
		t.Fatalf("speed %v, player %v", r.Speed(), p.Speed)
	}
	if r, _ = press(t, r, "+"); r.Speed() != 4 {
		t.Errorf("+ from 3: %v", r.Speed())
	}
}

func TestReplayIdleLimit(t *testing.T) {
	p := samplePlayer(t)
	p.IdleLimit = time.Second
	r := NewReplay(p, "")
	// The pauses of 1.096 s and 7.499 s are cut to 1 s.
	if want := 3005 * time.Millisecond; r.Duration() != want {
		t.Errorf("duration with idle limit = %v, want %v", r.Duration(), want)
	}
}

func TestReplayQuitAndResize(t *testing.T) {
	for _, k := range []string{"q", "ctrl+c", "esc"} {
		if _, cmd := press(t, NewReplay(samplePlayer(t), ""), k); !quits(cmd) {
			t.Errorf("%s does not quit", k)
		}
	}
	r := NewReplay(samplePlayer(t), "")
	for _, size := range [][2]int{{80, 24}, {40, 10}, {120, 40}, {10, 3}} {
		next, _ := r.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		r = next.(Replay)
		r, _ = press(t, r, "end")
		lines := strings.Split(r.View().Content, "\n")
		if len(lines) != size[1] {
			t.Errorf("%v: %d lines", size, len(lines))
		}
		for _, l := range lines {
			if w := ansi.StringWidth(l); w > size[0] {
				t.Errorf("%v: line of %d cells", size, w)
			}
		}
	}
}

func TestRunReplay(t *testing.T) {
	defer goleak.VerifyNone(t)
	in, inw := io.Pipe()
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- RunReplay(context.Background(), samplePlayer(t), 0, in, &out) }()
	time.Sleep(300 * time.Millisecond)
	if _, err := inw.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("RunReplay: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunReplay did not end on q")
	}
	inw.Close()
	if !strings.Contains(out.String(), "alice@web1") {
		t.Errorf("output lacks the recording:\n%q", out.String())
	}

	// A cancelled context ends it too.
	in2, inw2 := io.Pipe()
	defer inw2.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- RunReplay(ctx, samplePlayer(t), 0, in2, io.Discard) }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("RunReplay after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunReplay did not end on cancel")
	}
}

// TestReplayStartAtSeeksBack: --at starts the player at a time into the
// recording with the screen as it was, and ← goes back before it (the
// player used to get a copy of the recording with everything before --at
// squashed into its first frame).
func TestReplayStartAtSeeksBack(t *testing.T) {
	r := NewReplay(samplePlayer(t), "").StartAt(9 * time.Second)
	if r.RecordingPosition() != 9*time.Second || !strings.Contains(screenText(r), "notes.txt") {
		t.Fatalf("StartAt(9s): at %v, screen %q", r.RecordingPosition(), screenText(r))
	}
	r, _ = press(t, r, "left")
	if r.RecordingPosition() != 4*time.Second {
		t.Errorf("← after StartAt(9s): at %v, want 4s", r.RecordingPosition())
	}
	r, _ = press(t, r, "left")
	if r.RecordingPosition() != 0 || strings.Contains(screenText(r), "notes.txt") {
		t.Errorf("← ←: at %v, screen %q; want the start, before ls", r.RecordingPosition(), screenText(r))
	}
	if got := r.StartAt(time.Hour).RecordingPosition(); got != r.Duration() {
		t.Errorf("StartAt past the end: at %v, want the end %v", got, r.Duration())
	}
}

// TestReplayIdleCutShowsRecordingClock: with pauses cut by the idle limit,
// the player says so, and its times stay on the recording's clock (the
// clock of the audit's offsets), with the wall-clock time of the moment.
func TestReplayIdleCutShowsRecordingClock(t *testing.T) {
	p := samplePlayer(t)
	p.IdleLimit = 2 * time.Second // the 7.5 s pause from 2.001 s to 9.5 s
	r := NewReplay(p, "web1")
	r, _ = press(t, r, "end")
	if r.Position() >= 5*time.Second || r.RecordingPosition() != 9600*time.Millisecond {
		t.Fatalf("end: playback %v, recording %v; want under 5s and 9.6s", r.Position(), r.RecordingPosition())
	}
	status := ansi.Strip(r.statusLine())
	wall := time.Unix(1700000000, 0).Add(9600 * time.Millisecond).Local().Format("15:04:05")
	for _, want := range []string{"0:09 / 0:09", wall, "idle >2s cut"} {
		if !strings.Contains(status, want) {
			t.Errorf("status %q: no %q", status, want)
		}
	}
	// Inside the cut pause the player says which pause it skips.
	r = r.StartAt(0)
	r.seek(3 * time.Second)
	if status := ansi.Strip(r.statusLine()); !strings.Contains(status, "skipping 7.5s idle") {
		t.Errorf("inside the cut: status %q", status)
	}
	// An offset from the audit (recording clock) lands where it should.
	if r = r.StartAt(9500 * time.Millisecond); r.RecordingPosition() != 9500*time.Millisecond {
		t.Errorf("StartAt(9.5s) with cuts: at %v", r.RecordingPosition())
	}
	// Without cuts, no note.
	if status := ansi.Strip(NewReplay(samplePlayer(t), "").statusLine()); strings.Contains(status, "idle") {
		t.Errorf("no idle limit: status %q", status)
	}
}
