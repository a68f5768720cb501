// Package sshdial connects to an asset over SSH the way the bastion does
// for a session: the TCP connect and the handshake bounded by one
// timeout, the asset's host key checked against its pin (or pinned at
// first use under the tofu policy), and authentication with a secret.
// The bastion's proxy and the account automation both dial through it,
// so that a pin, a timeout or a refused key means the same everywhere.
//
// Errors are *Error, whose Kind says what went wrong in the words of a
// result table (unreachable, auth-failed, host-key-mismatch...).
package sshdial
