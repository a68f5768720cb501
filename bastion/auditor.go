package bastion

// The auditor menu over SSH: live sessions to watch (the recording
// followed read-only as it grows) and recent ones to replay (the tui
// player), back to the menu afterwards. Auditors reach assets only when
// granted; then a in the auditor menu opens their asset menu.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/jms-bastion/jms/recorder"
	"github.com/jms-bastion/jms/store"
	"github.com/jms-bastion/jms/tui"
)

// auditorListLimit is how many sessions of each list the auditor menu
// shows.
const auditorListLimit = 500

func (s *Server) auditorMenu(ctx context.Context, term *terminal, u store.User, scope auditScope, log *slog.Logger) int {
	flash := ""
	for {
		live, recent, err := s.auditorSessions(ctx, scope)
		if err != nil {
			if ctx.Err() != nil {
				return 0
			}
			log.Error("auditor menu: listing sessions", "err", err)
			_, _ = fmt.Fprint(term.sess.Stderr(), "jms: internal error"+term.newline())
			return 1
		}
		assets, err := s.st.AuthorizedAssets(ctx, u.Name, s.now())
		if errors.Is(err, store.ErrDenied) {
			_, _ = fmt.Fprint(term.sess.Stderr(), "jms: "+u.Name+": access denied"+term.newline())
			return 1
		}
		w, h := term.window()
		final, err := s.runProgram(ctx, term, tui.NewAuditorMenu(tui.AuditorConfig{
			User: u.Name, Role: scope.role(u), Banner: s.cfg.Banner, Live: live, Recent: recent,
			Width: w, Height: h, Context: ctx, Flash: flash, Assets: len(assets) > 0,
			Reload: func(ctx context.Context) ([]tui.SessionInfo, []tui.SessionInfo, error) {
				return s.auditorSessions(ctx, scope)
			},
		}))
		if err != nil {
			return 0
		}
		m, _ := final.(tui.AuditorMenu)
		si, action, ok := m.Choice()
		if !ok {
			return 0
		}
		flash = ""
		switch action {
		case tui.ShowAssets:
			if status := s.assetMenu(ctx, term, u, log); status != 0 {
				return status
			}
		case tui.WatchSession:
			flash = s.watchSession(ctx, term, scope, si.ID, log)
		case tui.ReplaySession:
			flash = s.replaySession(ctx, term, scope, si.ID, log)
		}
		if ctx.Err() != nil {
			return 0
		}
	}
}

// auditorSessions returns the live sessions and the recent ended ones
// of the scope, newest first.
func (s *Server) auditorSessions(ctx context.Context, scope auditScope) (live, recent []tui.SessionInfo, err error) {
	act, err := s.st.ListSessions(ctx, store.SessionQuery{Active: true, Limit: auditorListLimit})
	if err != nil {
		return nil, nil, err
	}
	all, err := s.st.ListSessions(ctx, store.SessionQuery{Limit: auditorListLimit + len(act)})
	if err != nil {
		return nil, nil, err
	}
	if act, err = s.filterSessions(ctx, scope, act); err != nil {
		return nil, nil, err
	}
	if all, err = s.filterSessions(ctx, scope, all); err != nil {
		return nil, nil, err
	}
	for _, ss := range slices.Backward(act) {
		live = append(live, sessionInfo(ss))
	}
	for _, ss := range slices.Backward(all) {
		if ss.Status != store.StatusActive && len(recent) < auditorListLimit {
			recent = append(recent, sessionInfo(ss))
		}
	}
	return live, recent, nil
}

func sessionInfo(ss store.Session) tui.SessionInfo {
	si := tui.SessionInfo{ID: ss.ID, User: ss.User, Asset: ss.Asset, Account: ss.Account, Source: ss.Source,
		StartedAt: ss.StartedAt, Status: ss.Status}
	if ss.EndedAt != nil {
		si.EndedAt = *ss.EndedAt
	}
	if ss.Kind == store.SessionSFTP {
		si.Asset = "sftp " + si.Asset
	}
	return si
}

// recordingFile returns the path of a session's recording.
func (s *Server) recordingFile(ss store.Session) (string, error) {
	if ss.RecordingPath == "" {
		return "", fmt.Errorf("session %s has no recording", store.ShortSessionID(ss.ID))
	}
	if filepath.IsAbs(ss.RecordingPath) {
		return ss.RecordingPath, nil
	}
	return filepath.Join(s.cfg.DataDir, ss.RecordingPath), nil
}

