package main

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/charmbracelet/x/term"

	"github.com/jms-bastion/jms/recorder"
	"github.com/jms-bastion/jms/tui"
)

// isTerminal reports whether f is a terminal.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(file.Fd())
}

// replayTUI plays p in the interactive player, from at, a time into the
// recording (--at): the screen as it was then, and the whole recording
// still there to seek back and forth in.
func (a *app) replayTUI(ctx context.Context, p *recorder.Player, at time.Duration) error {
	err := tui.RunReplay(ctx, p, at, a.stdin, a.stdout)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
