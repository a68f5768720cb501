package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/recorder"
	"github.com/jms-bastion/jms/store"
)

func newReplayCmd(a *app) *cobra.Command {
	var (
		cat       bool
		text      bool
		scr       bool
		plain     bool
		raw       bool
		stream    string
		speed     float64
		idleLimit string
		atFlag    string
	)
	cmd := &cobra.Command{
		Use:   "replay ID|FILE.cast",
		Short: "Play a session's recording in the terminal",
		Long: `replay plays the recording of a session (its ID or a unique prefix of at
least 4 characters) at its original pace, or the recording file given by
path. In a terminal it plays in a player: space pauses, ← → seek 5 s, + -
change the speed, q quits, and a status line shows time and progress; with
stdin or stdout not a terminal (or --plain) it writes the output at its pace.
--cat prints all its output at once instead, as 'asciinema cat' does.
What reaches your terminal is only what draws (text, colours, cursor
moves): queries, titles, clipboard and mouse sequences from the asset are
dropped, so a recording cannot make your terminal type into your shell.
--raw writes the recorded bytes exactly, and only to a file or a pipe.
A session without a PTY (an exec command such as 'ssh bastion web1 tar c
/data') keeps the bytes of its stdin, stdout and stderr apart and exactly,
binary or not: --raw writes its stdout (--stream stderr or stdin for the
others; stdin is there when record_input is on) and checks the file against
the hash sealed in the recording at the session's end; the other ways
show its stdout and stderr as text.
--text prints the whole session as plain text, line by line, through a
terminal emulator, for grep and less: every line as it scrolled off the
screen or was cleared, then the last screen (what full-screen programs such
as vim drew is not in it). --screen prints only the final screen.
--at starts at a time into the recording (90, 1m30s or 1:30), such as the
OFFSET of a command in 'jmsctl audit commands': playing draws the screen as
it was then and plays on (← still goes back before it), and its status line
shows the wall-clock time of the moment being played; with --cat only the
output from then is printed, with --text the lines from the screen then on,
with --screen the screen at that time, and stderr says what time it was.
Times are on the recording's clock, as OFFSET in 'jmsctl audit commands':
when --idle-limit (or the recording) cuts long pauses, the player says so
and its clock jumps over them.
Recordings are asciicast v2 files: 'asciinema play' takes them too.`,
		Example: `  jmsctl replay 3f2a
  jmsctl replay 3f2a --speed 2 --idle-limit 1
  jmsctl replay 3f2a --at 1m30s
  jmsctl replay 3f2a --cat | less -R
  jmsctl replay 3f2a --text | grep -i error
  jmsctl replay 3f2a --screen --at 1m30s
  jmsctl replay 3f2a --cat --at 95.5
  jmsctl replay 9c1e --raw > backup.tar
  jmsctl replay 9c1e --raw --stream stderr > errors.log`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			idle, err := parseIdleLimit(idleLimit)
			if err != nil {
				return err
			}
			if speed <= 0 {
				return fmt.Errorf("--speed %v: want a positive factor", speed)
			}
			at, err := parseAt(atFlag)
			if err != nil {
				return err
			}
			path, done, err := a.recordingPath(cmd, args[0])
			if err != nil {
				return err
			}
			defer done()
			if raw && hasRaw(path) && !cat && !text && !scr {
				// A session without a PTY: its bytes, exactly.
				st, err := recorder.ParseStream(stream)
				if err != nil {
					return fmt.Errorf("--stream: %w", err)
				}
				if at > 0 {
					return errors.New("--at: --raw writes a stream's bytes from the start (use --cat --at for the output from a time on)")
				}
				if isTerminal(a.stdout) {
					return errors.New("--raw writes the recorded bytes as they are: send them to a file or a pipe, not a terminal")
				}
				return a.replayRaw(path, st)
			}
			if cmd.Flags().Changed("stream") {
				if !raw || !hasRaw(path) {
					return errors.New("--stream: only with --raw, for a session without a PTY (exec commands): its streams are recorded apart")
				}
				return errors.New("--stream: not with --cat, --text or --screen, which show stdout and stderr together")
			}
			r, err := recorder.Open(path)
			if err != nil {
				return err
			}
			if n := countTrue(cat, text, scr); n > 1 {
				return errors.New("--cat, --text and --screen: choose one")
			}
			out := io.Writer(recorder.NewTerminalFilter(a.stdout))
			if raw {
				if isTerminal(a.stdout) {
					return errors.New("--raw writes the recorded bytes as they are: send them to a file or a pipe, not a terminal")
				}
				out = a.stdout
			}
			if cat && at == 0 {
				return recorder.Cat(out, r)
			}
			interactive := !cat && !text && !scr && !plain && isTerminal(a.stdin) && isTerminal(a.stdout)
			if at > 0 && r.Header.Timestamp > 0 && !interactive {
				// The player shows the clock in its status line; the other
				// ways tell it on stderr, apart from the output.
				fmt.Fprintf(a.stderr, "replay: %v into the session is %s\n", at, fmtTime(time.Unix(r.Header.Timestamp, 0).Add(at)))
			}
			if text {
				return recorder.Transcript(a.stdout, r, at.Seconds())
			}
			if scr && at == 0 {
				out, err := recorder.ScreenText(r, 0, 0)
				if err != nil {
					return err
				}
				_, err = io.WriteString(a.stdout, out)
				return err
			}
			p, err := recorder.NewPlayer(r)
			if err != nil {
				return err
			}
			p.Speed = speed
			if cmd.Flags().Changed("idle-limit") {
				p.IdleLimit = idle
			}
			// The first event at or after --at, in the recording's own time.
			first := sort.Search(len(p.Events), func(i int) bool { return p.Events[i].Time >= at.Seconds() })
			if first == len(p.Events) && at > 0 {
				end := 0.0
				if n := len(p.Events); n > 0 {
					end = p.Events[n-1].Time
				}
				return fmt.Errorf("--at %s: the recording lasts %s", atFlag, time.Duration(end*float64(time.Second)).Round(time.Millisecond))
			}
			if scr {
				_, err := io.WriteString(a.stdout, p.FrameAt(p.Timeline()[first]).Text())
				return err
			}
			if cat {
				for _, ev := range p.Events[first:] {
					if ev.Type == recorder.TypeOutput {
						if _, err := io.WriteString(out, ev.Data); err != nil {
							return err
						}
					}
				}
				return nil
			}
			if interactive {
				return a.replayTUI(cmd.Context(), p, at)
			}
			var from time.Duration
			if first > 0 {
				// Playback time of the last event before --at: the screen
				// then, and play on from there.
				from = p.Timeline()[first-1]
				fmt.Fprint(out, "\x1b[0m\x1b[H\x1b[2J"+p.FrameAt(from).Render())
			}
			err = p.PlayFrom(cmd.Context(), out, from)
			if errors.Is(err, cmd.Context().Err()) && cmd.Context().Err() != nil {
				return nil // interrupted by the viewer
			}
			return err
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&cat, "cat", false, "print all the output at once")
	fl.BoolVar(&text, "text", false, "print the whole session as plain text, line by line (for grep)")
	fl.BoolVar(&scr, "screen", false, "print the final screen (with --at: the screen then) as plain text")
	fl.BoolVar(&plain, "plain", false, "write the output at its pace, without the player")
	fl.BoolVar(&raw, "raw", false, "the recorded bytes exactly, unfiltered, not to a terminal: a stream of a session without a PTY, else with --cat or --plain")
	fl.StringVar(&stream, "stream", "stdout", "with --raw, for a session without a PTY: stdout, stderr or stdin")
	fl.Float64Var(&speed, "speed", 1, "play this many times faster")
	fl.StringVar(&idleLimit, "idle-limit", "", "cut pauses longer than this (seconds, or a duration like 500ms)")
	fl.StringVar(&atFlag, "at", "", "start this far into the recording: seconds (90), a duration (1m30s) or [h:]m:s (1:30)")
	return cmd
}