// Recordings opens session recordings wherever they are
// (*storage.Storage satisfies it).
type Recordings interface {
	Open(ctx context.Context, ss store.Session) (io.ReadCloser, error)
}

// openRecording opens an ended session's recording, through Recordings
// when the server has one, else from the local file.
func (s *Server) openRecording(ctx context.Context, ss store.Session) (io.ReadCloser, error) {
	if s.recs != nil {
		return s.recs.Open(ctx, ss)
	}
	path, err := s.recordingFile(ss)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("session %s: its recording is missing: %w", store.ShortSessionID(ss.ID), err)
	}
	return f, nil
}

// watchSession follows a live session's recording on the auditor's
// terminal until the session ends or she presses q (or Ctrl-C). It only
// reads the recording: nothing she types reaches the session, and her
// window size is nobody else's. It returns the line for the menu.
func (s *Server) watchSession(ctx context.Context, term *terminal, scope auditScope, id string, log *slog.Logger) string {
	ss, err := s.auditSession(ctx, scope, id)
	if err != nil {
		return err.Error()
	}
	if ss.Status != store.StatusActive {
		return fmt.Sprintf("Session %s has ended (%s): replay it instead.", store.ShortSessionID(ss.ID), ss.Status)
	}
	path, err := s.recordingFile(ss)
	if err != nil {
		return err.Error()
	}
	log.Info("watching a session", "session", ss.ID, "of", ss.User, "asset", ss.Asset, "node", ss.Node)
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	v := term.attach()
	keysDone := make(chan struct{})
	go func() {
		defer close(keysDone)
		b := make([]byte, 256)
		for {
			n, err := v.Read(b)
			if bytes.ContainsAny(b[:n], "qQ\x03\x04") {
				stop()
				return
			}
			if err != nil {
				return
			}
		}
	}()
	nl := term.newline()
	ended := func() bool {
		cur, err := s.st.GetSession(wctx, ss.ID)
		return err == nil && cur.Status != store.StatusActive
	}
	// Follow draws the session through a terminal emulator: nothing the
	// asset writes can make the auditor's terminal act or answer.
	err = FollowSession(wctx, s.st, ss, path, term.sess, recorder.FollowOptions{Stop: ended, Size: term.window,
		Title: fmt.Sprintf(" jms: watching %s@%s as %s, session %s started %s; read-only, q stops ",
			ss.User, ss.Asset, ss.Account, store.ShortSessionID(ss.ID), ss.StartedAt.Local().Format("2006-01-02 15:04"))})
	v.detach()
	<-keysDone
	_, _ = fmt.Fprint(term.sess, "\x1b[0m\x1b[?25h"+nl)
	switch {
	case err == nil:
		return fmt.Sprintf("Session %s ended.", store.ShortSessionID(ss.ID))
	case wctx.Err() != nil && ctx.Err() == nil:
		return fmt.Sprintf("Stopped watching session %s.", store.ShortSessionID(ss.ID))
	case ctx.Err() != nil:
		return ""
	}
	log.Warn("watching a session", "session", ss.ID, "err", err)
	return "watch: " + err.Error()
}

// replaySession plays an ended session's recording with the tui player.
func (s *Server) replaySession(ctx context.Context, term *terminal, scope auditScope, id string, log *slog.Logger) string {
	ss, err := s.auditSession(ctx, scope, id)
	if err != nil {
		return err.Error()
	}
	rc, err := s.openRecording(ctx, ss)
	if err != nil {
		return err.Error()
	}
	defer rc.Close()
	r, err := recorder.NewReader(rc)
	if err != nil {
		return fmt.Sprintf("Session %s: %v", store.ShortSessionID(ss.ID), err)
	}
	p, err := recorder.NewPlayer(r)
	if err != nil {
		return fmt.Sprintf("Session %s: %v", store.ShortSessionID(ss.ID), err)
	}
	p.IdleLimit = 2 * time.Second
	log.Info("replaying a session", "session", ss.ID, "of", ss.User, "asset", ss.Asset)
	title := fmt.Sprintf("%s@%s as %s %s", ss.User, ss.Asset, ss.Account, ss.StartedAt.Local().Format("2006-01-02 15:04"))
	if _, err := s.runProgram(ctx, term, tui.NewReplay(p, title)); err != nil && ctx.Err() == nil {
		return "replay: " + err.Error()
	}
	return ""
}
