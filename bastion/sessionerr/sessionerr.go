// Package sessionerr holds the two errors every kind of session shares
// (a proxied shell or command, SFTP, a forwarded port): what a person is
// told when she is refused, and the cause a session is ended with by the
// bastion. It is a leaf: it imports nothing of jms, so the proxy, the
// transfer service and the server can all use it.
package sessionerr

import (
	"errors"
	"fmt"
)

// ErrKilled is the cause to cancel a session's context with
// (context.WithCancelCause) when the bastion or an admin ends it: the
// session then ends with status killed and the cause's text as its
// reason, e.g. fmt.Errorf("%w by admin", sessionerr.ErrKilled).
var ErrKilled = errors.New("killed")

// UserError is an error a person should read: Error returns the one line
// to print on her stderr ("jms: …"). Reason is the shorter text the
// audit records (Msg when empty); Err holds the detail for the log.
type UserError struct {
	Msg    string
	Reason string
	Err    error
}

func (e *UserError) Error() string { return e.Msg }
func (e *UserError) Unwrap() error { return e.Err }

// AuditReason is the text the audit records for the refusal.
func (e *UserError) AuditReason() string {
	if e.Reason != "" {
		return e.Reason
	}
	return e.Msg
}

// Userf returns a UserError whose line is formatted, wrapping err (which
// may be nil) for the log.
func Userf(err error, format string, args ...any) *UserError {
	return &UserError{Msg: fmt.Sprintf(format, args...), Err: err}
}
