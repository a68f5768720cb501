package bastion

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"charm.land/ssh"
	"github.com/google/uuid"

	"github.com/jms-bastion/jms/bastion/database"
	"github.com/jms-bastion/jms/bastion/database/console"
	"github.com/jms-bastion/jms/bastion/dbwire"
	"github.com/jms-bastion/jms/recorder"
	"github.com/jms-bastion/jms/store"
)

// databaseStore is what a database session needs of the store beyond
// Store; *store.Store has it.
type databaseStore interface {
	dbwire.Store
	StartSession(ctx context.Context, ns store.NewSession) (store.Session, error)
	EndSession(ctx context.Context, id string, end store.SessionEnd) error
}

// dbSession is one session on a database asset: the SQL console on a
// PTY, or the statements of an exec request.
type dbSession struct {
	s     *Server
	st    databaseStore
	v     *view
	t     Target
	asset store.Asset
	acc   store.GrantedAccount
	log   *slog.Logger

	id    string
	run   *liveRun
	rec   *recorder.Writer // nil when the recording could not be made
	recMu sync.Mutex
}

// databaseSession runs a session on a database asset (the grant checked
// by session): it returns the exit status and the line to tell ("" when
// none).
func (s *Server) databaseSession(ctx context.Context, term *terminal, t Target, now store.Access, g store.GrantedAccount, log *slog.Logger) (int, string) {
	st, ok := s.st.(databaseStore)
	if !ok {
		return 1, "jms: this bastion cannot open database sessions"
	}
	target, err := dbwire.Target(ctx, st, now.Asset, g.ID, s.cfg.ConnectTimeout)
	if err != nil {
		log.Warn("database target", "asset", now.Asset.Name, "err", err)
		return 1, "jms: " + err.Error()
	}
	v := term.attach()
	defer v.detach()
	d := &dbSession{s: s, st: st, v: v, t: t, asset: now.Asset, acc: g, id: uuid.NewString(),
		log: log.With("asset", now.Asset.Name, "account", g.Username)}
	judge, err := dbwire.Judge(ctx, st, t.User, now.Asset.ID, g.Username, d.review().Reviewer())
	if err != nil {
		log.Error("database filters", "asset", now.Asset.Name, "err", err)
		return 1, "jms: internal error (the bastion's log has the details)"
	}
	return d.serve(ctx, target, judge)
}

// review holds the session's statements for review with tickets; the
// person is told on stderr (exec) or the terminal (console).
func (d *dbSession) review() dbwire.Review {
	notice := func(msg string) { _, _ = fmt.Fprintln(&recordedWriter{w: d.v.Stderr(), d: d}, msg) }
	if _, _, isPty := d.v.Pty(); isPty {
		notice = func(msg string) { _, _ = fmt.Fprint(&recordedWriter{w: d.v, d: d}, msg+"\r\n") }
	}
	return dbwire.Review{St: d.st, Session: d.id, User: d.t.User, Asset: d.asset.Name, Account: d.acc.Username,
		Timeout: d.s.cfg.ReviewTimeout, Notice: notice, Log: d.log}
}

// serve opens the session row, the recording and the database session,
// runs the console or the statements, and ends the row.
func (d *dbSession) serve(ctx context.Context, target database.Target, judge database.Judge) (int, string) {
	start := d.s.now()
	pty, winch, isPty := d.v.Pty()
	interactive := isPty && d.t.Command == ""
	recPath := d.openRecording(start, pty, interactive)
	src := d.v.t.sess.RemoteAddr().String()
	node, _ := d.s.cfg.Node() // the proxy's node name: serve checked it at start
	row, err := d.st.StartSession(ctx, store.NewSession{ID: d.id, Kind: store.SessionSQL, User: d.t.User, AssetID: d.asset.ID,
		Asset: d.asset.Name, Account: d.acc.Username, Source: src, Command: d.t.Command, RecordingPath: recPath,
		StartedAt: start, Node: node})
	if err != nil {
		d.closeRecording()
		d.log.Error("database session start", "err", err)
		return 1, "jms: internal error (the bastion's log has the details)"
	}
	d.run = d.s.newLiveRun(ctx)
	defer d.run.done()
	host, _, _ := net.SplitHostPort(src)
	d.run.join(&liveSession{id: row.ID, kind: row.Kind, user: d.t.User, asset: d.asset.Name, assetID: d.asset.ID,
		account: d.acc.Username, source: host, needs: []string{store.ActionConnect}, notify: d.v.notice, recording: recPath},
		d.v.t.idleSince)
	d.log.Info("database session", "session", d.id, "interactive", interactive)
	status, msg := d.work(target, judge, winch, interactive)
	d.end(ctx, status, msg)
	return status, msg
}

