package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// CopyOptions tune CopyDB.
type CopyOptions struct {
	// Force replaces the data of a target that holds some.
	Force bool
}

// CopyReport says what CopyDB moved, table by table.
type CopyReport struct {
	From   string      `json:"from" yaml:"from"`
	To     string      `json:"to" yaml:"to"`
	Tables []TableCopy `json:"tables" yaml:"tables"`
	Rows   int64       `json:"rows" yaml:"rows"`
	Schema int         `json:"schema_version" yaml:"schema_version"`
	Forced bool        `json:"replaced_target_data" yaml:"replaced_target_data"`
}

// TableCopy is one table's copy: its rows and the checksum both sides
// agreed on.
type TableCopy struct {
	Table    string `json:"table" yaml:"table"`
	Rows     int64  `json:"rows" yaml:"rows"`
	Checksum string `json:"checksum" yaml:"checksum"`
}

// ErrTargetNotEmpty is returned by CopyDB when the target holds data and
// CopyOptions.Force is not set.
var ErrTargetNotEmpty = errors.New("the target database is not empty")

// CopyDB copies every table of the database at from into the one at to
// (a one-way move of a single-node install, e.g. SQLite to PostgreSQL),
// ids kept, in one transaction on the target: both are migrated to this
// jmsctl's schema first; the target must be empty unless opts.Force
// (then its rows are deleted in the same transaction); identity
// sequences are moved past the copied ids; and before the commit every
// table's row count and checksum on the target must match the source's,
// or nothing is changed. Sealed secrets are copied as they are: the
// target needs the source's secret key. Stop every serve on the source
// first: its changes made during the copy would not be carried over.
//
// unscoped: a copy moves the whole database.
func CopyDB(ctx context.Context, from, to string, opts CopyOptions) (CopyReport, error) {
	var rep CopyReport
	src, dst, err := openCopyEnds(ctx, from, to)
	if err != nil {
		return rep, err
	}
	defer src.Close()
	defer dst.Close()
	rep.From, rep.To, rep.Forced = src.loc.String(), dst.loc.String(), opts.Force
	if rep.Schema, err = src.SchemaVersion(ctx); err != nil {
		return rep, err
	}
	tables, err := copiedTables()
	if err != nil {
		return rep, err
	}
	// One consistent state of the source: a snapshot on PostgreSQL, the
	// write lock on SQLite (a serve left running waits).
	read, err := src.db.BeginTx(ctx, src.db.d.snapshot())
	if err != nil {
		return rep, fmt.Errorf("read %s: %w", src.loc, src.loc.scrub(err))
	}
	defer read.Rollback()
	sums, err := tableSums(ctx, read, tables)
	if err != nil {
		return rep, fmt.Errorf("read %s: %w", src.loc, src.loc.scrub(err))
	}
	err = dst.withTx(ctx, func(q querier) error {
		if err := dst.clearTarget(ctx, q, tables, opts.Force); err != nil {
			return err
		}
		for _, t := range tables {
			if err := copyTable(ctx, read, q, t); err != nil {
				return fmt.Errorf("copy %s: %w", t, err)
			}
		}
		if err := dst.db.d.resetIDs(ctx, q); err != nil {
			return err
		}
		got, err := tableSums(ctx, q, tables)
		if err != nil {
			return err
		}
		for _, t := range tables {
			if got[t] != sums[t] {
				return fmt.Errorf("table %s: the copy holds %d rows (checksum %s), the source %d (checksum %s): nothing was changed",
					t, got[t].rows, got[t].hex(), sums[t].rows, sums[t].hex())
			}
			rep.Tables = append(rep.Tables, TableCopy{Table: t, Rows: sums[t].rows, Checksum: sums[t].hex()})
			rep.Rows += sums[t].rows
		}
		return dst.recordOp(ctx, q, "db.copy", "", map[string]any{"from": rep.From, "tables": len(tables), "rows": rep.Rows, "forced": opts.Force})
	})
	if err != nil {
		return rep, fmt.Errorf("copy to %s: %w", dst.loc, dst.loc.scrub(err))
	}
	return rep, nil
}

