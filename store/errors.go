package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrNotFound is returned when what was asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict is returned when a change would break a uniqueness or
	// reference rule, e.g. a name that is taken. Test for it with
	// errors.Is: the error's text says what conflicts, once
	// (`asset "web1" already exists`), never this sentinel's text.
	ErrConflict = errors.New("already exists or still in use")
	// ErrNoKey is returned when a secret must be sealed or opened and the
	// store has no key.
	ErrNoKey = errors.New("no secret key loaded")
)

// wrapError maps driver errors onto the store's errors, keeping the
// original in the chain.
func wrapError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var ce *conflictError
	if errors.As(err, &ce) {
		return err
	}
	switch violationOf(err) {
	case foreignKeyViolation:
		return &conflictError{err: err, reference: true}
	case uniqueViolation:
		return &conflictError{err: err}
	}
	return err
}

// conflictError is an ErrConflict. Made by wrapError it is the driver's
// refusal, for a call site to say what conflicts (nameTaken, stillUsed,
// conflict); made by those, msg says it all.
type conflictError struct {
	msg       string
	err       error // the driver's error, or nil
	reference bool  // a foreign key, not a uniqueness rule
}

func (e *conflictError) Error() string {
	switch {
	case e.msg != "":
		return e.msg
	case e.reference:
		return "still in use (" + e.err.Error() + ")"
	}
	return "already exists (" + e.err.Error() + ")"
}

func (e *conflictError) Unwrap() []error {
	if e.err == nil {
		return []error{ErrConflict}
	}
	return []error{ErrConflict, e.err}
}

// conflict returns an ErrConflict that reads as the formatted message,
// keeping cause (the driver's error, or nil) in the chain.
func conflict(cause error, format string, args ...any) error {
	var ce *conflictError
	if errors.As(cause, &ce) {
		cause = ce.err
	}
	return &conflictError{msg: fmt.Sprintf(format, args...), err: cause}
}

// isTaken reports whether err (from wrapError) is the driver's refusal
// of a duplicate: a uniqueness conflict no call site has described yet.
func isTaken(err error) bool {
	var ce *conflictError
	return errors.As(err, &ce) && !ce.reference && ce.msg == ""
}

// nameTaken returns the error of inserting the kind called name: a
// uniqueness conflict reads `kind "name" already exists`; any other error
// is returned as wrapError makes it.
func nameTaken(err error, kind, name string) error {
	if err = wrapError(err); isTaken(err) {
		return conflict(err, "%s %q already exists", kind, name)
	}
	return err
}

// reference is a foreign key that refuses to delete what it points to
// (ON DELETE RESTRICT): rows of table whose column holds the id.
type reference struct {
	table, column, nameColumn, noun string
}

// restrictedBy lists, per table, the references that keep its rows
// from being deleted. A migration that adds an ON DELETE RESTRICT
// reference adds it here (TestRestrictedByMatchesSchema checks).
var restrictedBy = map[string][]reference{
	"nodes": {
		{table: "assets", column: "node_id", nameColumn: "name", noun: "asset"},
		{table: "account_templates", column: "node_id", nameColumn: "name", noun: "account template"},
	},
	// An organization is removed by marking it (orgs.removed_at), never
	// deleted; these hold should a row be deleted by hand.
	"orgs": {
		{table: "groups", column: "org_id", nameColumn: "name", noun: "group"},
		{table: "nodes", column: "org_id", nameColumn: "path", noun: "node"},
		{table: "assets", column: "org_id", nameColumn: "name", noun: "asset"},
		{table: "grants", column: "org_id", nameColumn: "name", noun: "grant"},
		{table: "filters", column: "org_id", nameColumn: "name", noun: "filter"},
		{table: "login_rules", column: "org_id", nameColumn: "name", noun: "login rule"},
		{table: "account_templates", column: "org_id", nameColumn: "name", noun: "account template"},
		{table: "automation_jobs", column: "org_id", nameColumn: "name", noun: "job"},
	},
}

// stillUsed returns the error of deleting the kind called name, the row
// of table (in the scope's organization) whose key column is name: a foreign-key refusal reads `node
// "/prod" is still used by 2 assets (web1, web2)`; any other error is
// returned as wrapError makes it. It reads through s.db: the refused
// statement may have ended the transaction (PostgreSQL).
func (s *Store) stillUsed(ctx context.Context, err error, kind, table, key, name string) error {
	err = wrapError(err)
	var ce *conflictError
	if !errors.As(err, &ce) || !ce.reference || ce.msg != "" {
		return err
	}
	cond := "1 = 1"
	if !globalTables[table] {
		cond = s.orgCond("t")
	}
	var users []string
	for _, r := range restrictedBy[table] {
		names, qerr := queryNames(ctx, s.db, `SELECT r.`+r.nameColumn+` FROM `+r.table+` r WHERE r.`+r.column+
			` = (SELECT t.id FROM `+table+` t WHERE t.`+key+` = ? AND `+cond+`) ORDER BY r.`+r.nameColumn, name)
		if qerr != nil || len(names) == 0 {
			continue
		}
		users = append(users, usedByPhrase(r.noun, names))
	}
	if len(users) == 0 {
		return conflict(ce.err, "%s %q is still in use", kind, name)
	}
	return conflict(ce.err, "%s %q is still used by %s", kind, name, strings.Join(users, " and "))
}

// usedByPhrase is "1 asset (web1)" or "5 assets (a, b, c, …)".
func usedByPhrase(noun string, names []string) string {
	const shown = 3
	list := names
	if len(list) > shown {
		list = append(list[:shown:shown], "…")
	}
	if len(names) != 1 {
		noun += "s"
	}
	return fmt.Sprintf("%d %s (%s)", len(names), noun, strings.Join(list, ", "))
}
