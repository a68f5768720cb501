package pgproxy

import (
	"context"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jms-bastion/jms/bastion/database"
	"github.com/jms-bastion/jms/bastion/database/sqlsplit"
)

// maxNames bounds the prepared statements and portals the tracker
// remembers for one connection.
const maxNames = 10000

// tracker pairs the statements sent with the server's answers, in order,
// to audit each with its row count, duration and error. The server answers
// in the order it was asked, and after an error skips to the next Sync,
// whose ReadyForQuery ends what was left unanswered.
type tracker struct {
	p *Proxy

	mu      sync.Mutex
	queue   []*pending
	stmts   map[string]judged // prepared statement → its query
	portals map[string]judged // portal → its query
}

// judged is a query and the verdict that let it run.
type judged struct {
	q string
	v database.Verdict
}

// pending is a statement sent and not yet answered.
type pending struct {
	rec  database.StatementRecord
	rows int64
}

func newTracker(p *Proxy) *tracker {
	return &tracker{p: p, stmts: map[string]judged{}, portals: map[string]judged{}}
}

func (t *tracker) record(text string, v database.Verdict) *pending {
	kind := ""
	if sts := sqlsplit.Split(sqlsplit.PostgreSQL, text); len(sts) > 0 {
		kind = sts[0].Kind
	}
	return &pending{rec: database.StatementRecord{
		Source: "pg-proxy", Text: text, Kind: kind, Ran: true,
		Verdict: v, Started: t.p.Now(),
	}}
}

// query notes a simple Query: one answer per statement (an empty query
// gets EmptyQueryResponse).
func (t *tracker) query(q string, v database.Verdict) {
	t.mu.Lock()
	defer t.mu.Unlock()
	sts := sqlsplit.Split(sqlsplit.PostgreSQL, q)
	if len(sts) == 0 {
		t.queue = append(t.queue, &pending{rec: database.StatementRecord{Text: ""}})
		return
	}
	for _, st := range sts {
		t.queue = append(t.queue, t.record(st.Text, v))
	}
}

func (t *tracker) parse(name, q string, v database.Verdict) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.stmts) < maxNames || name == "" {
		t.stmts[name] = judged{q: q, v: v}
	}
}

func (t *tracker) bind(portal, stmt string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.portals) < maxNames || portal == "" {
		t.portals[portal] = t.stmts[stmt]
	}
}

// execute notes an Execute: one answer (CommandComplete, PortalSuspended,
// EmptyQueryResponse or an error).
func (t *tracker) execute(portal string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	j := t.portals[portal]
	t.queue = append(t.queue, t.record(j.q, j.v))
}

func (t *tracker) row() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.queue) > 0 {
		t.queue[0].rows++
	}
}

// complete ends the oldest pending statement with the server's tag or
// error.
func (t *tracker) complete(tag, errText string) {
	t.mu.Lock()
	if len(t.queue) == 0 {
		t.mu.Unlock()
		return
	}
	pd := t.queue[0]
	t.queue = t.queue[1:]
	t.mu.Unlock()
	if pd.rec.Text == "" {
		return
	}
	pd.rec.Duration = t.p.Now().Sub(pd.rec.Started)
	pd.rec.Rows = pd.rows
	if tag != "" {
		if n := pgconn.NewCommandTag(tag).RowsAffected(); n > pd.rows {
			pd.rec.Rows = n
		}
	}
	pd.rec.Error = errText
	t.p.Audit.Statement(context.Background(), pd.rec)
}

// flush ends every pending statement as not run (the server skipped it).
func (t *tracker) flush(why string) {
	t.mu.Lock()
	left := t.queue
	t.queue = nil
	t.mu.Unlock()
	for _, pd := range left {
		if pd.rec.Text == "" {
			continue
		}
		pd.rec.Ran, pd.rec.Error = false, why
		t.p.Audit.Statement(context.Background(), pd.rec)
	}
}

// denied audits an input the judge stopped.
func (t *tracker) denied(input string, v database.Verdict) {
	rec := database.StatementRecord{Source: "pg-proxy", Text: input, Verdict: v, Started: t.p.Now()}
	if sts := sqlsplit.Split(sqlsplit.PostgreSQL, input); len(sts) > 0 {
		rec.Kind = sts[0].Kind
	}
	t.p.Audit.Statement(context.Background(), rec)
}
