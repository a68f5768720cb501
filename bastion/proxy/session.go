package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"charm.land/ssh"
	"github.com/google/uuid"

	"github.com/jms-bastion/jms/bastion/filter"
	"github.com/jms-bastion/jms/recorder"
	"github.com/jms-bastion/jms/store"
)

// session is the state of one Run.
type session struct {
	p    *Proxy
	id   string
	req  Request
	down Downstream
	log  *slog.Logger

	pty   ssh.Pty
	winch <-chan ssh.Window
	isPty bool

	rec *recorder.Writer // nil when not recording

	start   time.Time           // when the session (and its recording) began
	rules   *filter.RuleSet     // the command filters in scope
	nrules  int                 // how many: 0 skips the judging, not the audit
	tracker *filter.LineTracker // the line tracker of a session with a PTY
	outMu   sync.Mutex          // serialises writes to the person's stdout

	// cancel ends the bridge with a cause.
	cancel context.CancelCauseFunc
	// inDone and ctlDone close when the input copier and the control
	// loop of the bridge return.
	inDone  chan struct{}
	ctlDone chan struct{}

	mu       sync.Mutex
	endedBy  error       // the first reason the bridge was ended from inside
	userErr  error       // what to tell the person about it
	recState string      // "" while fine; the failure's text after a recording failure
	recOK    atomic.Bool // output is still to be recorded
	done     atomic.Bool // Run is returning: late input is dropped
}

// Errors that end a bridge from inside.
var (
	errClientGone   = errors.New("the client went away")
	errKeepalive    = errors.New("the asset stopped answering keepalives")
	errRecordFailed = errors.New("recording failed")
)

// Run opens the session row and recording, dials the asset as the account
// (pinned host key), bridges the session (PTY or exec) until either side
// ends, and closes everything. It returns the exit status to pass to the
// client. Errors a person should read are *UserError (Error() is the one
// line to print on stderr); any other error is internal and names the
// session.
func (p *Proxy) Run(ctx context.Context, down Downstream, req Request) (exitStatus int, err error) {
	start := p.cfg.Now()
	s := &session{p: p, id: uuid.NewString(), req: req, down: down, start: start}
	s.pty, s.winch, s.isPty = down.Pty()
	s.log = p.log.With("session", s.id, "user", req.User, "asset", req.Asset.Name, "account", req.Account.Username)
	kind := store.SessionShell
	if req.Command != "" {
		kind = store.SessionExec
	}

	// The recording comes first, so that its path is in the row from the
	// start and a session that cannot be recorded does not begin.
	recPath, recErr := s.openRecording(start)
	ns := store.NewSession{ID: s.id, Kind: kind, User: req.User, Asset: req.Asset.Name, Account: req.Account.Username,
		Source: req.Source, Command: req.Command, RecordingPath: recPath, StartedAt: start}
	row, err := p.st.StartSession(ctx, ns)
	if err != nil {
		s.closeRecording()
		if s.rec != nil {
			os.Remove(s.rec.Path())
		}
		return ExitLost, fmt.Errorf("session %s: record its start: %w", s.id, err)
	}
	if req.OnStart != nil {
		req.OnStart(row)
	}
	end := store.SessionEnd{Status: store.StatusFailed}
	defer func() {
		size, sum := s.closeRecording()
		end.RecordingSize, end.RecordingSHA256 = size, sum
		end.EndedAt = p.cfg.Now()
		ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if eerr := p.st.EndSession(ectx, s.id, end); eerr != nil {
			s.log.Error("cannot record the end of the session", "err", eerr)
			if err == nil {
				err = fmt.Errorf("session %s: record its end: %w", s.id, eerr)
			}
		}
		s.log.Info("session ended", "status", end.Status, "reason", end.Reason, "exit", exitStatus)
	}()

	if recErr != nil {
		if p.cfg.RecordingFailure != "continue" {
			end.Reason = "recording failed: " + recErr.Error()
			s.log.Error("cannot create the recording: session refused", "err", recErr)
			return ExitLost, userErrorf(recErr, "jms: recording failed (%s): session not started", errText(recErr))
		}
		s.log.Warn("cannot create the recording: session goes on unrecorded", "err", recErr)
		s.recState = recErr.Error()
	}

	s.rules, s.nrules, err = p.rulesFor(ctx, req)
	if err != nil {
		// Fail closed: a session the filters cannot judge does not begin.
		end.Reason = "command filters unavailable: " + err.Error()
		s.log.Error("cannot load the command filters: session refused", "err", err)
		msg := "jms: the command filters cannot be loaded: session not started"
		s.recordNotice(msg)
		return ExitLost, userErrorf(err, "%s", msg)
	}
	if req.Command != "" {
		// An exec command is judged before anything runs on the asset.
		if err := s.judgeExec(ctx); err != nil {
			denied := ExitDenied
			end.Status, end.Reason, end.ExitStatus = store.StatusClosed, strings.TrimPrefix(err.Error(), "jms: "), &denied
			return ExitDenied, err
		}
	}

	s.log.Info("session starting", "kind", kind, "source", req.Source, "pty", s.isPty, "filters", s.nrules)
	dr, err := p.dial(ctx, req)
	if err != nil {
		end.Reason = dr.reason
		var ue *UserError
		if errors.As(err, &ue) {
			s.log.Warn("cannot connect to the asset", "reason", dr.reason, "err", err)
			s.recordNotice(ue.Msg)
			return ExitLost, err
		}
		s.log.Error("cannot connect to the asset", "err", err)
		return ExitLost, fmt.Errorf("session %s: %w", s.id, err)
	}
	defer dr.client.Close()

	exitStatus, exited, err := s.bridge(ctx, dr.client)
	end.Status, end.Reason = s.outcome(ctx, exitStatus, exited, err)
	if exited {
		end.ExitStatus = &exitStatus
	}
	if err != nil {
		var ue *UserError
		if !errors.As(err, &ue) {
			err = fmt.Errorf("session %s: %w", s.id, err)
		}
	}
	return exitStatus, err
}

