package database

import (
	"database/sql"
	"time"
)

// DefaultMaxRows is how many rows a result keeps when no limit is set
// (sql_max_rows).
const DefaultMaxRows = 10000

// Result is what one statement gave back, bounded: at most the session's
// MaxRows rows are kept; Count says how many the server sent.
type Result struct {
	// Columns are the result's column names; none for a statement that
	// returns no rows (INSERT, CREATE …).
	Columns []string
	// Rows are the first rows, each value in the server's text form.
	Rows [][]sql.NullString
	// Count is the number of rows returned (all of them, kept or not).
	Count int64
	// Affected is the number of rows a statement without a result changed.
	Affected int64
	// Tag is PostgreSQL's command tag (INSERT 0 1); empty for MySQL.
	Tag      string
	Duration time.Duration
}

// HasRows reports whether the statement returned a result set.
func (r *Result) HasRows() bool { return len(r.Columns) > 0 }

// Truncated reports whether rows were left out.
func (r *Result) Truncated() bool { return r.Count > int64(len(r.Rows)) }

// rowCount is the figure the audit keeps: rows returned, or affected.
func (r *Result) rowCount() int64 {
	if r.HasRows() {
		return r.Count
	}
	return r.Affected
}
