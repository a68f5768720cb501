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
	"github.com/jms-bastion/jms/bastion/sessionerr"
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

	ac     *assetConn // the connection to the asset, once acquired
	remote *remote    // the session on the asset, once opened
	// abortTimer closes a shared connection whose asset does not confirm
	// the close of an aborted session's channel (abort).
	abortTimer *time.Timer

	rec *recorder.Writer // nil when not recording
	// raw holds the bytes of the streams of a session without a PTY,
	// beside rec (which then holds only the bastion's notices); nil for a
	// session with a PTY.
	raw *recorder.RawWriter

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
	// pusher is the Downstream when it pushes input (InputPusher); inEnd
	// ends the line tracker's input loop.
	pusher InputPusher
	inEnd  func()

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
// client. Errors a person should read are *sessionerr.UserError (Error() is the one
// line to print on stderr); any other error is internal and names the
// session.
//
// Run keeps a small frame (as do connect, bridge and carry): it stays on
// the caller's stack for as long as the session is open.
func (p *Proxy) Run(ctx context.Context, down Downstream, req *Request) (exitStatus int, err error) {
	s := p.newSession(down, req)
	recErr, err := s.begin(ctx)
	if err != nil {
		return ExitLost, err
	}
	end := &store.SessionEnd{Status: store.StatusFailed}
	defer func() {
		if eerr := s.finish(ctx, end, exitStatus); eerr != nil && err == nil {
			err = eerr
		}
	}()
	if status, err := s.admit(ctx, end, recErr); err != nil {
		return status, err
	}
	return s.connect(ctx, end)
}

func (p *Proxy) newSession(down Downstream, req *Request) *session {
	s := &session{p: p, id: uuid.NewString(), req: *req, down: down, start: p.cfg.Now()}
	s.pty, s.winch, s.isPty = down.Pty()
	s.log = p.log.With("session", s.id, "user", req.User, "asset", req.Asset.Name, "account", req.Account.Username)
	return s
}

// begin creates the recording and the session row. The recording comes
// first, so that its path is in the row from the start and a session that
// cannot be recorded does not begin; its error is returned apart, for
// admit to apply the recording policy once the row exists.
func (s *session) begin(ctx context.Context) (recErr, err error) {
	recPath, recErr := s.openRecording(s.start)
	ns := store.NewSession{ID: s.id, Kind: s.kind(), User: s.req.User, AssetID: s.req.Asset.ID, Asset: s.req.Asset.Name, Account: s.req.Account.Username,
		Source: s.req.Source, Command: s.req.Command, RecordingPath: recPath, StartedAt: s.start, Node: s.p.cfg.Node}
	row, err := s.p.st.StartSession(ctx, ns)
	if err != nil {
		s.closeRecording()
		if s.rec != nil {
			os.Remove(s.rec.Path())
		}
		if s.raw != nil {
			os.Remove(s.raw.Path())
		}
		return nil, fmt.Errorf("session %s: record its start: %w", s.id, err)
	}
	if s.req.OnStart != nil {
		s.req.OnStart(row)
	}
	return recErr, nil
}

// kind is the session's kind: a shell, or an exec command.
func (s *session) kind() string {
	if s.req.Command != "" {
		return store.SessionExec
	}
	return store.SessionShell
}

// finish closes the recording and records the end of the session.
func (s *session) finish(ctx context.Context, end *store.SessionEnd, exitStatus int) error {
	size, sum := s.closeRecording()
	end.RecordingSize, end.RecordingSHA256 = size, sum
	end.EndedAt = s.p.cfg.Now()
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var err error
	if eerr := s.p.st.EndSession(ectx, s.id, *end); eerr != nil {
		s.log.Error("cannot record the end of the session", "err", eerr)
		err = fmt.Errorf("session %s: record its end: %w", s.id, eerr)
	}
	s.log.Info("session ended", "status", end.Status, "reason", end.Reason, "exit", exitStatus)
	return err
}

