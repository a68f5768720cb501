package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/jms-bastion/jms/printable"
	"github.com/jms-bastion/jms/recorder"
)

// speeds are the steps of + and -.
var speeds = []float64{0.25, 0.5, 1, 2, 4, 8, 16}

// seekStep is how far left and right jump.
const seekStep = 5 * time.Second

// Tick bounds: the status line moves at least every maxTick while
// playing; output due sooner is drawn on time, but never more often than
// minTick.
const (
	minTick = 15 * time.Millisecond
	maxTick = 100 * time.Millisecond
)

// Replay is the recording player: it draws the screen of a recording as
// it was at the playback position, which moves at real speed times the
// chosen speed, and lets the viewer pause, seek and change the speed.
type Replay struct {
	player *recorder.Player // a copy at speed 1
	title  string
	tl     []time.Duration // playback time of each event, pauses cut
	rt     []time.Duration // recording time of each event (audit offsets)
	total  time.Duration
	start  time.Time // the recording's wall clock at its start; zero if unknown
	cuts   bool      // the idle limit cuts some pause

	pos   time.Duration
	idx   int // events applied to scr
	scr   *recorder.Screen
	speed float64

	paused bool // by the viewer
	ended  bool // reached the end; waits for a seek, space or q
	seq    int  // generation of the tick loop; stale ticks are dropped
	last   time.Time

	width, height int
	styles        Styles
	keys          KeyMap
	help          help.Model
}

// replayTickMsg advances the playback; t is the wall clock.
type replayTickMsg struct {
	seq int
	t   time.Time
}

// NewReplay returns a player for p. The speed starts at p.Speed and pauses
// are cut to p.IdleLimit; p itself is not changed. title is shown in the
// status line (the recording's title when empty).
func NewReplay(p *recorder.Player, title string) Replay {
	cp := *p
	cp.Speed = 1
	speed := p.Speed
	if speed <= 0 {
		speed = 1
	}
	if title == "" {
		title = p.Header.Title
	}
	title = printable.Escape(title) // it goes into the window title too
	r := Replay{
		player: &cp,
		title:  title,
		tl:     cp.Timeline(),
		total:  cp.Duration(),
		speed:  min(max(speed, speeds[0]), speeds[len(speeds)-1]),
		styles: DefaultStyles(),
		keys:   DefaultKeyMap(),
		width:  max(p.Header.Width, 20),
		height: max(p.Header.Height, 1) + 2,
	}
	if p.Header.Width == 0 {
		r.width = recorder.DefaultWidth
	}
	r.rt = recorder.RecordingTimes(cp.Events)
	for i := range r.rt {
		r.cuts = r.cuts || recorder.IdleCut(r.rt, r.tl, i) > 0
	}
	if p.Header.Timestamp > 0 {
		r.start = time.Unix(p.Header.Timestamp, 0)
	}
	r.scr = cp.FrameAt(0)
	r.idx = recorder.IndexAt(r.tl, 0)
	r.help = help.New()
	r.help.Styles = r.styles.Help
	r.help.ShortSeparator = " · "
	return r
}

// Position returns the playback position: time into the playback at
// speed 1, pauses cut to the idle limit.
func (r Replay) Position() time.Duration { return r.pos }

// RecordingPosition returns the playback position on the recording's own
// clock, as the audit counts offsets ('jmsctl audit commands'): pauses
// the idle limit cut count in full.
func (r Replay) RecordingPosition() time.Duration {
	return recorder.RecordingTime(r.rt, r.tl, r.pos)
}

// StartAt returns the player moved to time t into the recording (on the
// recording's clock, as --at and the audit's offsets give it), with the
// screen as it was then. Seeking back before t still works.
func (r Replay) StartAt(t time.Duration) Replay {
	r.seek(recorder.PlaybackTime(r.rt, r.tl, t))
	return r
}

// Duration returns the length of the playback at speed 1.
func (r Replay) Duration() time.Duration { return r.total }

// Speed returns the current speed.
func (r Replay) Speed() float64 { return r.speed }

// Paused reports whether the playback is paused (by the viewer or because
// it reached the end).
func (r Replay) Paused() bool { return r.paused || r.ended }

// Screen returns the screen at the playback position.
func (r Replay) Screen() *recorder.Screen { return r.scr }

// Init implements tea.Model: it starts the clock.
func (r Replay) Init() tea.Cmd {
	return r.tick()
}

// tick schedules the next step of the current tick loop.
func (r Replay) tick() tea.Cmd {
	d := maxTick
	if r.idx < len(r.tl) {
		d = min(d, time.Duration(float64(r.tl[r.idx]-r.pos)/r.speed))
	}
	d = max(d, minTick)
	seq := r.seq
	return tea.Tick(d, func(t time.Time) tea.Msg { return replayTickMsg{seq: seq, t: t} })
}

// restart begins a new tick loop (after a pause), dropping the old one.
func (r *Replay) restart() tea.Cmd {
	r.seq++
	r.last = time.Time{}
	return r.tick()
}

// seek moves the playback to pos and redraws the screen.
func (r *Replay) seek(pos time.Duration) {
	pos = max(0, min(pos, r.total))
	n := recorder.IndexAt(r.tl, pos)
	if n < r.idx {
		r.scr = r.player.FrameAt(pos)
	} else {
		for ; r.idx < n; r.idx++ {
			r.scr.Apply(r.player.Events[r.idx])
		}
	}
	r.pos, r.idx = pos, n
	r.ended = pos >= r.total
}

