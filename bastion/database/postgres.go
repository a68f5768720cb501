package database

import (
	"context"
	"crypto/tls"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// pgBackend is one PostgreSQL connection. Statements go through the
// extended protocol, which takes one statement only: what runs is what was
// judged.
type pgBackend struct {
	conn *pgconn.PgConn
}

func dialPostgres(ctx context.Context, t Target, tlsCfg *tls.Config) (*pgBackend, error) {
	cfg, err := postgresConfig(t, tlsCfg, nil)
	if err != nil {
		return nil, err
	}
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &pgBackend{conn: conn}, nil
}

// postgresConfig is the pgconn configuration for t, with extra run-time
// parameters (application_name …) sent at startup.
func postgresConfig(t Target, tlsCfg *tls.Config, params map[string]string) (*pgconn.Config, error) {
	// An empty connection string would read PG* variables and ~/.pgpass:
	// every field that matters is set here instead.
	cfg, err := pgconn.ParseConfig("sslmode=disable")
	if err != nil {
		return nil, err
	}
	port, _ := strconv.Atoi(portOf(t))
	cfg.Host, cfg.Port = t.Address, uint16(port)
	cfg.User, cfg.Password, cfg.Database = t.User, t.Password, t.Database
	cfg.TLSConfig, cfg.Fallbacks = tlsCfg, nil
	cfg.ConnectTimeout = t.connectTimeout()
	if cfg.Database == "" {
		cfg.Database = t.User
	}
	for k, v := range params {
		cfg.RuntimeParams[k] = v
	}
	return cfg, nil
}

// DialPostgres logs in to a PostgreSQL target and returns the raw
// connection, for a wire-protocol proxy. database, when not empty,
// overrides the target's; params are sent as run-time parameters.
func DialPostgres(ctx context.Context, t Target, database string, params map[string]string) (*pgconn.PgConn, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if t.Engine != PostgreSQL {
		return nil, fmt.Errorf("%s is a %s target, not postgresql", t, t.Engine)
	}
	if database != "" {
		t.Database = database
	}
	tlsCfg, err := t.tlsConfig()
	if err != nil {
		return nil, err
	}
	cfg, err := postgresConfig(t, tlsCfg, params)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, t.connectTimeout())
	defer cancel()
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("logging in to %s as %s: %w", t.HostPort(), t.User, serverError(err))
	}
	return conn, nil
}

func portOf(t Target) string {
	if t.Port == 0 {
		return strconv.Itoa(t.Engine.DefaultPort())
	}
	return strconv.Itoa(t.Port)
}

func (b *pgBackend) version(context.Context) (string, error) {
	return b.conn.ParameterStatus("server_version"), nil
}

// interrupt sends the server a cancel request for the running statement.
func (b *pgBackend) interrupt(ctx context.Context) error {
	return b.conn.CancelRequest(ctx)
}

func (b *pgBackend) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return b.conn.Close(ctx)
}

func (b *pgBackend) run(ctx context.Context, stmt Statement, maxRows int) (*Result, error) {
	start := time.Now()
	rr := b.conn.ExecParams(ctx, stmt.Text, nil, nil, nil, nil)
	res := &Result{}
	for _, f := range rr.FieldDescriptions() {
		res.Columns = append(res.Columns, f.Name)
	}
	for rr.NextRow() {
		res.Count++
		if len(res.Rows) >= maxRows {
			continue
		}
		vals := rr.Values()
		row := make([]sql.NullString, len(vals))
		for i, v := range vals {
			row[i] = sql.NullString{String: string(v), Valid: v != nil}
		}
		res.Rows = append(res.Rows, row)
	}
	tag, err := rr.Close()
	if err != nil {
		return nil, serverError(err)
	}
	res.Tag = tag.String()
	if !res.HasRows() {
		res.Affected = tag.RowsAffected()
	}
	res.Duration = time.Since(start)
	return res, nil
}
