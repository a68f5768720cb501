package recorder

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// fakeTime is a clock whose Sleep advances Now and records each sleep.
type fakeTime struct {
	now    time.Time
	sleeps []time.Duration
	// cancelAfter calls cancel when that many sleeps happened.
	cancelAfter int
	cancel      func()
}

func (f *fakeTime) Now() time.Time { return f.now }

func (f *fakeTime) Sleep(ctx context.Context, d time.Duration) error {
	f.sleeps = append(f.sleeps, d)
	f.now = f.now.Add(d)
	if f.cancel != nil && len(f.sleeps) == f.cancelAfter {
		f.cancel()
	}
	return ctx.Err()
}

func (f *fakeTime) total() (d time.Duration) {
	for _, s := range f.sleeps {
		d += s
	}
	return d
}

var playEvents = []Event{
	{0.5, "o", "a"},
	{1.0, "o", "b"},
	{1.0, "o", "c"},
	{1.2, "r", "90x30"},
	{11.0, "o", "d"}, // a 9.8 s pause
	{11.5, "o", "e"},
}

func TestTimeline(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name  string
		speed float64
		idle  time.Duration
		want  []time.Duration
	}{
		{"real speed", 1, 0, []time.Duration{500 * ms, 1000 * ms, 1000 * ms, 1200 * ms, 11000 * ms, 11500 * ms}},
		{"zero speed means 1", 0, 0, []time.Duration{500 * ms, 1000 * ms, 1000 * ms, 1200 * ms, 11000 * ms, 11500 * ms}},
		{"twice as fast", 2, 0, []time.Duration{250 * ms, 500 * ms, 500 * ms, 600 * ms, 5500 * ms, 5750 * ms}},
		{"idle limit 2s", 1, 2 * time.Second, []time.Duration{500 * ms, 1000 * ms, 1000 * ms, 1200 * ms, 3200 * ms, 3700 * ms}},
		{"idle limit and speed", 2, 2 * time.Second, []time.Duration{250 * ms, 500 * ms, 500 * ms, 600 * ms, 1600 * ms, 1850 * ms}},
		{"tight idle limit", 1, 100 * ms, []time.Duration{100 * ms, 200 * ms, 200 * ms, 300 * ms, 400 * ms, 500 * ms}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Timeline(playEvents, tt.speed, tt.idle)
			for i := range got {
				if d := got[i] - tt.want[i]; d < -time.Microsecond || d > time.Microsecond {
					t.Fatalf("timeline %v, want %v", got, tt.want)
				}
			}
		})
	}
	if tl := Timeline([]Event{{2, "o", "x"}, {1, "o", "y"}, {3, "o", "z"}}, 1, 0); tl[1] != tl[0] || tl[2] != 3*time.Second {
		t.Errorf("times going back: %v", tl)
	}
}

func TestPlay(t *testing.T) {
	tests := []struct {
		name      string
		speed     float64
		idle      time.Duration
		wantTotal time.Duration
	}{
		{"real speed", 1, 0, 11500 * time.Millisecond},
		{"2x halves", 2, 0, 5750 * time.Millisecond},
		{"idle limit caps", 1, time.Second, 2700 * time.Millisecond},
		{"half speed", 0.5, 0, 23 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ft := &fakeTime{now: time.Unix(1, 0)}
			p := &Player{Header: Header{Width: 80, Height: 24}, Events: playEvents, Speed: tt.speed, IdleLimit: tt.idle, Now: ft.Now, Sleep: ft.Sleep}
			var out bytes.Buffer
			if err := p.Play(context.Background(), &out); err != nil {
				t.Fatal(err)
			}
			if out.String() != "abcde" {
				t.Errorf("played %q", out.String())
			}
			if d := ft.total() - tt.wantTotal; d < -time.Microsecond || d > time.Microsecond {
				t.Errorf("slept %v in total (%v), want %v", ft.total(), ft.sleeps, tt.wantTotal)
			}
			if p.Duration() != Timeline(playEvents, tt.speed, tt.idle)[5] {
				t.Errorf("Duration = %v", p.Duration())
			}
			// "c" is due with "b": no sleep between them, and never a
			// negative or zero sleep.
			for _, s := range ft.sleeps {
				if s <= 0 {
					t.Errorf("sleep of %v", s)
				}
			}
			if len(ft.sleeps) != 4 {
				t.Errorf("%d sleeps, want 4: %v", len(ft.sleeps), ft.sleeps)
			}
		})
	}
}

