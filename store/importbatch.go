package store

import (
	"context"
	"strings"
)

// importBatch is how many rows one multi-row INSERT of an import holds:
// a round trip per batch rather than per row (on PostgreSQL each round
// trip crosses the network), well within both engines' limits on the
// number of parameters.
const importBatch = 250

// newAssetRow is an asset an import adds, with its node's id (nil: none).
type newAssetRow struct {
	row  *ImportAsset
	node any
}

// insertAssets adds rows to the scope's organization with multi-row
// INSERTs and returns their ids by name.
func (s *Store) insertAssets(ctx context.Context, q querier, rows []newAssetRow, now string) (map[string]int64, error) {
	org, err := s.writeOrg()
	if err != nil {
		return nil, err
	}
	ids := make(map[string]int64, len(rows))
	for start := 0; start < len(rows); start += importBatch {
		batch := rows[start:min(start+importBatch, len(rows))]
		args := make([]any, 0, 9*len(batch))
		for _, a := range batch {
			r := a.row
			args = append(args, org, r.Name, r.Address, r.Port, r.Platform, a.node, r.Comment, now, now)
		}
		rs, err := q.QueryContext(ctx, `INSERT INTO assets (org_id, name, address, port, platform, node_id, comment, created_at, updated_at)
			VALUES `+valueRows(len(batch), 9)+` RETURNING id, name`, args...)
		if err != nil {
			return nil, batchErr(batch[0].row.At, batch[len(batch)-1].row.At, wrapError(err))
		}
		for rs.Next() {
			var id int64
			var name string
			if err := rs.Scan(&id, &name); err != nil {
				rs.Close()
				return nil, wrapError(err)
			}
			ids[name] = id
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return nil, batchErr(batch[0].row.At, batch[len(batch)-1].row.At, wrapError(err))
		}
	}
	return ids, nil
}

// insertLabelRows adds (asset_id, key, value) rows with multi-row INSERTs.
func insertLabelRows(ctx context.Context, q querier, labels [][3]any) error {
	for start := 0; start < len(labels); start += importBatch {
		batch := labels[start:min(start+importBatch, len(labels))]
		args := make([]any, 0, 3*len(batch))
		for _, l := range batch {
			args = append(args, l[0], l[1], l[2])
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO asset_labels (asset_id, key, value) VALUES `+valueRows(len(batch), 3), args...); err != nil {
			return wrapError(err)
		}
	}
	return nil
}

// valueRows is "(?, ?), (?, ?)" for rows of width placeholders.
func valueRows(rows, width int) string {
	one := "(" + placeholders(width) + ")"
	var b strings.Builder
	b.Grow(rows * (len(one) + 2))
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(one)
	}
	return b.String()
}

// batchErr places an error of a batch of rows between its first and
// last row.
func batchErr(first, last string, err error) error {
	if first == "" || first == last {
		return rowErr(first, err)
	}
	return rowErr(first+" to "+last, err)
}