// countTrue returns how many of bs are true.
func countTrue(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// parseIdleLimit reads --idle-limit: seconds ("2", "0.5") or a duration.
func parseIdleLimit(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 {
		return time.Duration(f * float64(time.Second)), nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return d, nil
	}
	return 0, fmt.Errorf("--idle-limit %q: want seconds (2, 0.5) or a duration (500ms)", s)
}

// parseAt reads --at: seconds ("90", "95.5"), a duration ("1m30s") or
// [h:]m:s ("1:30", "1:02:03").
func parseAt(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	bad := fmt.Errorf("--at %q: want seconds (90), a duration (1m30s) or [h:]m:s (1:30)", s)
	if strings.Contains(s, ":") {
		parts := strings.Split(s, ":")
		if len(parts) > 3 {
			return 0, bad
		}
		sec, err := strconv.ParseFloat(parts[len(parts)-1], 64)
		if err != nil || sec < 0 || sec >= 60 {
			return 0, bad
		}
		total := 0
		for i, p := range parts[:len(parts)-1] {
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 || (i > 0 && n >= 60) {
				return 0, bad
			}
			total = total*60 + n
		}
		return time.Duration(total)*time.Minute + time.Duration(sec*float64(time.Second)), nil
	}
	d, err := parseIdleLimit(s)
	if err != nil {
		return 0, bad
	}
	return d, nil
}

// recordingPath finds the recording of a session id (or prefix) as a
// file, with its raw stream file beside it when it has one, or takes arg
// as the path of a .cast (or .raw) file. A recording in the object store
// is fetched into a private temporary folder that done removes.
func (a *app) recordingPath(cmd *cobra.Command, arg string) (path string, done func(), err error) {
	done = func() {}
	if strings.HasSuffix(arg, ".raw") {
		arg = strings.TrimSuffix(arg, ".raw") + ".cast"
	}
	if strings.HasSuffix(arg, ".cast") {
		if err := a.localFile("recording", arg); err != nil {
			return "", done, err
		}
		if _, err := os.Stat(arg); err == nil {
			return arg, done, nil
		}
	}
	s, err := a.openStore(cmd.Context())
	if err != nil {
		return "", done, err
	}
	ss, err := s.GetSession(cmd.Context(), arg)
	if err != nil {
		return "", done, err
	}
	if err := noRecording(ss); err != nil {
		return "", done, err
	}
	stg, err := a.recordings(s, nil)
	if err != nil {
		return "", done, err
	}
	dir, err := os.MkdirTemp("", "jms-replay-")
	if err != nil {
		return "", done, fmt.Errorf("a folder for the recording: %w", err)
	}
	done = func() { os.RemoveAll(dir) }
	path, err = stg.LocalCopy(cmd.Context(), ss, dir)
	if err != nil {
		done()
		return "", func() {}, err
	}
	return path, done, nil
}

// noRecording says why a session has no recording, or returns nil.
func noRecording(ss store.Session) error {
	if ss.RecordingPath != "" {
		return nil
	}
	switch {
	case ss.Kind == store.SessionForward:
		return fmt.Errorf("session %s is a port forward to %s: forwards carry no terminal to record (see 'jmsctl session show %s' for its bytes)", store.ShortSessionID(ss.ID), ss.Target, store.ShortSessionID(ss.ID))
	case ss.Kind == store.SessionSFTP:
		return fmt.Errorf("session %s is an SFTP session: its files are in 'jmsctl audit transfers'", store.ShortSessionID(ss.ID))
	case ss.EndReason != "":
		return fmt.Errorf("session %s has no recording (%s)", ss.ID, ss.EndReason)
	}
	return fmt.Errorf("session %s has no recording", ss.ID)
}

// sessionRecording returns the path of a session's recording file.
func (a *app) sessionRecording(ss store.Session) (string, error) {
	if err := noRecording(ss); err != nil {
		return "", err
	}
	path := ss.RecordingPath
	if !filepath.IsAbs(path) {
		cfg, err := a.config()
		if err != nil {
			return "", err
		}
		path = filepath.Join(cfg.DataDir, path)
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("session %s: its recording is missing: %w", ss.ID, err)
	}
	return path, nil
}