// work logs in and runs the console or the statements under the live
// run's context; a kill ends it with its cause.
func (d *dbSession) work(target database.Target, judge database.Judge, winch <-chan ssh.Window, interactive bool) (int, string) {
	ctx := d.run.ctx
	source := "exec"
	if interactive {
		source = "console"
	}
	audit := dbwire.Auditor{St: d.st, Session: d.id, Start: d.s.now(), User: d.t.User, Asset: d.asset.Name,
		Account: d.acc.Username, Log: d.log}
	sess, err := database.Open(ctx, target, database.Options{Judge: judge, Audit: audit, Source: source,
		MaxRows: d.s.cfg.SQLMaxRows, Logger: d.log})
	if err != nil {
		d.log.Warn("database login", "err", err)
		return 1, fmt.Sprintf("jms: the bastion could not log in to %s: %s", d.asset.Name, strings.Join(strings.Fields(err.Error()), " "))
	}
	defer sess.Close()
	stop := context.AfterFunc(ctx, d.v.InterruptRead)
	defer stop()
	out := &recordedWriter{w: d.v, d: d}
	if !interactive {
		format, input := execFormat(d.t.Command)
		status := console.Exec(ctx, sess, input, format, out, &recordedWriter{w: d.v.Stderr(), d: d})
		return d.ended(ctx, status)
	}
	w, h := d.v.t.window()
	ed := console.NewLineEditor(struct {
		io.Reader
		io.Writer
	}{d.v, out}, w, h)
	go followWindow(ctx, winch, ed)
	c := console.New(sess, ed, d.asset.Name, func() int { w, _ := d.v.t.window(); return w })
	if err := c.Loop(ctx, ed); err != nil && ctx.Err() == nil {
		d.log.Warn("console", "err", err)
	}
	return d.ended(ctx, 0)
}

// ended is the exit status and the line to tell: status, or 1 and why
// when the session was ended from outside.
func (d *dbSession) ended(ctx context.Context, status int) (int, string) {
	if msg := d.cause(ctx); msg != "" {
		return 1, msg
	}
	return status, ""
}

// cause is the line that says why the session was ended from outside, or "".
func (d *dbSession) cause(ctx context.Context) string {
	if ctx.Err() == nil {
		return ""
	}
	cause := context.Cause(ctx)
	if cause == nil || errors.Is(cause, context.Canceled) {
		return ""
	}
	return "jms: session ended: " + cause.Error()
}

// followWindow resizes the line editor with the terminal.
func followWindow(ctx context.Context, winch <-chan ssh.Window, ed *console.LineEditor) {
	for {
		select {
		case <-ctx.Done():
			return
		case w, ok := <-winch:
			if !ok {
				return
			}
			_ = ed.Resize(w.Width, w.Height)
		}
	}
}

// execFormat reads the output format of an exec request: a leading
// --json asks for JSON, else TSV.
func execFormat(cmd string) (database.Format, string) {
	trimmed := strings.TrimSpace(cmd)
	if rest, ok := strings.CutPrefix(trimmed, "--json"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
		return database.JSON, strings.TrimSpace(rest)
	}
	if rest, ok := strings.CutPrefix(trimmed, "--tsv"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
		return database.TSV, strings.TrimSpace(rest)
	}
	return database.TSV, trimmed
}

// end records the end of the session with its recording.
func (d *dbSession) end(ctx context.Context, status int, msg string) {
	size, sum := d.closeRecording()
	end := store.SessionEnd{Status: store.StatusClosed, ExitStatus: &status, Reason: strings.TrimPrefix(msg, "jms: "),
		RecordingSize: size, RecordingSHA256: sum, EndedAt: d.s.now()}
	if c := context.Cause(d.run.ctx); c != nil && !errors.Is(c, context.Canceled) {
		end.Status = store.StatusKilled
	}
	if err := d.st.EndSession(context.WithoutCancel(ctx), d.id, end); err != nil {
		d.log.Error("database session end", "session", d.id, "err", err)
	}
}

// openRecording starts the asciicast of the session; "" when it could
// not (the session goes on, logged).
func (d *dbSession) openRecording(start interface{ Unix() int64 }, pty ssh.Pty, isPty bool) string {
	path := filepath.Join(d.s.cfg.RecordingsDir(), d.s.now().UTC().Format("2006-01-02"), d.id+".cast")
	w, h := recorder.DefaultWidth, recorder.DefaultHeight
	env := map[string]string{}
	if isPty && pty.Window.Width > 0 && pty.Window.Height > 0 {
		w, h = pty.Window.Width, pty.Window.Height
		if pty.Term != "" {
			env["TERM"] = pty.Term
		}
	}
	rec, err := recorder.CreateWith(path, recorder.Header{Width: w, Height: h, Timestamp: start.Unix(), Command: d.t.Command,
		Title: fmt.Sprintf("%s@%s as %s", d.t.User, d.asset.Name, d.acc.Username), Env: env}, recorder.Options{Now: d.s.now})
	if err != nil {
		d.log.Error("database session recording", "err", err)
		return ""
	}
	d.rec = rec
	return path
}

// record adds output to the recording.
func (d *dbSession) record(p []byte) {
	d.recMu.Lock()
	defer d.recMu.Unlock()
	if d.rec == nil {
		return
	}
	if err := d.rec.Output(p); err != nil {
		d.log.Error("database session recording", "err", err)
		d.rec.Close()
		d.rec = nil
	}
}

func (d *dbSession) closeRecording() (int64, string) {
	d.recMu.Lock()
	defer d.recMu.Unlock()
	if d.rec == nil {
		return 0, ""
	}
	path := d.rec.Path()
	if err := d.rec.Close(); err != nil {
		d.log.Error("database session recording", "err", err)
	}
	d.rec = nil
	size, sum, err := recorder.Digest(path)
	if err != nil {
		d.log.Error("database session recording", "err", err)
		_ = os.Remove(path)
		return 0, ""
	}
	return size, sum
}

// recordedWriter writes to the person and to the recording.
type recordedWriter struct {
	w io.Writer
	d *dbSession
}

func (r *recordedWriter) Write(p []byte) (int, error) {
	n, err := r.w.Write(p)
	r.d.record(p[:n])
	return n, err
}
