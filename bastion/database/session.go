package database

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jms-bastion/jms/bastion/database/sqlsplit"
)

// Options are what a Session needs from the bastion.
type Options struct {
	Judge   Judge   // nil: AllowAll
	Audit   Auditor // nil: NoAudit
	MaxRows int     // rows a result keeps; 0: DefaultMaxRows
	Source  string  // recorded with each statement: console, exec …
	Logger  *slog.Logger
	Now     func() time.Time // nil: time.Now
}

// Session is one logged-in connection to a database asset whose statements
// are judged one by one before they are sent. It is not safe for
// concurrent use: a console runs one statement at a time.
type Session struct {
	target Target
	be     backend
	opts   Options
}

// Open logs in to t. A login the server refuses is a *ServerError inside
// the returned error (ERROR 1045 (28000): Access denied …).
func Open(ctx context.Context, t Target, o Options) (*Session, error) {
	be, err := dial(ctx, t)
	if err != nil {
		return nil, err
	}
	if o.Judge == nil {
		o.Judge = AllowAll
	}
	if o.Audit == nil {
		o.Audit = NoAudit
	}
	if o.MaxRows <= 0 {
		o.MaxRows = DefaultMaxRows
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Session{target: t, be: be, opts: o}, nil
}

// Test logs in to t and returns the server's version (asset test).
func Test(ctx context.Context, t Target) (string, error) {
	be, err := dial(ctx, t)
	if err != nil {
		return "", err
	}
	defer be.close()
	v, err := be.version(ctx)
	if err != nil {
		return "", fmt.Errorf("asking %s for its version: %w", t.HostPort(), err)
	}
	return v, nil
}

// Target returns the target the session is logged in to.
func (s *Session) Target() Target { return s.target }

// Dialect is the SQL dialect of the session's server.
func (s *Session) Dialect() sqlsplit.Dialect { return s.target.Engine.Dialect() }

// Version returns the server's version.
func (s *Session) Version(ctx context.Context) (string, error) { return s.be.version(ctx) }

// Interrupt stops the statement running now (Ctrl-C in the console): a
// cancel request on PostgreSQL, KILL QUERY from a second connection on
// MySQL. The statement fails with the server's error and the session stays
// usable. It may be called from another goroutine while Run runs.
func (s *Session) Interrupt(ctx context.Context) error {
	if err := s.be.interrupt(ctx); err != nil {
		return fmt.Errorf("interrupting the statement on %s: %w", s.target.HostPort(), err)
	}
	return nil
}

// Close logs out.
func (s *Session) Close() error { return s.be.close() }

// Outcome is what became of one statement.
type Outcome struct {
	Statement Statement
	Verdict   Verdict
	Result    *Result // nil when the statement did not run or failed
	Err       error   // *DeniedError, *ServerError, or a connection error
}

// Run splits input into statements and runs them in order, each judged
// first. It stops at the first statement denied or failed: the statements
// after it are not sent (a script must not go on past a DROP the filters
// stopped, or past an error).
func (s *Session) Run(ctx context.Context, input string) []Outcome {
	var out []Outcome
	for _, st := range sqlsplit.Split(s.Dialect(), input) {
		o := s.RunStatement(ctx, st)
		out = append(out, o)
		if o.Err != nil {
			break
		}
	}
	return out
}

// RunStatement judges one statement, sends it if allowed, and audits it.
// The statement is judged under every reading of its dialect, so that a
// server in another quoting mode cannot run something other than what was
// judged.
func (s *Session) RunStatement(ctx context.Context, st Statement) Outcome {
	v, _ := JudgeInput(ctx, s.opts.Judge, s.Dialect(), st.Text)
	rec := StatementRecord{Source: s.opts.Source, Text: st.Text, Kind: st.Kind, Verdict: v, Started: s.opts.Now()}
	o := Outcome{Statement: st, Verdict: v}
	if !v.Runs() {
		o.Err = &DeniedError{Verdict: v}
		s.opts.Audit.Statement(ctx, rec)
		return o
	}
	res, err := s.be.run(ctx, st, s.opts.MaxRows)
	rec.Ran = true
	rec.Duration = s.opts.Now().Sub(rec.Started)
	if err != nil {
		o.Err = err
		rec.Error = err.Error()
		s.opts.Logger.Debug("statement failed", "target", s.target, "kind", st.Kind, "err", err)
	} else {
		o.Result = res
		rec.Rows = res.rowCount()
	}
	s.opts.Audit.Statement(ctx, rec)
	return o
}

// Failed reports whether any outcome carries an error, for an exit status.
func Failed(outs []Outcome) bool {
	for _, o := range outs {
		if o.Err != nil {
			return true
		}
	}
	return false
}

// IsDenied reports whether err is a statement the filters stopped.
func IsDenied(err error) bool {
	var d *DeniedError
	return errors.As(err, &d)
}