// Update implements tea.Model.
func (r Replay) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		r.width, r.height = msg.Width, msg.Height
	case replayTickMsg:
		if msg.seq != r.seq || r.paused || r.ended {
			return r, nil
		}
		if !r.last.IsZero() {
			r.seek(r.pos + time.Duration(float64(msg.t.Sub(r.last))*r.speed))
		}
		r.last = msg.t
		if r.ended {
			return r, nil
		}
		return r, r.tick()
	case tea.KeyPressMsg:
		wasPlaying := !r.paused && !r.ended
		switch {
		case key.Matches(msg, r.keys.ForceQuit), msg.String() == "q", msg.String() == "esc":
			return r, tea.Quit
		case key.Matches(msg, r.keys.Pause):
			switch {
			case r.ended:
				r.seek(0)
				r.paused = false
			default:
				r.paused = !r.paused
			}
		case key.Matches(msg, r.keys.Back):
			r.seek(r.pos - seekStep)
		case key.Matches(msg, r.keys.Forward):
			r.seek(r.pos + seekStep)
		case key.Matches(msg, r.keys.Beginning):
			r.seek(0)
		case key.Matches(msg, r.keys.Ending):
			r.seek(r.total)
		case key.Matches(msg, r.keys.Faster):
			for _, s := range speeds {
				if s > r.speed {
					r.speed = s
					break
				}
			}
		case key.Matches(msg, r.keys.Slower):
			for i := len(speeds) - 1; i >= 0; i-- {
				if speeds[i] < r.speed {
					r.speed = speeds[i]
					break
				}
			}
		default:
			return r, nil
		}
		// Any change restarts the clock so that the next tick is timed
		// from now, at the new speed and position.
		if !r.paused && !r.ended {
			return r, r.restart()
		}
		if wasPlaying {
			r.seq++ // stop the running loop
		}
	}
	return r, nil
}

// View implements tea.Model.
func (r Replay) View() tea.View {
	h := max(1, r.height-2)
	frame := strings.Split(r.scr.Render(), "\n")
	lines := make([]string, 0, r.height)
	for i := 0; i < h; i++ {
		if i < len(frame) {
			lines = append(lines, frame[i]+"\x1b[m")
		} else {
			lines = append(lines, "")
		}
	}
	lines = append(lines, r.statusLine())
	hm := r.help
	hm.SetWidth(r.width)
	lines = append(lines, hm.ShortHelpView([]key.Binding{r.keys.Pause,
		key.NewBinding(key.WithKeys("left", "right"), key.WithHelp("←→", "∓5s")),
		key.NewBinding(key.WithKeys("+", "-"), key.WithHelp("+/-", "speed")),
		key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
	}))
	v := tea.NewView(screen(lines, r.width, r.height))
	v.AltScreen = true
	v.WindowTitle = "jms replay: " + r.title
	return v
}

// statusLine shows state, time, progress bar, speed and title.
func (r Replay) statusLine() string {
	st := "playing"
	switch {
	case r.ended:
		st = "ended"
	case r.paused:
		st = "paused"
	}
	at := r.RecordingPosition()
	left := fmt.Sprintf(" %-7s %s / %s ", st, fmtClock(at), fmtClock(recorder.RecordingTime(r.rt, r.tl, r.total)))
	if !r.start.IsZero() {
		left += r.start.Add(at).Local().Format("15:04:05") + " "
	}
	right := fmt.Sprintf(" %s× %s ", fmtSpeed(r.speed), r.title)
	if idle := r.idleNote(); idle != "" {
		right = " " + idle + " ·" + right
	}
	barW := r.width - width(left) - width(right)
	if barW < 5 {
		return r.styles.Status.Render(fit(left+right, r.width))
	}
	done := barW
	if r.total > 0 {
		done = int(int64(barW) * int64(r.pos) / int64(r.total))
	}
	bar := r.styles.Progress.Render(strings.Repeat("━", done)) + r.styles.ProgressEmpty.Render(strings.Repeat("─", barW-done))
	return r.styles.Status.Render(left) + bar + r.styles.Status.Render(fit(right, r.width-width(left)-barW))
}

// idleNote says how the idle limit changes the playback: which pause it
// is skipping now, or that pauses are cut at all. Times shown stay on the
// recording's clock either way.
func (r Replay) idleNote() string {
	if !r.cuts {
		return ""
	}
	n := recorder.IndexAt(r.tl, r.pos)
	if cut := recorder.IdleCut(r.rt, r.tl, n); cut > 0 && n > 0 && r.pos > r.tl[n-1] {
		return "skipping " + fmtIdle(cut+r.tl[n]-r.tl[n-1]) + " idle"
	}
	return "idle >" + fmtIdle(r.player.IdleLimit) + " cut"
}

// fmtIdle writes a pause briefly: 2s, 1.5s, 3m20s.
func fmtIdle(d time.Duration) string {
	if d >= time.Minute {
		d = d.Round(time.Second)
	} else {
		d = d.Round(100 * time.Millisecond)
	}
	return d.String()
}

// fmtClock writes d as m:ss, or h:mm:ss from an hour on.
func fmtClock(d time.Duration) string {
	s := int(d / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

func fmtSpeed(s float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", s), "0"), ".")
}

// RunReplay plays p in a terminal from at, a time into the recording: it
// reads keys from in and draws on out until the viewer quits or ctx ends. The terminal's size and colour
// profile are taken from out and the process environment.
func RunReplay(ctx context.Context, p *recorder.Player, at time.Duration, in io.Reader, out io.Writer) error {
	prog := tea.NewProgram(NewReplay(p, "").StartAt(at),
		tea.WithContext(ctx),
		tea.WithInput(in),
		tea.WithOutput(out),
	)
	if _, err := prog.Run(); err != nil {
		if ctx.Err() != nil && errors.Is(err, tea.ErrProgramKilled) {
			return ctx.Err()
		}
		return fmt.Errorf("replay: %w", err)
	}
	return nil
}