// outcome returns the status and end reason of a bridged session.
func (s *session) outcome(ctx context.Context, exit int, exited bool, err error) (string, string) {
	s.mu.Lock()
	endedBy := s.endedBy
	recState := s.recState
	s.mu.Unlock()
	suffix := ""
	if recState != "" {
		suffix = " (unrecorded after: " + recState + ")"
	}
	switch {
	case errors.Is(endedBy, errRecordFailed):
		return store.StatusFailed, endedBy.Error()
	case ctx.Err() != nil:
		cause := context.Cause(ctx)
		if errors.Is(cause, ErrKilled) {
			return store.StatusKilled, cause.Error() + suffix
		}
		if errors.Is(cause, context.Canceled) {
			return store.StatusClosed, "ended by the bastion" + suffix
		}
		return store.StatusClosed, "ended by the bastion: " + cause.Error() + suffix
	case endedBy != nil:
		return store.StatusClosed, endedBy.Error() + suffix
	case exited:
		return store.StatusClosed, fmt.Sprintf("exited with status %d", exit) + suffix
	case err != nil:
		return store.StatusClosed, errText(err) + suffix
	}
	return store.StatusClosed, "ended" + suffix
}

// openRecording creates the session's recording and returns its path as
// kept in the row.
func (s *session) openRecording(start time.Time) (string, error) {
	cfg := s.p.cfg
	path := filepath.Join(cfg.RecordingsDir, start.UTC().Format("2006-01-02"), s.id+".cast")
	w, h := recorder.DefaultWidth, recorder.DefaultHeight
	env := map[string]string{}
	if s.isPty {
		if s.pty.Window.Width > 0 && s.pty.Window.Height > 0 {
			w, h = s.pty.Window.Width, s.pty.Window.Height
		}
		if s.pty.Term != "" {
			env["TERM"] = s.pty.Term
		}
	}
	hdr := recorder.Header{
		Width:     w,
		Height:    h,
		Timestamp: start.Unix(),
		Command:   s.req.Command,
		Title:     fmt.Sprintf("%s@%s as %s", s.req.User, s.req.Asset.Name, s.req.Account.Username),
		Env:       env,
	}
	rec, err := s.p.createRecording(path, hdr, recorder.Options{RecordInput: cfg.RecordInput, Now: cfg.Now})
	if err != nil {
		return "", err
	}
	s.rec = rec
	s.recOK.Store(true)
	if cfg.DataDir != "" {
		if rel, err := filepath.Rel(cfg.DataDir, path); err == nil && !strings.HasPrefix(rel, "..") {
			return rel, nil
		}
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return path, nil
}

// closeRecording closes the recording once and returns its size and hash.
func (s *session) closeRecording() (int64, string) {
	s.done.Store(true)
	if s.rec == nil {
		return 0, ""
	}
	if err := s.rec.Close(); err != nil {
		s.mu.Lock()
		seen := s.recState != ""
		s.mu.Unlock()
		if !seen {
			s.log.Error("recording incomplete", "err", err)
		}
	}
	return s.rec.Size(), s.rec.SHA256()
}

// recordNotice writes a message the person got on stderr into the
// recording, so that a replay shows why the session ended.
func (s *session) recordNotice(msg string) {
	if s.rec != nil {
		s.rec.Output([]byte(msg + "\r\n"))
	}
}

// recordFailed handles a failed recording write. It reports whether the
// session goes on.
func (s *session) recordFailed(err error) bool {
	if s.done.Load() {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.recState != "" {
		return s.p.cfg.RecordingFailure == "continue"
	}
	s.recState = err.Error()
	s.recOK.Store(false)
	if s.p.cfg.RecordingFailure == "continue" {
		s.log.Warn("recording failed: session goes on unrecorded", "err", err)
		return true
	}
	s.log.Error("recording failed: ending the session", "err", err)
	if s.endedBy == nil {
		s.endedBy = fmt.Errorf("%w: %s", errRecordFailed, errText(err))
		s.userErr = userErrorf(err, "jms: recording failed (%s): session ended", errText(err))
	}
	s.cancel(s.endedBy)
	return false
}

// endWith ends the bridge for a reason found inside it.
func (s *session) endWith(cause, userErr error) {
	s.mu.Lock()
	if s.endedBy == nil {
		s.endedBy = cause
		s.userErr = userErr
	}
	s.mu.Unlock()
	s.cancel(cause)
}

// errText returns the innermost readable reason of err: for a system
// error, its text ("no space left on device").
func errText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
