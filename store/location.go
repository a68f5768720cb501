package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Location is where a store's data lives: a SQLite file or a PostgreSQL
// database. Its String never shows a password.
type Location struct {
	Engine Engine
	// Path is the SQLite file.
	Path string
	// url is the PostgreSQL connection URL as given, password and all:
	// it never leaves this file but to the driver.
	url      string
	password string
}

// ParseLocation reads a database location: postgres://… or
// postgresql://… (PostgreSQL, any libpq URL parameter; keep the password
// in a passfile, not in the URL), sqlite://PATH or sqlite:PATH, or a
// plain path (SQLite).
func ParseLocation(s string) (Location, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Location{}, errors.New("no database given")
	}
	scheme, rest, _ := strings.Cut(s, ":")
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		u, err := url.Parse(s)
		if err != nil {
			return Location{}, fmt.Errorf("database URL %s: not a URL", redactRaw(s))
		}
		loc := Location{Engine: PostgreSQL, url: s}
		if pw, ok := u.User.Password(); ok {
			loc.password = pw
		}
		if pw := u.Query().Get("password"); pw != "" {
			loc.password = pw
		}
		return loc, nil
	case "sqlite", "sqlite3", "file":
		p := strings.TrimPrefix(rest, "//")
		if p == "" {
			return Location{}, fmt.Errorf("database %q: no file path", s)
		}
		return Location{Engine: SQLite, Path: p}, nil
	}
	if !strings.HasPrefix(rest, "//") || !isScheme(scheme) {
		return Location{Engine: SQLite, Path: s}, nil // a path, colons and all
	}
	return Location{}, fmt.Errorf("database %q: unknown kind %q (want postgres://…, sqlite://PATH or a path)", redactRaw(s), scheme)
}

// isScheme reports whether s is a URL scheme: a letter, then letters,
// digits, "+", "-" or ".".
func isScheme(s string) bool {
	for i, c := range s {
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (i == 0 || !('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return s != ""
}

// String is the location for people: the SQLite path, or the URL with
// its password (in the user part or a password parameter) as "xxxxx".
func (l Location) String() string {
	if l.Engine != PostgreSQL {
		return l.Path
	}
	return redactRaw(l.url)
}

// redactRaw hides the password of a database URL.
func redactRaw(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(a database URL that does not parse)"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// scrub returns err with the location's password, should a driver have
// put it in the text, written as "xxxxx".
func (l Location) scrub(err error) error {
	if err == nil || l.password == "" || !strings.Contains(err.Error(), l.password) {
		return err
	}
	return scrubbedError{msg: strings.ReplaceAll(err.Error(), l.password, "xxxxx"), err: err}
}

type scrubbedError struct {
	msg string
	err error
}

func (e scrubbedError) Error() string { return e.msg }
func (e scrubbedError) Unwrap() error { return e.err }

// pgPool sizes the connections one process keeps to PostgreSQL.
const (
	pgMaxOpen     = 16
	pgMaxIdle     = 4
	pgIdleTime    = time.Minute
	pgPingTimeout = 10 * time.Second
)

// openPostgres connects to the database of loc through pgx's
// database/sql driver, and checks that it answers.
func openPostgres(ctx context.Context, loc Location) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(loc.url)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", loc, loc.scrub(err))
	}
	pool := stdlib.OpenDB(*cfg)
	pool.SetMaxOpenConns(pgMaxOpen)
	pool.SetMaxIdleConns(pgMaxIdle)
	pool.SetConnMaxIdleTime(pgIdleTime)
	pctx, cancel := context.WithTimeout(ctx, pgPingTimeout)
	defer cancel()
	if err := pool.PingContext(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("database %s is unreachable: %w", loc, loc.scrub(err))
	}
	return pool, nil
}

// raw is the location as the driver takes it, password and all: never
// for people.
func (l Location) raw() string {
	if l.Engine == PostgreSQL {
		return l.url
	}
	return l.Path
}

// HasPassword reports whether the location holds a password (in the
// user part of the URL or a password parameter).
func (l Location) HasPassword() bool { return l.password != "" }

// Location returns where the store's data lives.
func (s *Store) Location() Location { return s.loc }

// Engine returns the engine the store runs on.
func (s *Store) Engine() Engine { return s.loc.Engine }
