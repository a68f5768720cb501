package sshdial

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/store"
)

// DefaultTimeout bounds a dial when the Dialer's Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Dialer dials assets. It is safe for concurrent use.
type Dialer struct {
	Keys HostKeys
	// Policy is "tofu" (pin an asset's key at first connect) or "require"
	// (refuse until an admin pinned one).
	Policy string
	// Timeout bounds the TCP connect and the SSH handshake.
	Timeout time.Duration
	Log     *slog.Logger
}

func (d *Dialer) timeout() time.Duration {
	if d.Timeout <= 0 {
		return DefaultTimeout
	}
	return d.Timeout
}

// Dial connects to asset as user with auth. The caller closes the
// client. Every error is an *Error.
func (d *Dialer) Dial(ctx context.Context, asset store.Asset, user string, auth []gossh.AuthMethod) (*gossh.Client, error) {
	c, err := d.DialConn(ctx, asset, user, auth)
	if err != nil {
		return nil, err
	}
	return gossh.NewClient(c.Conn, c.Chans, c.Reqs), nil
}

// Conn is an SSH connection to an asset without gossh.NewClient's three
// goroutines (global requests, channel opens, and one waiting for the
// end): the caller serves Chans and Reqs itself (x/crypto buffers a few of
// each; an unserved backlog stalls the connection) and closes Conn.
type Conn struct {
	gossh.Conn
	Chans <-chan gossh.NewChannel // channels the asset opens
	Reqs  <-chan *gossh.Request   // the asset's global requests
	// HostKey is the host key the asset proved it holds (checked against
	// the pin, or pinned at this connect under tofu).
	HostKey gossh.PublicKey
}

// DialConn connects as Dial does and returns the bare connection: for a
// caller that holds many connections open and serves their requests in a
// goroutine it has anyway (a proxied session's control loop). Every error
// is an *Error.
func (d *Dialer) DialConn(ctx context.Context, asset store.Asset, user string, auth []gossh.AuthMethod) (*Conn, error) {
	port := asset.Port
	if port == 0 {
		port = 22
	}
	addr := net.JoinHostPort(asset.Address, strconv.Itoa(port))
	log := d.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	hk := &hostKeyCheck{keys: d.Keys, policy: d.Policy, log: log, ctx: ctx, asset: asset}
	timeout := d.timeout()
	cfg := &gossh.ClientConfig{
		User:            user,
		Auth:            auth,
		HostKeyCallback: hk.check,
		Timeout:         timeout,
		ClientVersion:   "SSH-2.0-jms",
	}
	if algos := hk.algorithms(); algos != nil {
		cfg.HostKeyAlgorithms = algos
	}
	deadline := time.Now().Add(timeout)
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var nd net.Dialer
	conn, err := nd.DialContext(dctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, &Error{Kind: Canceled, Reason: "canceled while connecting", Err: context.Cause(ctx)}
		}
		return nil, &Error{Kind: Unreachable, Reason: "cannot reach the asset: " + ReachReason(err, timeout), Err: err}
	}
	// The deadline covers the handshake too; a cancelled ctx closes the
	// connection so that a kill or shutdown does not wait for it.
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	c, chans, reqs, err := gossh.NewClientConn(conn, addr, cfg)
	stopped := stop()
	if err != nil {
		conn.Close()
		if hk.err != nil {
			return nil, hk.err
		}
		if !stopped || ctx.Err() != nil {
			return nil, &Error{Kind: Canceled, Reason: "canceled while connecting", Err: context.Cause(ctx)}
		}
		if strings.Contains(err.Error(), "unable to authenticate") {
			return nil, &Error{Kind: AuthFailed, Reason: "the asset refused the login", Err: err}
		}
		msg := ReachReason(err, timeout)
		if !IsTimeout(err) {
			msg = "SSH handshake failed: " + strings.TrimPrefix(err.Error(), "ssh: handshake failed: ")
		}
		return nil, &Error{Kind: Unreachable, Reason: "cannot reach the asset: " + msg, Err: err}
	}
	if !stopped {
		// ctx ended just as the handshake finished.
		c.Close()
		return nil, &Error{Kind: Canceled, Reason: "canceled while connecting", Err: context.Cause(ctx)}
	}
	_ = conn.SetDeadline(time.Time{})
	return &Conn{Conn: c, Chans: chans, Reqs: reqs, HostKey: hk.offered}, nil
}
