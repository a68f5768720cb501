package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// AddCommandEvents records several command events in one transaction:
// the batches a database session's statement audit writes off its query
// path (bastion/dbwire.Queue). Each event takes the organization of its
// session, read once per session; a zero At is the store's now. Either
// every event is recorded or none is.
//
// unscoped: an event takes its organization from its session (eventOrg).
func (s *Store) AddCommandEvents(ctx context.Context, es []CommandEvent) error {
	orgs := map[string]int64{}
	for _, e := range es {
		if e.SessionID == "" || e.User == "" || e.Verdict == "" {
			return errors.New("a command event needs a session, a user and a verdict")
		}
		if _, ok := orgs[e.SessionID]; ok {
			continue
		}
		org, err := s.eventOrg(ctx, e.SessionID, 0)
		if err != nil {
			return err
		}
		orgs[e.SessionID] = org
	}
	now := s.now()
	return s.withTx(ctx, func(q querier) error {
		for chunk := range slices.Chunk(es, rowsPerInsert) {
			query, args := insertCommandEvents(chunk, orgs, now)
			if _, err := q.ExecContext(ctx, query, args...); err != nil {
				return wrapError(err)
			}
		}
		return nil
	})
}

// rowsPerInsert is how many command events one INSERT writes (13
// parameters each, far below either engine's limit).
const rowsPerInsert = 64

// insertCommandEvents is one INSERT of es, whose organizations orgs holds
// by session; a zero At is now.
//
// unscoped: the organizations come from the events' sessions (AddCommandEvents).
func insertCommandEvents(es []CommandEvent, orgs map[string]int64, now time.Time) (string, []any) {
	var b strings.Builder
	b.WriteString(`INSERT INTO command_events (session_id, at, offset_ms, user_name, asset_name,
		account, command, verdict, filter_name, org_id, row_count, duration_ms, error) VALUES `)
	args := make([]any, 0, 13*len(es))
	for i, e := range es {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		at := e.At
		if at.IsZero() {
			at = now
		}
		args = append(args, e.SessionID, formatTime(at), e.OffsetMS, e.User, e.Asset, e.Account, e.Command, e.Verdict,
			e.Filter, orgs[e.SessionID], e.Rows, e.DurationMS, e.Error)
	}
	return b.String(), args
}
