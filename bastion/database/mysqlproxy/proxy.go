// Package mysqlproxy speaks MySQL's client/server protocol to a forwarded
// native client (mysql, mariadb, DBeaver …) and to a MySQL or MariaDB
// server: the client logs in to the bastion's end with any password, the
// proxy logs in to the server with the stored account (native or
// caching_sha2 passwords, TLS as the asset says), and every COM_QUERY and
// COM_STMT_PREPARE is judged before it reaches the server; a denied one is
// answered with an ERR packet and never sent. Commands that would leave
// the account or the protocol the proxy reads (COM_CHANGE_USER, binlog
// and replication, LOCAL INFILE, compression) are refused.
//
// The protocol is request and response, so the proxy relays one command
// at a time and reads each response to its end: that is how it pairs
// statements with their row counts and errors for the audit.
package mysqlproxy

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/jms-bastion/jms/bastion/database"
)

// defaultConnectTimeout bounds the dial and login when the target sets none.
const defaultConnectTimeout = 10 * time.Second

// Proxy serves forwarded MySQL clients for one target.
type Proxy struct {
	Target database.Target
	database.Hooks
	// ClientAuth checks the client's password (a short-lived token, say);
	// nil accepts any. The password never crosses the wire in clear: the
	// hook gets matches, which tells whether a secret is the one the
	// client's scrambled answer was made from.
	ClientAuth func(ctx context.Context, user string, matches func(secret string) bool) error
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
	cc := &conn{r: bufio.NewReaderSize(client, 32<<10), w: bufio.NewWriterSize(client, 32<<10)}
	s, caps, err := p.handshake(ctx, client, cc)
	if err != nil {
		return err
	}
	defer s.nc.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-ctx.Done()
		client.Close()
		s.nc.Close()
	}()
	err = newSession(p, cc, s, caps).run(ctx)
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || ctx.Err() != nil {
		return nil
	}
	return err
}

// handshake logs the client in to the proxy (any password) and the proxy
// in to the server, and returns the capabilities both now use.
func (p *Proxy) handshake(ctx context.Context, client net.Conn, cc *conn) (*server, uint32, error) {
	timeout := p.Target.ConnectTimeout
	if timeout == 0 {
		timeout = defaultConnectTimeout
	}
	_ = client.SetDeadline(time.Now().Add(2 * timeout))
	defer client.SetDeadline(time.Time{})
	if err := p.Target.Validate(); err != nil {
		p.refuse(cc, 0, 2003, "08S01", "jms: the database asset is misconfigured: "+err.Error())
		return nil, 0, err
	}
	s, h, err := dialServer(ctx, p.Target)
	if err != nil {
		p.refuse(cc, 0, 2003, "08S01", "jms: the bastion could not reach the database: "+err.Error())
		return nil, 0, err
	}
	_ = s.nc.SetDeadline(time.Now().Add(timeout))
	ours := *h
	ours.caps = h.caps & offered
	ours.plugin = nativePassword
	if ours.scramble, err = scramble(); err != nil || ours.caps&capRequiredForProxy != capRequiredForProxy {
		s.nc.Close()
		p.refuse(cc, 0, 2003, "08S01", "jms: the database speaks a protocol older than 4.1")
		return nil, 0, errors.Join(err, errors.New("the database does not speak protocol 4.1"))
	}
	ok, caps, seq, err := p.login(ctx, cc, s, h, &ours)
	if err != nil {
		s.nc.Close()
		return nil, 0, err
	}
	_ = s.nc.SetDeadline(time.Time{})
	if _, err := cc.writePacket(seq, ok); err != nil {
		s.nc.Close()
		return nil, 0, err
	}
	return s, caps, cc.flush()
}

// login shows the client the proxy's handshake, reads its response and
// logs in to the server with the account in its place.
func (p *Proxy) login(ctx context.Context, cc *conn, s *server, h, ours *serverHandshake) ([]byte, uint32, byte, error) {
	if _, err := cc.writePacket(0, ours.encode()); err != nil {
		return nil, 0, 0, err
	}
	if err := cc.flush(); err != nil {
		return nil, 0, 0, err
	}
	pk, err := cc.readPacket()
	if err != nil {
		return nil, 0, 0, fmt.Errorf("reading the client's login: %w", err)
	}
	cr, err := parseClientResponse(pk.payload)
	if err != nil {
		p.refuse(cc, pk.seq+1, 1043, "08S01", "jms: "+err.Error()+"; connect without TLS (--ssl-mode=DISABLED or --skip-ssl): the SSH tunnel already encrypts the connection")
		return nil, 0, 0, err
	}
	if err := p.checkClient(ctx, cr, ours.scramble); err != nil {
		p.refuse(cc, pk.seq+1, 1045, "28000", fmt.Sprintf("jms: access denied for user '%s'", cr.user))
		return nil, 0, 0, err
	}
	caps := cr.caps & ours.caps
	resp := &clientResponse{
		caps:      caps | capProtocol41 | capSecureConnection | capPluginAuth | capPluginAuthLenenc,
		maxPacket: cr.maxPacket, charset: cr.charset, user: p.Target.User,
		database: p.Target.Database, attrs: cr.attrs,
	}
	if cr.database != "" {
		resp.database = cr.database
	}
	if resp.database != "" {
		resp.caps |= capConnectWithDB
	}
	resp.caps &^= capConnectAttrs
	if caps&capConnectAttrs != 0 && h.caps&capConnectAttrs != 0 {
		resp.caps |= capConnectAttrs
	}
	ok, err := s.login(p.Target, h, resp)
	if err != nil {
		msg := fmt.Sprintf("jms: the bastion could not log in to the database as %s: %v", p.Target.User, err)
		p.refuse(cc, pk.seq+1, 1045, "28000", msg)
		return nil, 0, 0, fmt.Errorf("logging in to %s: %w", p.Target, err)
	}
	return ok, caps, pk.seq + 1, nil
}

// checkClient runs the ClientAuth hook, if any, on the client's answer to
// the proxy's scramble (mysql_native_password, or caching_sha2_password's
// fast answer when that is the client's default).
func (p *Proxy) checkClient(ctx context.Context, cr *clientResponse, scramble []byte) error {
	if p.ClientAuth == nil {
		return nil
	}
	matches := func(secret string) bool {
		var want []byte
		switch cr.plugin {
		case nativePassword, "":
			want = scrambleNative(scramble, secret)
		case cachingSHA2Password:
			want = scrambleSHA2(scramble, secret)
		default:
			return false
		}
		return len(want) > 0 && subtle.ConstantTimeCompare(want, cr.auth) == 1
	}
	if err := p.ClientAuth(ctx, cr.user, matches); err != nil {
		return fmt.Errorf("client authentication of %q: %w", cr.user, err)
	}
	return nil
}

// refuse sends the client an ERR packet (best effort).
func (p *Proxy) refuse(cc *conn, seq byte, code uint16, state, msg string) {
	if _, err := cc.writePacket(seq, errPacket(code, state, msg)); err == nil {
		_ = cc.flush()
	}
}

// scramble makes the 20 bytes the client answers (and the proxy ignores).
func scramble() ([]byte, error) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	for i := range b {
		b[i] = b[i]%94 + 33 // printable, never NUL
	}
	return b, nil
}
