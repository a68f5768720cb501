package sshdial

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"
	"time"
)

// Kind classifies a failed dial.
type Kind string

// The kinds of failed dial.
const (
	Unreachable       Kind = "unreachable"        // no TCP connection or no SSH handshake
	Canceled          Kind = "canceled"           // the context ended while dialing
	AuthFailed        Kind = "auth-failed"        // the asset refused the secret
	HostKeyMismatch   Kind = "host-key-mismatch"  // the offered key is not the pinned one
	HostKeyUntrusted  Kind = "host-key-untrusted" // none pinned and the policy is require
	HostKeyUnreadable Kind = "host-key-unreadable"
	PinFailed         Kind = "pin-failed" // the store could not pin the key
)

// Error is a failed dial. Reason is a few words for a result row or a
// session's end reason; it never holds a secret.
type Error struct {
	Kind   Kind
	Reason string
	// Offered and Pinned are the SHA256 fingerprints of the host keys,
	// when the host key was refused.
	Offered, Pinned string
	Err             error
}

func (e *Error) Error() string { return e.Reason }
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of a dial error, or "" when err is not one.
func KindOf(err error) Kind {
	var de *Error
	if errors.As(err, &de) {
		return de.Kind
	}
	return ""
}

// ReachReason says in a few words why a connection failed.
func ReachReason(err error, timeout time.Duration) string {
	var dnsErr *net.DNSError
	switch {
	case IsTimeout(err):
		return "timed out after " + timeout.String()
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "no route to host"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network is unreachable"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "no such host"
		}
		return "name lookup failed: " + dnsErr.Err
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		return opErr.Err.Error()
	}
	return err.Error()
}

// IsTimeout reports whether err is a deadline passing.
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout())
}
