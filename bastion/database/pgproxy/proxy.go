// Package pgproxy speaks PostgreSQL's wire protocol to a forwarded native
// client (psql, DBeaver …) and to the database: the client logs in to the
// bastion's end with any password (or one a ClientAuth hook accepts), the
// proxy logs in to the server with the stored account, and every statement
// of a Query or Parse message is judged before it reaches the server. A
// denied one is replaced by a statement that fails at once, whose error the
// proxy rewrites into the denial, so that the client sees an ordinary
// ErrorResponse in the right place of its pipeline.
package pgproxy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"

	"github.com/jms-bastion/jms/bastion/database"
)

// Proxy serves forwarded PostgreSQL clients for one target.
type Proxy struct {
	Target database.Target
	database.Hooks
	// ClientAuth checks the password the client gives (a short-lived
	// token, say); nil accepts the client without asking for one.
	ClientAuth func(ctx context.Context, user, password string) error
}

func (p *Proxy) defaults() { p.Hooks = p.Hooks.WithDefaults() }

// Serve handles one client connection until either side ends it. It closes
// client. Serve may run for many connections at once: each works on its
// own copy of p with the defaults filled in.
func (p *Proxy) Serve(ctx context.Context, client net.Conn) error {
	q := *p
	q.defaults()
	return q.serve(ctx, client)
}

func (p *Proxy) serve(ctx context.Context, client net.Conn) error {
	defer client.Close()
	st, err := p.startup(ctx, client)
	if err != nil || st == nil {
		return err
	}
	defer st.server.Close()
	r := newRelay(p, st)
	return r.run(ctx)
}

// nonce makes the marker a denied statement is replaced with.
func nonce() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("making a marker: %w", err)
	}
	return "jms_denied_" + hex.EncodeToString(b), nil
}

// closedErr reports whether err is just a side closing the connection.
func closedErr(err error) bool {
	return err == nil || errors.Is(err, net.ErrClosed) || errors.Is(err, context.Canceled) || isEOF(err)
}
