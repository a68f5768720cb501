package dbwire

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jms-bastion/jms/bastion/database"
	"github.com/jms-bastion/jms/printable"
	"github.com/jms-bastion/jms/store"
)

// Review holds statements for review with tickets, as the shell filters
// do: a ticket per held statement, which `jmsctl ticket approve|reject`
// decides. The wait ends with the decision, the session's end (the ticket
// is canceled) or Timeout.
type Review struct {
	St      Store
	Session string
	User    string
	Asset   string
	Account string
	Timeout time.Duration    // 0: five minutes
	Poll    time.Duration    // how often the ticket is read; 0: 250 ms
	Notice  func(msg string) // tells the person (nil: nothing)
	Log     *slog.Logger
}

// Reviewer is the database.Reviewer of r.
func (r Review) Reviewer() database.Reviewer {
	return func(ctx context.Context, stmt database.Statement, v database.Verdict) (bool, int64, error) {
		return r.hold(ctx, stmt.Text, v.Rule)
	}
}

func (r Review) hold(ctx context.Context, text, filterName string) (bool, int64, error) {
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	t, err := r.St.AddTicket(tctx, store.NewTicket{SessionID: r.Session, User: r.User, Asset: r.Asset, Account: r.Account,
		Command: text, Filter: filterName})
	cancel()
	if err != nil {
		return false, 0, fmt.Errorf("no review ticket could be opened: %w", err)
	}
	r.notice(fmt.Sprintf("jms: statement waits for approval (ticket %d, filter %q)", t.ID, filterName))
	timeout, poll := r.Timeout, r.Poll
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	limit := time.NewTimer(timeout)
	defer limit.Stop()
	for {
		select {
		case <-ctx.Done():
			r.cancel(ctx, t.ID, "the session ended")
			return false, t.ID, errors.New("the session ended")
		case <-limit.C:
			r.cancel(ctx, t.ID, "no decision within "+timeout.String())
			return false, t.ID, fmt.Errorf("no decision within %s", timeout)
		case <-tick.C:
			d, err := r.St.TicketStatus(ctx, t.ID)
			if err != nil || d.Status == store.TicketPending {
				continue
			}
			r.notice(fmt.Sprintf("jms: ticket %d %s by %s", t.ID, printable.Escape(d.Status), printable.Escape(d.DecidedBy)))
			return d.Status == store.TicketApproved, t.ID, nil
		}
	}
}

func (r Review) cancel(ctx context.Context, id int64, why string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := r.St.CancelTicket(cctx, id, why); err != nil && !errors.Is(err, store.ErrTicketDecided) && r.Log != nil {
		r.Log.Error("cannot cancel a review ticket", "ticket", id, "err", err)
	}
}

func (r Review) notice(msg string) {
	if r.Notice != nil {
		r.Notice(msg)
	}
}