// openCopyEnds opens (and migrates) both ends of a copy. The source must
// exist: a mistyped SQLite path is an error, not a new empty database.
func openCopyEnds(ctx context.Context, from, to string) (src, dst *Store, err error) {
	fl, err := ParseLocation(from)
	if err != nil {
		return nil, nil, fmt.Errorf("--from: %w", err)
	}
	tl, err := ParseLocation(to)
	if err != nil {
		return nil, nil, fmt.Errorf("--to: %w", err)
	}
	if fl.raw() == tl.raw() {
		return nil, nil, errors.New("--from and --to are the same database")
	}
	if fl.Engine == SQLite {
		if _, err := os.Stat(fl.Path); err != nil {
			return nil, nil, fmt.Errorf("--from: no database at %s: %w", fl.Path, err)
		}
	}
	if src, err = Open(ctx, fl.raw(), Options{}); err != nil {
		return nil, nil, fmt.Errorf("--from: %w", err)
	}
	if dst, err = Open(ctx, tl.raw(), Options{}); err != nil {
		src.Close()
		return nil, nil, fmt.Errorf("--to: %w", err)
	}
	return src, dst, nil
}

var (
	createTable = regexp.MustCompile(`(?i)\bCREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)`)
	dropTable   = regexp.MustCompile(`(?i)\bDROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(\w+)`)
)

// copiedTables lists the tables of the migrations in the order they are
// made, which is an order their references allow (a table can only
// refer to one made before it): schema_migrations is the target's own.
// PostgreSQL's migrations say it: SQLite's rebuild some tables under
// another name on the way.
func copiedTables() ([]string, error) {
	ms, err := migrations(PostgreSQL)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range ms {
		sql := stripComments(m.sql)
		for _, c := range createTable.FindAllStringSubmatch(sql, -1) {
			out = append(out, strings.ToLower(c[1]))
		}
		for _, d := range dropTable.FindAllStringSubmatch(sql, -1) {
			out = slices.DeleteFunc(out, func(t string) bool { return t == strings.ToLower(d[1]) })
		}
	}
	// orgs came late, but the inventory's tables refer to it: it goes first.
	out = slices.DeleteFunc(out, func(t string) bool { return t == "orgs" })
	return append([]string{"orgs"}, out...), nil
}

// seededTables are filled by a migration itself (notify_cursors start at
// the audit's end, orgs with the default organization): their rows are part of an empty schema, not data, and
// the copy replaces them with the source's.
var seededTables = map[string]bool{"notify_cursors": true, "orgs": true}

// clearTarget refuses a target that holds rows, naming the tables, or
// with force deletes them (children first). The rows of seeded tables
// are deleted either way.
//
// unscoped: a copy moves the whole database.
func (s *Store) clearTarget(ctx context.Context, q querier, tables []string, force bool) error {
	var full []string
	for _, t := range tables {
		if seededTables[t] {
			continue
		}
		var n int64
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t).Scan(&n); err != nil {
			return wrapError(err)
		}
		if n > 0 {
			full = append(full, fmt.Sprintf("%s: %d", t, n))
		}
	}
	if len(full) > 0 && !force {
		return fmt.Errorf("%w (%s): pass --force to replace its data", ErrTargetNotEmpty, strings.Join(full, ", "))
	}
	for i := len(tables) - 1; i >= 0; i-- {
		if len(full) == 0 && !seededTables[tables[i]] {
			continue
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM `+tables[i]); err != nil {
			return fmt.Errorf("empty %s: %w", tables[i], wrapError(err))
		}
	}
	return nil
}

// copyTable reads table t through src and inserts its rows, ids and
// all, through q.
//
// unscoped: a copy moves the whole database.
func copyTable(ctx context.Context, src, q querier, t string) error {
	rows, err := src.QueryContext(ctx, `SELECT * FROM `+t)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	boolCol, err := boolColumns(ctx, q, t, cols)
	if err != nil {
		return err
	}
	ins, err := prepare(ctx, q, `INSERT INTO `+t+` (`+strings.Join(cols, ", ")+`) VALUES (`+placeholders(len(cols))+`)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		for i, isBool := range boolCol {
			if isBool {
				vals[i] = asBool(vals[i])
			}
		}
		if _, err := ins.ExecContext(ctx, vals...); err != nil {
			return wrapError(err)
		}
	}
	return rows.Err()
}

