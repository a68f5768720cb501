package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/recorder"
)

func newReplayCmd(a *app) *cobra.Command {
	var (
		cat       bool
		speed     float64
		idleLimit string
	)
	cmd := &cobra.Command{
		Use:   "replay ID|FILE.cast",
		Short: "Play a session's recording in the terminal",
		Long: `replay plays the recording of a session (its ID or a unique prefix of at
least 4 characters) at its original pace, or the recording file given by
path. --cat prints all its output at once instead, as 'asciinema cat' does.
Recordings are asciicast v2 files: 'asciinema play' takes them too.`,
		Example: `  jmsctl replay 3f2a
  jmsctl replay 3f2a --speed 2 --idle-limit 1
  jmsctl replay 3f2a --cat | less -R`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			idle, err := parseIdleLimit(idleLimit)
			if err != nil {
				return err
			}
			if speed < 0 {
				return fmt.Errorf("--speed %v: want a positive factor", speed)
			}
			path, err := a.recordingPath(cmd, args[0])
			if err != nil {
				return err
			}
			r, err := recorder.Open(path)
			if err != nil {
				return err
			}
			defer r.Close()
			if cat {
				return recorder.Cat(a.stdout, r)
			}
			p, err := recorder.NewPlayer(r)
			if err != nil {
				return err
			}
			p.Speed = speed
			if cmd.Flags().Changed("idle-limit") {
				p.IdleLimit = idle
			}
			err = p.Play(cmd.Context(), a.stdout)
			if errors.Is(err, cmd.Context().Err()) && cmd.Context().Err() != nil {
				return nil // interrupted by the viewer
			}
			return err
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&cat, "cat", false, "print all the output at once")
	fl.Float64Var(&speed, "speed", 1, "play this many times faster")
	fl.StringVar(&idleLimit, "idle-limit", "", "cut pauses longer than this (seconds, or a duration like 500ms)")
	return cmd
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

// recordingPath finds the recording of a session id (or prefix), or takes
// arg as the path of a .cast file.
func (a *app) recordingPath(cmd *cobra.Command, arg string) (string, error) {
	if strings.HasSuffix(arg, ".cast") {
		if _, err := os.Stat(arg); err == nil {
			return arg, nil
		}
	}
	s, err := a.openStore(cmd.Context())
	if err != nil {
		return "", err
	}
	ss, err := s.GetSession(cmd.Context(), arg)
	if err != nil {
		return "", err
	}
	if ss.RecordingPath == "" {
		return "", fmt.Errorf("session %s has no recording (%s)", ss.ID, ss.EndReason)
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
