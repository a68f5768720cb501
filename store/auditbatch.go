package store

import (
	"context"
	"errors"
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
		for _, e := range es {
			if e.At.IsZero() {
				e.At = now
			}
			if _, err := q.ExecContext(ctx, `INSERT INTO command_events (session_id, at, offset_ms, user_name, asset_name,
				account, command, verdict, filter_name, org_id, row_count, duration_ms, error)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				e.SessionID, formatTime(e.At), e.OffsetMS, e.User, e.Asset, e.Account, e.Command, e.Verdict, e.Filter,
				orgs[e.SessionID], e.Rows, e.DurationMS, e.Error); err != nil {
				return wrapError(err)
			}
		}
		return nil
	})
}
