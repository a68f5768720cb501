package database

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// mysqlBackend is one MySQL/MariaDB connection. It never enables
// multi-statements: each statement is sent alone, so what runs is what was
// judged.
type mysqlBackend struct {
	db     *sql.DB
	conn   *sql.Conn
	target Target
	id     int64 // the server's connection id, for KILL QUERY
}

// quietLogger keeps the driver's own log lines (which go to stderr by
// default) out of the bastion's output.
type quietLogger struct{}

func (quietLogger) Print(...any) {}

func dialMySQL(ctx context.Context, t Target, tlsCfg *tls.Config) (*mysqlBackend, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd = t.User, t.Password
	cfg.Net, cfg.Addr, cfg.DBName = "tcp", t.HostPort(), t.Database
	cfg.TLS = tlsCfg
	cfg.Timeout = t.connectTimeout()
	cfg.Logger = quietLogger{}
	cfg.AllowCleartextPasswords = tlsCfg != nil
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err == nil {
		err = conn.PingContext(ctx)
	}
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	b := &mysqlBackend{db: db, conn: conn, target: t}
	if err := conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&b.id); err != nil {
		_ = b.close()
		return nil, err
	}
	return b, nil
}

// interrupt kills the running statement from a second connection (a
// cancelled context would make the driver drop the connection instead).
func (b *mysqlBackend) interrupt(ctx context.Context) error {
	tlsCfg, err := b.target.tlsConfig()
	if err != nil {
		return err
	}
	other, err := dialMySQL(ctx, b.target, tlsCfg)
	if err != nil {
		return err
	}
	defer other.close()
	_, err = other.conn.ExecContext(ctx, fmt.Sprintf("KILL QUERY %d", b.id))
	return serverError(err)
}

func (b *mysqlBackend) version(ctx context.Context) (string, error) {
	var v string
	err := b.conn.QueryRowContext(ctx, "SELECT VERSION()").Scan(&v)
	return v, serverError(err)
}

func (b *mysqlBackend) close() error {
	return errors.Join(b.conn.Close(), b.db.Close())
}

// rowless are the verbs whose statements never return rows (unless they
// say RETURNING, as MariaDB allows): they are sent with Exec so that the
// affected count comes back.
var rowless = []string{
	"INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER", "TRUNCATE",
	"RENAME", "GRANT", "REVOKE", "SET", "USE", "BEGIN", "START", "COMMIT", "ROLLBACK",
	"SAVEPOINT", "RELEASE", "LOCK", "UNLOCK", "FLUSH", "LOAD",
}

func execOnly(stmt Statement) bool {
	if !slices.Contains(rowless, stmt.Kind) {
		return false
	}
	return !strings.Contains(strings.ToUpper(stmt.Normalized), "RETURNING")
}

func (b *mysqlBackend) run(ctx context.Context, stmt Statement, maxRows int) (*Result, error) {
	start := time.Now()
	if execOnly(stmt) {
		res, err := b.conn.ExecContext(ctx, stmt.Text)
		if err != nil {
			return nil, serverError(err)
		}
		n, _ := res.RowsAffected()
		return &Result{Affected: n, Duration: time.Since(start)}, nil
	}
	rows, err := b.conn.QueryContext(ctx, stmt.Text)
	if err != nil {
		return nil, serverError(err)
	}
	res, err := readSQLRows(rows, maxRows)
	if err != nil {
		return nil, serverError(err)
	}
	res.Duration = time.Since(start)
	return res, nil
}

// readSQLRows keeps the first maxRows rows and counts the rest.
func readSQLRows(rows *sql.Rows, maxRows int) (*Result, error) {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	res := &Result{Columns: cols}
	raw := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	for rows.Next() {
		res.Count++
		if len(res.Rows) >= maxRows {
			continue
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]sql.NullString, len(cols))
		for i, r := range raw {
			row[i] = sql.NullString{String: string(r), Valid: r != nil}
		}
		res.Rows = append(res.Rows, row)
	}
	return res, rows.Err()
}
