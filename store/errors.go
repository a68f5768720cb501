package store

import (
	"database/sql"
	"errors"
	"strings"
)

var (
	// ErrNotFound is returned when what was asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict is returned when a change would break a uniqueness or
	// reference rule, e.g. a name that is taken.
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
	msg := err.Error()
	switch {
	case strings.Contains(msg, "UNIQUE constraint failed"),
		strings.Contains(msg, "PRIMARY KEY constraint failed"),
		strings.Contains(msg, "FOREIGN KEY constraint failed"),
		strings.Contains(msg, "duplicate key value"),
		strings.Contains(msg, "violates foreign key constraint"):
		return &conflictError{err: err}
	}
	return err
}

type conflictError struct{ err error }

func (e *conflictError) Error() string { return ErrConflict.Error() + ": " + e.err.Error() }
func (e *conflictError) Unwrap() []error {
	return []error{ErrConflict, e.err}
}
