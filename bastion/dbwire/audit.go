package dbwire

import (
	"context"
	"log/slog"
	"time"

	"github.com/jms-bastion/jms/bastion/database"
	"github.com/jms-bastion/jms/bastion/filter"
	"github.com/jms-bastion/jms/store"
)

// Auditor writes each statement of one session to the command audit.
type Auditor struct {
	St      Store
	Session string    // the session's id
	Start   time.Time // when the session (and its recording) began
	User    string
	Asset   string
	Account string
	Log     *slog.Logger // nil: slog.Default()
}

// auditTimeout bounds one write of statement records to the store.
const auditTimeout = 30 * time.Second

// Statement implements database.Auditor.
func (a Auditor) Statement(ctx context.Context, rec database.StatementRecord) {
	if _, err := a.St.AddCommandEvent(context.WithoutCancel(ctx), a.event(rec)); err != nil {
		a.logger().Error("recording a statement in the audit", "session", a.Session, "err", err)
	}
}

// event is the command event of a statement of a's session.
func (a Auditor) event(rec database.StatementRecord) store.CommandEvent {
	e := Event(rec)
	e.SessionID, e.User, e.Asset, e.Account = a.Session, a.User, a.Asset, a.Account
	e.OffsetMS = max(0, rec.Started.Sub(a.Start).Milliseconds())
	return e
}

func (a Auditor) logger() *slog.Logger {
	if a.Log == nil {
		return slog.Default()
	}
	return a.Log
}

// Event is the command event of a statement record, without its session.
func Event(rec database.StatementRecord) store.CommandEvent {
	e := store.CommandEvent{At: rec.Started, Command: rec.Text, Verdict: verdict(rec.Verdict), Filter: rec.Verdict.Rule, Error: rec.Error}
	if rec.Ran {
		rows, ms := rec.Rows, rec.Duration.Milliseconds()
		e.Rows, e.DurationMS = &rows, &ms
	}
	return e
}

// verdict is the audit's verdict of a statement: a review's outcome as
// review:approved or review:rejected.
func verdict(v database.Verdict) string {
	if v.Ticket != 0 {
		if v.Runs() {
			return store.ReviewVerdict("approved")
		}
		return store.ReviewVerdict("rejected")
	}
	switch v.Action {
	case filter.Allow:
		return store.VerdictAllow
	case filter.Warn:
		return store.VerdictWarn
	}
	return store.VerdictDeny
}
