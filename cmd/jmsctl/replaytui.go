package main

import (
	"context"
	"errors"
	"os"

	"github.com/charmbracelet/x/term"

	"github.com/jms-bastion/jms/recorder"
	"github.com/jms-bastion/jms/tui"
)

// isTerminal reports whether f is a terminal.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(file.Fd())
}

// replayTUI plays p in the interactive player, from the event first on
// (--at).
func (a *app) replayTUI(ctx context.Context, p *recorder.Player, first int) error {
	if first > 0 {
		// The player starts at the beginning: cut what precedes --at into
		// the first frame by dropping its waits.
		events := make([]recorder.Event, len(p.Events))
		copy(events, p.Events)
		for i := range events[:first] {
			events[i].Time = 0
		}
		shift := p.Events[first-1].Time
		for i := first; i < len(events); i++ {
			events[i].Time -= shift
			if events[i].Time < 0 {
				events[i].Time = 0
			}
		}
		cp := *p
		cp.Events = events
		p = &cp
	}
	err := tui.RunReplay(ctx, p, a.stdin, a.stdout)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
