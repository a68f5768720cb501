package recorder

import (
	"context"
	"fmt"
	"io"
	"sort"
	"time"
)

// Timeline returns when each event is due in a playback at the given speed
// (≤ 0 means 1) where pauses longer than idle (0 means no limit) are cut to
// idle. Times are measured from the start of the playback.
func Timeline(events []Event, speed float64, idle time.Duration) []time.Duration {
	if speed <= 0 {
		speed = 1
	}
	tl := make([]time.Duration, len(events))
	var cum, prev float64
	limit := idle.Seconds()
	for i, ev := range events {
		gap := ev.Time - prev
		if gap < 0 {
			gap = 0
		} else {
			prev = ev.Time
		}
		if idle > 0 && gap > limit {
			gap = limit
		}
		cum += gap
		tl[i] = time.Duration(cum / speed * float64(time.Second))
	}
	return tl
}

// Player plays a recording's output at its original pace. Set its fields
// before calling its methods; they must not change during a Play.
type Player struct {
	Header Header
	Events []Event
	// Speed multiplies the pace; ≤ 0 means 1.
	Speed float64
	// IdleLimit cuts longer pauses to this length; 0 means no limit.
	IdleLimit time.Duration
	// Now and Sleep are the clock; nil means the real one. Tests inject fakes.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// NewPlayer reads all events of r into a Player. The idle limit starts as
// the header's idle_time_limit.
func NewPlayer(r *Reader) (*Player, error) {
	evs, err := r.ReadAll()
	if err != nil {
		return nil, err
	}
	p := &Player{Header: r.Header, Events: evs, Speed: 1}
	if r.Header.IdleTimeLimit > 0 {
		p.IdleLimit = time.Duration(r.Header.IdleTimeLimit * float64(time.Second))
	}
	return p, nil
}

// Timeline returns the due time of each event at the player's speed and
// idle limit.
func (p *Player) Timeline() []time.Duration {
	return Timeline(p.Events, p.Speed, p.IdleLimit)
}

// Duration returns the length of the playback.
func (p *Player) Duration() time.Duration {
	tl := p.Timeline()
	if len(tl) == 0 {
		return 0
	}
	return tl[len(tl)-1]
}

// IndexAt returns how many events are due at or before d in timeline tl.
func IndexAt(tl []time.Duration, d time.Duration) int {
	return sort.Search(len(tl), func(i int) bool { return tl[i] > d })
}

// FrameAt returns the screen as it was at playback time d: all events due
// at or before d applied to a fresh emulator of the header's size. A replay
// UI seeks by drawing this frame and playing on with PlayFrom.
func (p *Player) FrameAt(d time.Duration) *Screen {
	s := NewScreen(p.Header.Width, p.Header.Height)
	n := IndexAt(p.Timeline(), d)
	for _, ev := range p.Events[:n] {
		s.Apply(ev)
	}
	return s
}

// Play writes the output events to w at their pace until the end or until
// ctx is done.
func (p *Player) Play(ctx context.Context, w io.Writer) error {
	return p.PlayFrom(ctx, w, 0)
}

// PlayFrom plays the output events due after playback time from, pacing
// them from now on. It does not write what was due before from (see
// FrameAt).
func (p *Player) PlayFrom(ctx context.Context, w io.Writer, from time.Duration) error {
	now, sleep := p.Now, p.Sleep
	if now == nil {
		now = time.Now
	}
	if sleep == nil {
		sleep = sleepContext
	}
	tl := p.Timeline()
	start := now()
	for i := IndexAt(tl, from); i < len(p.Events); i++ {
		ev := p.Events[i]
		if ev.Type != TypeOutput {
			continue
		}
		if wait := tl[i] - from - now().Sub(start); wait > 0 {
			if err := sleep(ctx, wait); err != nil {
				return err
			}
		} else if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := io.WriteString(w, ev.Data); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
	}
	return nil
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RecordingTimes returns when each event happened in the recording, on
// its own clock (seconds since the start, as the audit's offsets count
// them), never going back: an event stamped before the one preceding it
// counts as at the same time, as Timeline plays it.
func RecordingTimes(events []Event) []time.Duration {
	rt := make([]time.Duration, len(events))
	var prev float64
	for i, ev := range events {
		prev = max(prev, ev.Time)
		rt[i] = time.Duration(prev * float64(time.Second))
	}
	return rt
}

// RecordingTime returns the time into the recording of playback time d,
// for recording times rt and their timeline tl at speed 1: the same
// except for the pauses the idle limit cut, where playback moves on to
// the next event and the recording's clock jumps with it.
func RecordingTime(rt, tl []time.Duration, d time.Duration) time.Duration {
	n := IndexAt(tl, d)
	var baseRec, basePlay time.Duration
	if n > 0 {
		baseRec, basePlay = rt[n-1], tl[n-1]
	}
	if n == len(rt) && n > 0 {
		return baseRec // the end
	}
	t := baseRec + max(0, d-basePlay)
	if n < len(rt) {
		t = min(t, rt[n])
	}
	return t
}

// PlaybackTime is the inverse of RecordingTime: the playback time of
// time t into the recording. A moment inside a cut pause maps to the
// end of what is left of that pause.
func PlaybackTime(rt, tl []time.Duration, t time.Duration) time.Duration {
	n := sort.Search(len(rt), func(i int) bool { return rt[i] > t })
	var baseRec, basePlay time.Duration
	if n > 0 {
		baseRec, basePlay = rt[n-1], tl[n-1]
	}
	d := basePlay + max(0, t-baseRec)
	if n < len(tl) {
		d = min(d, tl[n])
	} else if n > 0 {
		d = basePlay
	}
	return d
}

// IdleCut returns how long a pause the idle limit cut just before event
// i (0 when it was not cut), for recording times rt and their timeline
// tl at speed 1.
func IdleCut(rt, tl []time.Duration, i int) time.Duration {
	if i < 0 || i >= len(rt) {
		return 0
	}
	var rec, play time.Duration
	if i > 0 {
		rec, play = rt[i]-rt[i-1], tl[i]-tl[i-1]
	} else {
		rec, play = rt[0], tl[0]
	}
	return max(0, rec-play)
}
