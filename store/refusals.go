package store

import (
	"context"
	"time"
)

// ShareRefusals adds node's pre-auth refusals counted in memory since
// its last call (counts, per source key) to its rows in the store, and
// returns, for those sources, the refusals of every node whose counting
// window started within window before now: what throttles a source
// whose refusals are spread over the cluster. Rows whose window is over
// start again. One transaction, one row per source and node.
func (s *Store) ShareRefusals(ctx context.Context, node string, counts map[string]int, now time.Time, window time.Duration) (map[string]int, error) {
	out := make(map[string]int, len(counts))
	if len(counts) == 0 {
		return out, nil
	}
	from, at := formatTime(now.Add(-window)), formatTime(now)
	err := s.withTx(ctx, func(q querier) error {
		keys := make([]any, 0, len(counts))
		for key, n := range counts {
			_, err := q.ExecContext(ctx, `INSERT INTO source_refusals (source_key, node, since, count) VALUES (?, ?, ?, ?)
				ON CONFLICT (source_key, node) DO UPDATE SET
				count = CASE WHEN source_refusals.since >= ? THEN source_refusals.count + excluded.count ELSE excluded.count END,
				since = CASE WHEN source_refusals.since >= ? THEN source_refusals.since ELSE excluded.since END`,
				key, node, at, n, from, from)
			if err != nil {
				return wrapError(err)
			}
			keys = append(keys, key)
		}
		rows, err := q.QueryContext(ctx, `SELECT source_key, SUM(count) FROM source_refusals WHERE since >= ?
			AND source_key IN (`+placeholders(len(keys))+`) GROUP BY source_key`, append([]any{from}, keys...)...)
		if err != nil {
			return wrapError(err)
		}
		defer rows.Close()
		for rows.Next() {
			var key string
			var n int
			if err := rows.Scan(&key, &n); err != nil {
				return wrapError(err)
			}
			out[key] = n
		}
		if err := rows.Err(); err != nil {
			return wrapError(err)
		}
		_, err = q.ExecContext(ctx, `DELETE FROM source_refusals WHERE since < ?`, from)
		return wrapError(err)
	})
	return out, err
}
