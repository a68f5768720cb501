// Package store holds the data of jms: people, groups, assets in a node
// tree, accounts with sealed secrets, grants, filters, sessions and the
// audit. It is the only package that speaks SQL.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver
)

// Store is the jms database seen from one organization scope (see
// scope.go): Open gives the default organization's; InOrg and AllOrgs
// give other views of the same database. It is safe for concurrent use.
type Store struct {
	*shared
	scope orgScope
}

// shared is what every view of one database has in common.
type shared struct {
	db  *db
	loc Location
	now func() time.Time

	sealerMu sync.RWMutex
	sealer   *Sealer
	reload   func() (*Sealer, error)
	inv      inventoryCache // see inventory.go
}

// Options tune Open.
type Options struct {
	// Sealer seals and opens account secrets and MFA seeds. Without one,
	// every operation that touches a secret fails with ErrNoKey.
	Sealer *Sealer
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// ReloadSealer, when set, is called when a sealed value names a key
	// the sealer does not hold, or the database says secrets are now
	// sealed with such a key — a `jmsctl secret rekey` run by another
	// process — so that a running server picks up the new key.
	ReloadSealer func() (*Sealer, error)
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Open opens the database at where, applying pending migrations: a
// PostgreSQL URL (postgres://…, postgresql://…), a sqlite:// URL, or the
// path of a SQLite file (made if needed, with WAL, foreign keys and a
// busy timeout). Errors name a URL with its password redacted.
func Open(ctx context.Context, where string, opts Options) (*Store, error) {
	loc, err := ParseLocation(where)
	if err != nil {
		return nil, err
	}
	var pool *sql.DB
	if loc.Engine == PostgreSQL {
		pool, err = openPostgres(ctx, loc)
	} else {
		pool, err = openSQLite(ctx, loc.Path)
	}
	if err != nil {
		return nil, err
	}
	s := &Store{shared: &shared{db: &db{DB: pool, d: newDialect(loc.Engine)}, loc: loc,
		sealer: opts.Sealer, reload: opts.ReloadSealer, now: opts.Now}, scope: orgScope{org: DefaultOrgID}}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("migrate database %s: %w", loc, loc.scrub(err))
	}
	return s, nil
}

// openSQLite opens the SQLite file at path, made private if new.
func openSQLite(ctx context.Context, path string) (*sql.DB, error) {
	// The database holds password hashes: make it private before SQLite
	// creates it (its -wal and -shm files take the same mode).
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("open database: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	dsn, err := sqliteDSN(path, q)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	pool, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	pool.SetMaxOpenConns(sqlitePool)
	// A burst's connections stay until they have been idle for a minute
	// (below), instead of all but two closing as the burst ends
	// (database/sql's default), which made the next burst open them and
	// parse the schema again.
	pool.SetMaxIdleConns(sqlitePool)
	pool.SetConnMaxIdleTime(time.Minute)
	if err := pingSQLite(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return pool, nil
}

// sqlitePool is how many connections a SQLite store keeps at most: WAL
// lets them read at once, and writers wait their turn (busy_timeout).
const sqlitePool = 8

// WarmPool opens a SQLite store's every pooled connection and has each
// read the schema, so that a server pays for their memory at start (about
// 256 KiB of SQLite's own heap each, which its allocator keeps once
// touched, also for connections the pool closes after an idle minute and
// opens again) rather than at its first burst of logins. It does nothing
// on PostgreSQL.
func (s *Store) WarmPool(ctx context.Context) error {
	if s.loc.Engine == PostgreSQL {
		return nil
	}
	conns := make([]*sql.Conn, 0, sqlitePool)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range sqlitePool {
		c, err := s.db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("open the database's connections: %w", err)
		}
		conns = append(conns, c)
		var n int
		if err := c.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n); err != nil {
			return fmt.Errorf("read the database's schema: %w", err)
		}
	}
	return nil
}

// pingSQLite opens the pool's first connection. Switching a new file to
// WAL needs a lock SQLite does not wait for (busy_timeout does not apply),
// so nodes opening one new database together may be told it is busy: they
// try again for as long as busy_timeout would have waited.
func pingSQLite(ctx context.Context, pool *sql.DB) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := pool.PingContext(ctx)
		var se interface{ Code() int }
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != 5 || time.Now().After(deadline) { // 5: SQLITE_BUSY
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// sqliteDSN builds the URI filename SQLite opens: the absolute path,
// percent-encoded so that a "#", "?", "%" or space in it stays part of
// the path (unescaped, "?" would start the query and "#" a fragment, and
// the database would land elsewhere without its pragmas).
func sqliteDSN(path string, q url.Values) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("database path %q: %w", path, err)
	}
	if strings.ContainsRune(abs, 0) {
		return "", fmt.Errorf("database path %q holds a NUL byte", path)
	}
	return "file:" + escapeURIPath(filepath.ToSlash(abs)) + "?" + q.Encode(), nil
}

// escapeURIPath percent-encodes every byte of p but the unreserved
// characters of RFC 3986 and "/".
func escapeURIPath(p string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~', c == '/':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Sealer returns the store's sealer, nil when it was opened without a key.
func (s *Store) Sealer() *Sealer {
	s.sealerMu.RLock()
	defer s.sealerMu.RUnlock()
	return s.sealer
}

func (s *Store) setSealer(next *Sealer) {
	s.sealerMu.Lock()
	s.sealer = next
	s.sealerMu.Unlock()
}

// Now returns the store's clock reading.
func (s *Store) Now() time.Time { return s.now() }

// withTx runs fn in one transaction, committed when fn returns nil.
// Transactions that write take turns, on both engines: SQLite's begin
// IMMEDIATE, PostgreSQL's under one advisory lock (see dialect.lock).
func (s *Store) withTx(ctx context.Context, fn func(q querier) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return wrapError(err)
	}
	if err := s.db.d.lock(ctx, tx, lockWriters); err != nil {
		_ = tx.Rollback()
		return wrapError(err)
	}
	if err := fn(tx); err != nil {
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return errors.Join(err, rbErr)
		}
		return err
	}
	return wrapError(tx.Commit())
}

// timeFormat is fixed width so that times sort as strings.
const timeFormat = "2006-01-02T15:04:05.000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func formatTimePtr(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return formatTime(*t)
}

func parseTime(s string) time.Time {
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		t, _ = time.Parse(time.RFC3339Nano, s)
	}
	return t
}

func parseNullTime(ns sql.NullString) *time.Time {
	if !ns.Valid || ns.String == "" {
		return nil
	}
	t := parseTime(ns.String)
	return &t
}

// queryNames runs a query whose rows are one string each and returns
// them, an empty (not nil) slice when there are none.
func queryNames(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, wrapError(err)
		}
		out = append(out, n)
	}
	return out, wrapError(rows.Err())
}

// placeholders returns "?, ?, ?" for n arguments.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	b := make([]byte, 0, 3*n)
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '?')
	}
	return string(b)
}