func TestPlayFromAndCancel(t *testing.T) {
	ft := &fakeTime{now: time.Unix(1, 0)}
	p := &Player{Events: playEvents, Speed: 1, Now: ft.Now, Sleep: ft.Sleep}
	var out bytes.Buffer
	if err := p.PlayFrom(context.Background(), &out, 1000*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if out.String() != "de" || ft.total() != 10500*time.Millisecond {
		t.Errorf("PlayFrom 1s: %q after %v", out.String(), ft.total())
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ft = &fakeTime{now: time.Unix(1, 0), cancelAfter: 2, cancel: cancel}
	p.Now, p.Sleep = ft.Now, ft.Sleep
	out.Reset()
	if err := p.Play(ctx, &out); !errors.Is(err, context.Canceled) {
		t.Errorf("Play = %v, want context.Canceled", err)
	}
	if out.String() != "a" {
		t.Errorf("played %q before the cancel", out.String())
	}
}

func TestPlayRealClock(t *testing.T) {
	p := &Player{Events: []Event{{0.01, "o", "x"}, {0.03, "o", "y"}}, Speed: 1}
	var out bytes.Buffer
	start := time.Now()
	if err := p.Play(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 30*time.Millisecond || out.String() != "xy" {
		t.Errorf("played %q in %v", out.String(), el)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	p.Events = []Event{{10, "o", "late"}}
	if err := p.Play(ctx, &out); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Play = %v", err)
	}
}

func TestNewPlayerAndFrameAt(t *testing.T) {
	cast := `{"version": 2, "width": 20, "height": 3, "idle_time_limit": 1.5}
[0.5, "o", "one\r\n"]
[1.0, "o", "two\r\n"]
[9.0, "o", "\u001b[2J\u001b[Hclear"]
`
	r, err := NewReader(strings.NewReader(cast))
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlayer(r)
	if err != nil {
		t.Fatal(err)
	}
	if p.IdleLimit != 1500*time.Millisecond || p.Duration() != 2500*time.Millisecond {
		t.Errorf("IdleLimit %v, Duration %v", p.IdleLimit, p.Duration())
	}
	tests := []struct {
		at   time.Duration
		want string
	}{
		{0, ""},
		{499 * time.Millisecond, ""},
		{500 * time.Millisecond, "one\n"},
		{2 * time.Second, "one\ntwo\n"},
		{2500 * time.Millisecond, "clear\n"},
		{time.Hour, "clear\n"},
	}
	for _, tt := range tests {
		if got := p.FrameAt(tt.at).Text(); got != tt.want {
			t.Errorf("FrameAt(%v) = %q, want %q", tt.at, got, tt.want)
		}
	}
	if n := IndexAt(p.Timeline(), time.Second); n != 2 {
		t.Errorf("IndexAt(1s) = %d", n)
	}
}

func TestRecordingAndPlaybackTime(t *testing.T) {
	// Events at 1 s, 2 s, 62 s (a minute idle), 63 s; the idle limit cuts
	// the minute to 2 s.
	evs := []Event{{Time: 1, Type: TypeOutput}, {Time: 2, Type: TypeOutput}, {Time: 62, Type: TypeOutput}, {Time: 63, Type: TypeOutput}}
	rt := RecordingTimes(evs)
	tl := Timeline(evs, 1, 2*time.Second)
	s := time.Second
	tests := []struct{ play, rec time.Duration }{
		{0, 0},
		{s / 2, s / 2},
		{s, s},
		{2 * s, 2 * s},
		{3 * s, 3 * s},   // one second into the cut pause
		{4 * s, 62 * s},  // the end of the cut pause: the next event
		{5 * s, 63 * s},  // the end
		{10 * s, 63 * s}, // past the end
	}
	for _, tt := range tests {
		if got := RecordingTime(rt, tl, tt.play); got != tt.rec {
			t.Errorf("RecordingTime(%v) = %v, want %v", tt.play, got, tt.rec)
		}
	}
	back := []struct{ rec, play time.Duration }{
		{0, 0}, {s, s}, {2 * s, 2 * s}, {3 * s, 3 * s},
		{30 * s, 4 * s}, // inside the cut: where the pause ends in playback
		{62 * s, 4 * s}, {63 * s, 5 * s}, {100 * s, 5 * s},
	}
	for _, tt := range back {
		if got := PlaybackTime(rt, tl, tt.rec); got != tt.play {
			t.Errorf("PlaybackTime(%v) = %v, want %v", tt.rec, got, tt.play)
		}
	}
	if got := IdleCut(rt, tl, 2); got != 58*s {
		t.Errorf("IdleCut before event 2 = %v, want 58s", got)
	}
	for _, i := range []int{-1, 0, 1, 3, 4} {
		if got := IdleCut(rt, tl, i); got != 0 {
			t.Errorf("IdleCut(%d) = %v, want 0", i, got)
		}
	}
	// Out-of-order stamps do not make the clock go back.
	if rt := RecordingTimes([]Event{{Time: 5}, {Time: 3}, {Time: 6}}); rt[1] != 5*s || rt[2] != 6*s {
		t.Errorf("RecordingTimes out of order = %v", rt)
	}
}
