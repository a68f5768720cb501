package database

import (
	"context"
	"fmt"
)

// backend is one logged-in connection to a database server.
type backend interface {
	version(ctx context.Context) (string, error)
	// run sends one statement and reads its result, keeping maxRows rows.
	run(ctx context.Context, stmt Statement, maxRows int) (*Result, error)
	// interrupt stops the statement running now, if any, leaving the
	// connection usable; it may be called while run is in progress.
	interrupt(ctx context.Context) error
	close() error
}

// dial logs in to the target with the engine's driver.
func dial(ctx context.Context, t Target) (backend, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	tlsCfg, err := t.tlsConfig()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, t.connectTimeout())
	defer cancel()
	var be backend
	if t.Engine == PostgreSQL {
		be, err = dialPostgres(ctx, t, tlsCfg)
	} else {
		be, err = dialMySQL(ctx, t, tlsCfg)
	}
	if err != nil {
		return nil, fmt.Errorf("logging in to %s as %s: %w", t.HostPort(), t.User, serverError(err))
	}
	return be, nil
}
