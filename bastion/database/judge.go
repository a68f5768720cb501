package database

import (
	"context"
	"log/slog"
	"time"

	"github.com/jms-bastion/jms/bastion/database/sqlsplit"
	"github.com/jms-bastion/jms/bastion/filter"
)

// Statement is one SQL statement as the filters see it.
type Statement = sqlsplit.Statement

// Verdict is the decision on one statement. A Judge resolves reviews
// itself: it returns Allow (or Warn) once a reviewer approved and Deny when
// one rejected or the wait ended; a Session and the proxies treat an
// unresolved Review, and the zero Action, as Deny.
type Verdict struct {
	Action  filter.Action // Allow when nothing matched
	Rule    string        // the deciding filter's name; empty when none matched
	RuleID  int64
	Message string // one line for the user; empty for a plain allow
	Ticket  int64  // the review ticket that decided, if any
}

// Runs reports whether the statement may reach the server.
func (v Verdict) Runs() bool {
	return v.Action == filter.Allow || v.Action == filter.Warn
}

// Judge decides whether a statement may run: the statement filters whose
// scope covers the session, and the review of held statements.
type Judge interface {
	Judge(ctx context.Context, stmt Statement) Verdict
}

// JudgeFunc adapts a function to Judge.
type JudgeFunc func(ctx context.Context, stmt Statement) Verdict

// Judge calls f.
func (f JudgeFunc) Judge(ctx context.Context, stmt Statement) Verdict { return f(ctx, stmt) }

// AllowAll is the Judge of a session without filters.
var AllowAll Judge = JudgeFunc(func(context.Context, Statement) Verdict {
	return Verdict{Action: filter.Allow}
})

// StatementRecord is what the audit keeps of one statement: never its
// result data, only the count.
type StatementRecord struct {
	Source   string // console, exec, mysql-proxy, pg-proxy
	Text     string
	Kind     string
	Verdict  Verdict
	Ran      bool  // the statement reached the server
	Rows     int64 // rows returned, or affected for a statement without rows
	Started  time.Time
	Duration time.Duration
	Error    string // the server's error, as it gave it
}

// Auditor records statements (the command audit).
type Auditor interface {
	Statement(ctx context.Context, rec StatementRecord)
}

// AuditFunc adapts a function to Auditor.
type AuditFunc func(ctx context.Context, rec StatementRecord)

// Statement calls f.
func (f AuditFunc) Statement(ctx context.Context, rec StatementRecord) { f(ctx, rec) }

// NoAudit discards records.
var NoAudit Auditor = AuditFunc(func(context.Context, StatementRecord) {})

// JudgeInput judges every statement of an input under every reading of its
// dialect (see [sqlsplit.Judged]) and returns the most severe verdict (deny,
// then review, warn, allow; the first among equals) with the statement it
// fell on. An input sent whole to the server, as a proxy must, runs only
// when this verdict runs.
func JudgeInput(ctx context.Context, j Judge, d sqlsplit.Dialect, input string) (Verdict, Statement) {
	best := Verdict{Action: filter.Allow}
	var at Statement
	for i, st := range sqlsplit.Judged(d, input) {
		v := j.Judge(ctx, st)
		if i == 0 || v.Action > best.Action {
			best, at = v, st
		}
		if best.Action == filter.Deny {
			break
		}
	}
	return best, at
}

// Hooks are what a wire proxy calls out to: the judge of each statement,
// the audit of each, a logger and a clock. Zero fields mean allow all, no
// audit, no log and time.Now (WithDefaults).
type Hooks struct {
	Judge  Judge   // nil: AllowAll
	Audit  Auditor // nil: NoAudit
	Logger *slog.Logger
	Now    func() time.Time
}

// WithDefaults returns h with its zero fields filled in.
func (h Hooks) WithDefaults() Hooks {
	if h.Judge == nil {
		h.Judge = AllowAll
	}
	if h.Audit == nil {
		h.Audit = NoAudit
	}
	if h.Logger == nil {
		h.Logger = slog.New(slog.DiscardHandler)
	}
	if h.Now == nil {
		h.Now = time.Now
	}
	return h
}
