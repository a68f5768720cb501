package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"
)

// DBStatus says what a database is and where its schema stands.
type DBStatus struct {
	Engine Engine `json:"engine" yaml:"engine"`
	// Location is the file or URL, its password hidden.
	Location      string `json:"location" yaml:"location"`
	ServerVersion string `json:"server_version" yaml:"server_version"`
	// Version is the newest applied migration, 0 for an empty database.
	Version int                `json:"schema_version" yaml:"schema_version"`
	Applied []AppliedMigration `json:"applied" yaml:"applied"`
	// Pending are the migrations this jmsctl would apply.
	Pending []string `json:"pending" yaml:"pending"`
}

// AppliedMigration is one row of schema_migrations.
type AppliedMigration struct {
	Version   int       `json:"version" yaml:"version"`
	Name      string    `json:"name" yaml:"name"`
	AppliedAt time.Time `json:"applied_at" yaml:"applied_at"`
}

// InspectDB reports on the database at where without changing it: no
// migration is applied, and a SQLite file that does not exist is an
// error rather than made.
func InspectDB(ctx context.Context, where string) (DBStatus, error) {
	loc, err := ParseLocation(where)
	if err != nil {
		return DBStatus{}, err
	}
	st := DBStatus{Engine: loc.Engine, Location: loc.String(), Applied: []AppliedMigration{}, Pending: []string{}}
	var pool *sql.DB
	if loc.Engine == PostgreSQL {
		pool, err = openPostgres(ctx, loc)
	} else {
		if _, serr := os.Stat(loc.Path); serr != nil {
			return st, fmt.Errorf("no database at %s: %w", loc.Path, serr)
		}
		pool, err = openSQLite(ctx, loc.Path)
	}
	if err != nil {
		return st, err
	}
	defer pool.Close()
	x := &db{DB: pool, d: newDialect(loc.Engine)}
	if err := x.QueryRowContext(ctx, x.d.serverVersionQuery()).Scan(&st.ServerVersion); err != nil {
		return st, fmt.Errorf("database %s: server version: %w", loc, loc.scrub(err))
	}
	if st.Applied, err = appliedMigrations(ctx, x); err != nil {
		return st, fmt.Errorf("database %s: %w", loc, loc.scrub(err))
	}
	ms, err := migrations(loc.Engine)
	if err != nil {
		return st, err
	}
	done := map[int]bool{}
	for _, a := range st.Applied {
		done[a.Version] = true
		st.Version = max(st.Version, a.Version)
	}
	for _, m := range ms {
		if !done[m.version] {
			st.Pending = append(st.Pending, m.name)
		}
	}
	return st, nil
}

// appliedMigrations lists schema_migrations, none when the table does
// not exist yet (an empty database).
func appliedMigrations(ctx context.Context, x *db) ([]AppliedMigration, error) {
	out := []AppliedMigration{}
	var exists bool
	if err := x.QueryRowContext(ctx, x.d.tableExistsQuery(), "schema_migrations").Scan(&exists); err != nil {
		return nil, err
	}
	if !exists {
		return out, nil
	}
	rows, err := x.QueryContext(ctx, `SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var m AppliedMigration
		var at string
		if err := rows.Scan(&m.Version, &m.Name, &at); err != nil {
			return nil, err
		}
		m.AppliedAt = parseTime(at)
		out = append(out, m)
	}
	return out, rows.Err()
}

// MigrateDB opens the database at where, applying what is pending, and
// returns its status before and after.
func MigrateDB(ctx context.Context, where string, now func() time.Time) (before, after DBStatus, err error) {
	if before, err = InspectDB(ctx, where); err != nil && !errors.Is(err, os.ErrNotExist) {
		return before, after, err
	}
	s, err := Open(ctx, where, Options{Now: now})
	if err != nil {
		return before, after, err
	}
	s.Close()
	after, err = InspectDB(ctx, where)
	return before, after, err
}