// admit decides whether the session may go on to the asset: the recording
// policy when the recording could not be created, the command filters
// loaded (fail closed), an exec command judged before anything runs. It
// returns the exit status and error of a refused session.
func (s *session) admit(ctx context.Context, end *store.SessionEnd, recErr error) (int, error) {
	if recErr != nil {
		if s.p.cfg.RecordingFailure != "continue" {
			end.Reason = "recording failed: " + recErr.Error()
			s.log.Error("cannot create the recording: session refused", "err", recErr)
			return ExitLost, userErrorf(recErr, "jms: recording failed (%s): session not started", errText(recErr))
		}
		s.log.Warn("cannot create the recording: session goes on unrecorded", "err", recErr)
		s.recState = recErr.Error()
	}
	var err error
	s.rules, s.nrules, err = s.p.rulesFor(ctx, s.req)
	if err != nil {
		// Fail closed: a session the filters cannot judge does not begin.
		end.Reason = "command filters unavailable: " + err.Error()
		s.log.Error("cannot load the command filters: session refused", "err", err)
		msg := "jms: the command filters cannot be loaded: session not started"
		s.recordNotice(msg)
		return ExitLost, userErrorf(err, "%s", msg)
	}
	if s.req.Command != "" {
		// An exec command is judged before anything runs on the asset.
		if err := s.judgeExec(ctx); err != nil {
			denied := ExitDenied
			end.Status, end.Reason, end.ExitStatus = store.StatusClosed, strings.TrimPrefix(err.Error(), "jms: "), &denied
			return ExitDenied, err
		}
	}
	return 0, nil
}

// connect takes a connection to the asset (a live one shared with the
// person's other sessions there, or a new one) and bridges the session
// until it ends.
func (s *session) connect(ctx context.Context, end *store.SessionEnd) (int, error) {
	if err := s.acquire(ctx, end); err != nil {
		return ExitLost, err
	}
	defer s.releaseConn()
	exitStatus, exited, err := s.bridge(ctx)
	return s.ended(ctx, end, exitStatus, exited, err)
}

// dialFailed says why the session could not reach the asset: its own
// dial's failure, or that of the dial it waited for (acquireShared).
func (s *session) dialFailed(end *store.SessionEnd, reason string, err error) error {
	end.Reason = reason
	var ue *sessionerr.UserError
	if errors.As(err, &ue) {
		s.log.Warn("cannot connect to the asset", "reason", reason, "err", err)
		s.recordNotice(ue.Msg)
		return err
	}
	s.log.Error("cannot connect to the asset", "err", err)
	return fmt.Errorf("session %s: %w", s.id, err)
}

// ended notes how the bridged session ended in end and returns the exit
// status and the error to pass on.
func (s *session) ended(ctx context.Context, end *store.SessionEnd, exitStatus int, exited bool, err error) (int, error) {
	end.Status, end.Reason = s.outcome(ctx, exitStatus, exited, err)
	if exited {
		end.ExitStatus = &exitStatus
	}
	if err != nil {
		var ue *sessionerr.UserError
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
		if errors.Is(cause, sessionerr.ErrKilled) {
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
	if cfg.SpoolFull != nil {
		if err := cfg.SpoolFull(); err != nil {
			return "", err
		}
	}
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
	if !s.isPty {
		raw, err := s.p.createRaw(recorder.RawPath(path), start, cfg.Now)
		if err != nil {
			rec.Close()
			os.Remove(path)
			return "", err
		}
		s.raw = raw
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
	if s.raw != nil {
		rerr := s.raw.Close()
		// The cast ends with the raw file's size and hash, so that the
		// hash of the cast in the session's row covers both.
		merr := s.rec.Marker(recorder.RawMarker(s.raw.Size(), s.raw.SHA256()))
		if err := errors.Join(rerr, merr); err != nil && s.recStateEmpty() {
			s.log.Error("recording incomplete", "err", err)
		}
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

func (s *session) recStateEmpty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recState == ""
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