// boolColumns says which of cols are boolean in the target's table t.
//
// unscoped: a copy moves the whole database.
func boolColumns(ctx context.Context, q querier, t string, cols []string) ([]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+strings.Join(cols, ", ")+` FROM `+t+` WHERE 1 = 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(types))
	for i, ct := range types {
		out[i] = isBoolType(ct.DatabaseTypeName())
	}
	return out, rows.Err()
}

// asBool turns SQLite's 0 and 1 into a Go bool; anything else is kept.
func asBool(v any) any {
	switch b := v.(type) {
	case int64:
		return b != 0
	case int:
		return b != 0
	}
	return v
}

// tableSum is a table's row count and an order-independent checksum of
// its rows: the sum, lane by lane, of each row's SHA-256, so that both
// engines agree whatever order they return rows in.
type tableSum struct {
	rows  int64
	lanes [4]uint64
}

func (t tableSum) hex() string {
	var b [32]byte
	for i, l := range t.lanes {
		binary.BigEndian.PutUint64(b[i*8:], l)
	}
	return hex.EncodeToString(b[:12])
}

// tableSums computes the sums of tables through q, each row's values
// read in the order of the table's own columns, sorted by name so that
// both engines read them alike.
func tableSums(ctx context.Context, q querier, tables []string) (map[string]tableSum, error) {
	out := make(map[string]tableSum, len(tables))
	for _, t := range tables {
		sum, err := tableChecksum(ctx, q, t)
		if err != nil {
			return nil, fmt.Errorf("checksum %s: %w", t, err)
		}
		out[t] = sum
	}
	return out, nil
}

// unscoped: a copy moves the whole database.
func tableChecksum(ctx context.Context, q querier, t string) (tableSum, error) {
	var sum tableSum
	cols, err := columnsOf(ctx, q, t)
	if err != nil {
		return sum, err
	}
	rows, err := q.QueryContext(ctx, `SELECT `+strings.Join(cols, ", ")+` FROM `+t)
	if err != nil {
		return sum, err
	}
	defer rows.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	h := sha256.New()
	var buf []byte
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return sum, err
		}
		h.Reset()
		for _, v := range vals {
			buf = canonicalValue(buf[:0], v)
			h.Write(binary.AppendUvarint(nil, uint64(len(buf))))
			h.Write(buf)
		}
		d := h.Sum(nil)
		for i := range sum.lanes {
			sum.lanes[i] += binary.BigEndian.Uint64(d[i*8:])
		}
		sum.rows++
	}
	return sum, rows.Err()
}

// columnsOf returns the columns of table t, sorted by name.
//
// unscoped: a copy moves the whole database.
func columnsOf(ctx context.Context, q querier, t string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT * FROM `+t+` WHERE 1 = 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	slices.Sort(cols)
	return cols, rows.Err()
}

// canonicalValue writes v as both engines' drivers agree: NULL apart
// from every string, booleans and integers as decimals, text and bytes
// as their bytes.
func canonicalValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, 0xff, 'N')
	case bool:
		if x {
			return append(b, '1')
		}
		return append(b, '0')
	case int64:
		return strconv.AppendInt(b, x, 10)
	case int32:
		return strconv.AppendInt(b, int64(x), 10)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case float64:
		return strconv.AppendFloat(b, x, 'g', -1, 64)
	case string:
		return append(b, x...)
	case []byte:
		return append(b, x...)
	}
	return fmt.Append(b, v)
}
