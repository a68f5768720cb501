package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/charmbracelet/x/term"
	"github.com/muesli/cancelreader"
	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/bastion"
	"github.com/jms-bastion/jms/printable"
	"github.com/jms-bastion/jms/recorder"
	"github.com/jms-bastion/jms/store"
)

func newSessionWatchCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "watch ID",
		Short: "Follow a live session read-only until it ends",
		Long: `watch shows a live session as it happens, from its beginning, under a line
naming it (user, asset, account, start). It follows the session's recording
as it grows, so it never sends input to the session nor changes its window
size, and it draws the session through a terminal emulator, as replay does:
nothing the asset writes can make your terminal act or answer. In a terminal
it takes the keyboard: what you type is discarded, q or Ctrl-C stops
watching, and your terminal is restored however watch ends. It ends by itself
when the session ends. A session that has ended is for 'jmsctl replay'.
A session another node of the cluster runs is streamed from that node
through the database (docs/cluster.md).`,
		Example: `  jmsctl session watch 3f2a`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			ss, err := s.GetSession(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if ss.Status != store.StatusActive {
				return fmt.Errorf("session %s has ended (%s): replay it with 'jmsctl replay %s'", ss.ID, ss.Status, ss.ID)
			}
			path, err := a.sessionRecording(ss)
			if err != nil && (ss.RecordingPath == "" || ss.Node == "") {
				return err
			}
			// Not on this machine: streamed from the node holding it.
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
			defer stop()
			return a.watch(ctx, s, ss, path)
		},
	}
}

// watch follows the session ss, recorded at path, on the app's terminal.
func (a *app) watch(ctx context.Context, s *store.Store, ss store.Session, path string) error {
	ctx, quit := context.WithCancel(ctx)
	defer quit()
	vt, err := takeTerminal(a.stdin, a.stdout, quit)
	if err != nil {
		return err
	}
	defer vt.restore() // on a panic too; restore twice is fine
	ended := func() bool {
		cur, err := s.GetSession(ctx, ss.ID)
		return err == nil && cur.Status != store.StatusActive
	}
	opts := recorder.FollowOptions{Stop: ended, Size: vt.size,
		Title: fmt.Sprintf(" jms: watching %s@%s as %s, session %s started %s; read-only, q quits ",
			ss.User, ss.Asset, ss.Account, store.ShortSessionID(ss.ID), fmtTime(ss.StartedAt))}
	err = bastion.FollowSession(ctx, s, ss, path, a.stdout, opts)
	vt.restore()
	switch {
	case err == nil:
		cur, _ := s.GetSession(context.WithoutCancel(ctx), ss.ID)
		fmt.Fprintf(a.stderr, "jms: session %s ended (%s: %s)\n", ss.ID, cur.Status, printable.Escape(cur.EndReason))
		return nil
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return nil // the watcher stopped
	}
	return err
}

// watchTerminal is the watcher's terminal while watch runs: stdin in raw
// mode with every key read and discarded (q and Ctrl-C quit), stdout on
// the alternate screen.
type watchTerminal struct {
	tty     *os.File // stdout when it is a terminal
	in      *os.File
	state   *term.State // stdin's mode before; nil when not a terminal
	out     io.Writer
	alt     bool
	keys    cancelreader.CancelReader
	keysEnd chan struct{}
}

// takeTerminal puts a terminal stdin in raw mode, so that nothing typed
// echoes over the watched screen or is left for the shell, and reads it
// until restore: q, Q, Ctrl-C or Ctrl-D call quit, the rest is dropped.
// A terminal stdout switches to the alternate screen. Call restore on
// every path out.
func takeTerminal(stdin io.Reader, stdout io.Writer, quit func()) (*watchTerminal, error) {
	t := &watchTerminal{out: stdout}
	if f, ok := stdout.(*os.File); ok && term.IsTerminal(f.Fd()) {
		t.tty, t.alt = f, true
		io.WriteString(stdout, "\x1b[?1049h\x1b[H\x1b[2J")
	}
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(f.Fd()) {
		return t, nil
	}
	state, err := term.MakeRaw(f.Fd())
	if err != nil {
		t.restore()
		return nil, fmt.Errorf("watch: putting the terminal in raw mode: %w", err)
	}
	t.in, t.state = f, state
	keys, err := cancelreader.NewReader(f)
	if err != nil {
		t.restore()
		return nil, fmt.Errorf("watch: reading the keyboard: %w", err)
	}
	t.keys, t.keysEnd = keys, make(chan struct{})
	go func() {
		defer close(t.keysEnd)
		discardKeys(keys, quit)
	}()
	return t, nil
}

// discardKeys reads r until it fails, calling quit on q, Q, Ctrl-C or
// Ctrl-D.
func discardKeys(r io.Reader, quit func()) {
	b := make([]byte, 256)
	for {
		n, err := r.Read(b)
		if bytes.ContainsAny(b[:n], "qQ\x03\x04") {
			quit()
		}
		if err != nil {
			return
		}
	}
}

// size returns the size of the terminal on stdout; zero when it is not
// one.
func (t *watchTerminal) size() (width, height int) {
	if t.tty == nil {
		return 0, 0
	}
	w, h, err := term.GetSize(t.tty.Fd())
	if err != nil {
		return 0, 0
	}
	return w, h
}

// restore stops reading the keyboard and puts the terminal back as it
// was: cursor shown, main screen, stdin's mode.
func (t *watchTerminal) restore() {
	if t.keys != nil {
		t.keys.Cancel()
		<-t.keysEnd
		t.keys.Close()
		t.keys = nil
	}
	if t.alt {
		io.WriteString(t.out, "\x1b[0m\x1b[?25h\x1b[?1049l")
		t.alt = false
	}
	if t.state != nil {
		term.Restore(t.in.Fd(), t.state)
		t.state = nil
	}
}
