package database

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// ServerError is an error the database server gave, worded as its own
// client prints it (ERROR 1146 (42S02): … for MySQL, ERROR:  … with DETAIL
// and HINT lines for PostgreSQL).
type ServerError struct {
	Code string // MySQL's error number or PostgreSQL's SQLSTATE
	Text string
	err  error
}

func (e *ServerError) Error() string { return e.Text }

func (e *ServerError) Unwrap() error { return e.err }

// DeniedError is returned for a statement a Judge did not let run.
type DeniedError struct {
	Verdict Verdict
}

func (e *DeniedError) Error() string {
	if e.Verdict.Message != "" {
		return e.Verdict.Message
	}
	return "statement denied"
}

// serverError turns a driver's server error into a ServerError; other
// errors pass unchanged.
func serverError(err error) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		text := fmt.Sprintf("ERROR %d: %s", me.Number, me.Message)
		if me.SQLState != [5]byte{} {
			text = fmt.Sprintf("ERROR %d (%s): %s", me.Number, me.SQLState[:], me.Message)
		}
		return &ServerError{Code: fmt.Sprint(me.Number), Text: text, err: err}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return &ServerError{Code: pe.Code, Text: pgErrorText(pe), err: err}
	}
	return err
}

func pgErrorText(pe *pgconn.PgError) string {
	var b strings.Builder
	sev := pe.Severity
	if sev == "" {
		sev = "ERROR"
	}
	fmt.Fprintf(&b, "%s:  %s", sev, pe.Message)
	if pe.Detail != "" {
		fmt.Fprintf(&b, "\nDETAIL:  %s", pe.Detail)
	}
	if pe.Hint != "" {
		fmt.Fprintf(&b, "\nHINT:  %s", pe.Hint)
	}
	return b.String()
}
