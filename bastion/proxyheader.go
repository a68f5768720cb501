package bastion

// The PROXY protocol edge: behind a TCP load balancer, the client's
// address arrives in a PROXY protocol (v1 or v2) header that the
// balancer sends before the SSH bytes. Only the balancers named in
// trusted_proxies may send one; from them the header is required
// (proxy_protocol: required, the default) or optional. A header from
// any other address, a malformed one, or a trusted balancer's
// connection without one (when required) is refused, audited under the
// TCP peer's address and counted towards its throttle.

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pires/go-proxyproto"

	"github.com/jms-bastion/jms/config"
	"github.com/jms-bastion/jms/store"
)

// proxyHeaderTimeout bounds the wait for a PROXY header's first bytes.
// A load balancer sends its header at once; an SSH client sends its
// identification line at once too, so only a client that waits for
// the server's line first (none of OpenSSH, PuTTY or Go's) waits this
// long, and only when trusted_proxies is set.
const proxyHeaderTimeout = 5 * time.Second

// Refusal reasons of the PROXY protocol edge, as the audit says them.
const (
	methodProxy          = "proxy"
	reasonUntrustedProxy = "PROXY header from an untrusted address"
	reasonNoProxyHeader  = "no PROXY header from a trusted proxy"
	reasonBadProxyHeader = "malformed PROXY header"
)

// proxyEdge decides, per TCP peer, what a PROXY header means. A nil
// *proxyEdge is the PROXY protocol turned off: connections pass as
// they are.
type proxyEdge struct {
	trusted  []netip.Prefix
	required bool
	timeout  time.Duration
}

// newProxyEdge returns the edge of cfg, nil when trusted_proxies is
// empty.
func newProxyEdge(cfg config.Config) (*proxyEdge, error) {
	if len(cfg.TrustedProxies) == 0 {
		return nil, nil
	}
	e := &proxyEdge{required: cfg.ProxyProtocol != "optional", timeout: proxyHeaderTimeout}
	for _, s := range cfg.TrustedProxies {
		p, err := config.ParseTrustedProxy(s)
		if err != nil {
			return nil, err
		}
		e.trusted = append(e.trusted, p)
	}
	return e, nil
}

// trusts reports whether the TCP peer a is a trusted proxy.
func (e *proxyEdge) trusts(a net.Addr) bool {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	for _, p := range e.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// accept returns c as the SSH server reads it, and the client it
// names. From a trusted proxy it reads the PROXY header first (the
// proxy sends it at once): the connection returned names the client of
// the header (the proxy itself for a LOCAL header, a health check). From
// any other peer it reads nothing yet, so that the server's own
// identification line goes out at once: a header found among the first
// bytes the peer sends fails the handshake and is reported to refused.
// A refusal's reason, as the audit says it, is in the error.
func (e *proxyEdge) accept(c net.Conn, refused func(error)) (net.Conn, error) {
	if e == nil {
		return c, nil
	}
	if !e.trusts(c.RemoteAddr()) {
		// No header timeout: the pre-auth deadline bounds the read.
		pc := proxyproto.NewConn(c, proxyproto.WithPolicy(proxyproto.REJECT), proxyproto.SetReadHeaderTimeout(0))
		return &untrustedConn{Conn: pc, raw: c, refused: refused}, nil
	}
	policy := proxyproto.USE
	if e.required {
		policy = proxyproto.REQUIRE
	}
	pc := proxyproto.NewConn(c, proxyproto.WithPolicy(policy),
		proxyproto.SetReadHeaderTimeout(e.timeout), proxyproto.ValidateHeader(validProxyHeader))
	// A zero-length read runs the header's detection and returns its
	// error, without reading anything past the header.
	if _, err := pc.Read(nil); err != nil {
		return nil, proxyRefusal(err)
	}
	return pc, nil
}

// untrustedConn is a connection from a peer that may not send a PROXY
// header: reads go through the header's detection (which refuses one),
// writes and addresses go straight to the socket, so that the server
// does not wait for the peer's first bytes before it speaks.
type untrustedConn struct {
	*proxyproto.Conn // reads and deadlines (it restores them after detection)
	raw              net.Conn
	refused          func(error)
	once             sync.Once
}

func (u *untrustedConn) Read(b []byte) (int, error) {
	n, err := u.Conn.Read(b)
	if err != nil && errors.Is(err, proxyproto.ErrSuperfluousProxyHeader) {
		u.once.Do(func() { u.refused(proxyRefusal(err)) })
	}
	return n, err
}

func (u *untrustedConn) Write(b []byte) (int, error) { return u.raw.Write(b) }
func (u *untrustedConn) RemoteAddr() net.Addr        { return u.raw.RemoteAddr() }
func (u *untrustedConn) LocalAddr() net.Addr         { return u.raw.LocalAddr() }

// validProxyHeader accepts a header that names a TCP client (or none:
// LOCAL); a UDP or Unix socket source is no client of an SSH server.
func validProxyHeader(h *proxyproto.Header) error {
	if h.Command.IsLocal() {
		return nil
	}
	if !h.TransportProtocol.IsStream() || (!h.TransportProtocol.IsIPv4() && !h.TransportProtocol.IsIPv6()) {
		return fmt.Errorf("%w: not a TCP client", proxyproto.ErrUnsupportedAddressFamilyAndProtocol)
	}
	if _, ok := h.SourceAddr.(*net.TCPAddr); !ok {
		return proxyproto.ErrInvalidAddress
	}
	return nil
}

// proxyRefused is a refused PROXY header (or its absence).
type proxyRefused struct {
	reason string
	err    error
}

func (r *proxyRefused) Error() string { return r.reason + ": " + r.err.Error() }
func (r *proxyRefused) Unwrap() error { return r.err }

// proxyRefusal names the refusal the header's error err is.
func proxyRefusal(err error) error {
	reason := reasonBadProxyHeader
	switch {
	case errors.Is(err, proxyproto.ErrSuperfluousProxyHeader):
		reason = reasonUntrustedProxy
	case errors.Is(err, proxyproto.ErrNoProxyProtocol):
		reason = reasonNoProxyHeader
	}
	return &proxyRefused{reason: reason, err: err}
}

// refuseProxyHeader audits (in aggregate) a connection refused at its
// PROXY header, under the TCP peer's address, and counts it towards
// that address's throttle.
func (s *Server) refuseProxyHeader(peer string, err error) {
	reason := reasonBadProxyHeader
	var r *proxyRefused
	if errors.As(err, &r) {
		reason = r.reason
	}
	s.log.Debug("PROXY header refused", "peer", peer, "err", err)
	s.preAuthRefusal(&connState{source: peer, key: store.SourceKey(peer)}, "", methodProxy, reason)
}
