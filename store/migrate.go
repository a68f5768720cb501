package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the migrations for engine, in order. A file named
// NNNN_what.sql is for both engines; NNNN_what.sqlite.sql and
// NNNN_what.postgres.sql are one engine's, for a change said differently
// on each (the pair shares its number).
func migrations(engine Engine) ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		if !ok || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s: name must be NNNN_what.sql", e.Name())
		}
		v, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		if !forEngine(e.Name(), engine) {
			continue
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share a number", out[i-1].name, out[i].name)
		}
	}
	return out, nil
}

// forEngine reports whether the migration file name is for engine.
func forEngine(name string, engine Engine) bool {
	for _, e := range []Engine{SQLite, PostgreSQL} {
		if strings.HasSuffix(name, "."+string(e)+".sql") {
			return e == engine
		}
	}
	return true
}

// migrate applies every pending migration in one transaction and records
// each in schema_migrations. On PostgreSQL the transaction holds an
// advisory lock, so that two processes never apply the same migration.
// On SQLite it runs with foreign keys off, so that a migration can
// rebuild a table, and fails unless a foreign key check after it finds
// nothing amiss.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations(s.db.d.engine)
	if err != nil {
		return err
	}
	run := s.withTx
	if s.db.d.engine == SQLite {
		run = s.withMigrationTx
	}
	return run(ctx, func(q querier) error {
		// Nodes starting together on one PostgreSQL database take turns:
		// the first applies, the others then find nothing pending.
		if err := s.db.d.lock(ctx, q, lockMigrations); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
			return err
		}
		var current int
		if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return err
		}
		if n := len(ms); n > 0 && current > ms[n-1].version {
			return fmt.Errorf("the database is at schema version %d, newer than this jmsctl knows (%d): upgrade jmsctl", current, ms[n-1].version)
		}
		for _, m := range ms {
			if m.version <= current {
				continue
			}
			if _, err := q.ExecContext(ctx, s.db.d.migrationSQL(m.sql)); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			if _, err := q.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, formatTime(s.now())); err != nil {
				return err
			}
		}
		return nil
	})
}

// SchemaVersion reports the version of the newest applied migration.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, wrapError(err)
}

// withMigrationTx runs fn in one SQLite transaction on a connection with
// foreign keys off (the pragma is a no-op inside a transaction), checks
// every foreign key before it commits, and turns them on again; a
// connection that cannot is dropped rather than returned to the pool.
func (s *Store) withMigrationTx(ctx context.Context, fn func(q querier) error) error {
	conn, err := s.db.DB.Conn(ctx)
	if err != nil {
		return wrapError(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return wrapError(err)
	}
	defer func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`); err != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	t, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return wrapError(err)
	}
	q := &tx{Tx: t, d: s.db.d}
	if err := fn(q); err != nil {
		_ = t.Rollback()
		return err
	}
	if err := foreignKeysSound(ctx, q); err != nil {
		_ = t.Rollback()
		return err
	}
	return wrapError(t.Commit())
}

// foreignKeysSound fails when a row points at a row that is not there.
func foreignKeysSound(ctx context.Context, q querier) error {
	rows, err := q.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return wrapError(err)
	}
	defer rows.Close()
	if rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fk int
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			return wrapError(err)
		}
		return fmt.Errorf("a row of %s (rowid %d) points at a missing row of %s: the migration was not applied", table, rowid.Int64, parent)
	}
	return wrapError(rows.Err())
}
