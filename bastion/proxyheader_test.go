package bastion

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/config"
	"github.com/jms-bastion/jms/store"
)

// peerConn is one end of a pipe that says it comes from addr.
type peerConn struct {
	net.Conn
	addr net.Addr
}

func (c peerConn) RemoteAddr() net.Addr { return c.addr }

func tcpAddr(s string) *net.TCPAddr {
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		panic(err)
	}
	return a
}

func v2Header(t *testing.T, cmd proxyproto.ProtocolVersionAndCommand, proto proxyproto.AddressFamilyAndProtocol, src, dst net.Addr) string {
	t.Helper()
	h := &proxyproto.Header{Version: 2, Command: cmd, TransportProtocol: proto, SourceAddr: src, DestinationAddr: dst}
	b, err := h.Format()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// acceptOver sends wire from peer to the edge and returns what accept
// gave, and the bytes after the header as the SSH server would read
// them; a refusal found while reading is returned as accept's would be.
func acceptOver(t testing.TB, e *proxyEdge, peer string, wire string) (net.Conn, string, error) {
	client, server := net.Pipe()
	t.Cleanup(func() { client.Close(); server.Close() })
	go func() {
		_, _ = io.WriteString(client, wire)
		client.Close()
	}()
	var refusal error
	c, err := e.accept(peerConn{Conn: server, addr: tcpAddr(peer)}, func(err error) {
		if refusal != nil {
			t.Error("refused twice")
		}
		refusal = err
	})
	if err != nil {
		return nil, "", err
	}
	rest, err := io.ReadAll(c)
	if refusal != nil {
		if err == nil {
			t.Error("a refused connection read on")
		}
		return nil, "", refusal
	}
	return c, string(rest), nil
}

func TestProxyEdge(t *testing.T) {
	const ssh = "SSH-2.0-OpenSSH_9.6\r\n"
	trusted := []string{"10.0.0.0/24", "fd00::1"}
	src, dst := tcpAddr("203.0.113.7:50123"), tcpAddr("10.0.0.9:2222")
	tests := []struct {
		name     string
		trusted  []string
		mode     string
		peer     string
		wire     string
		source   string // the client the connection then names
		refusal  string // or the reason it is refused for
		timeout  time.Duration
		wantRest string
	}{
		{name: "off passes a header through", peer: "198.51.100.1:1", wire: "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n" + ssh,
			source: "198.51.100.1", wantRest: "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n" + ssh},
		{name: "trusted v1", trusted: trusted, peer: "10.0.0.5:40000", wire: "PROXY TCP4 203.0.113.7 10.0.0.9 50123 2222\r\n" + ssh,
			source: "203.0.113.7", wantRest: ssh},
		{name: "trusted v2", trusted: trusted, peer: "10.0.0.5:40000",
			wire:   v2Header(t, proxyproto.PROXY, proxyproto.TCPv4, src, dst) + ssh,
			source: "203.0.113.7", wantRest: ssh},
		{name: "trusted v2 IPv6 client", trusted: trusted, peer: "[fd00::1]:40000",
			wire:   v2Header(t, proxyproto.PROXY, proxyproto.TCPv6, tcpAddr("[2001:db8::5]:1"), tcpAddr("[fd00::2]:2222")) + ssh,
			source: "2001:db8::5", wantRest: ssh},
		{name: "trusted LOCAL (a health check) is the peer", trusted: trusted, peer: "10.0.0.5:40000",
			wire:   v2Header(t, proxyproto.LOCAL, proxyproto.UNSPEC, nil, nil) + ssh,
			source: "10.0.0.5", wantRest: ssh},
		{name: "untrusted v1 refused", trusted: trusted, peer: "198.51.100.1:1", wire: "PROXY TCP4 10.0.0.1 10.0.0.9 1 2222\r\n" + ssh,
			refusal: reasonUntrustedProxy},
		{name: "untrusted v2 refused", trusted: trusted, peer: "10.0.1.5:40000",
			wire: v2Header(t, proxyproto.PROXY, proxyproto.TCPv4, src, dst) + ssh, refusal: reasonUntrustedProxy},
		{name: "untrusted without header passes", trusted: trusted, peer: "198.51.100.1:1", wire: ssh,
			source: "198.51.100.1", wantRest: ssh},
		{name: "trusted without header refused when required", trusted: trusted, peer: "10.0.0.5:1", wire: ssh,
			refusal: reasonNoProxyHeader},
		{name: "trusted silent refused when required", trusted: trusted, peer: "10.0.0.5:1", wire: "",
			refusal: reasonNoProxyHeader, timeout: 50 * time.Millisecond},
		{name: "trusted without header passes when optional", trusted: trusted, mode: "optional", peer: "10.0.0.5:1", wire: ssh,
			source: "10.0.0.5", wantRest: ssh},
		{name: "trusted malformed v1", trusted: trusted, peer: "10.0.0.5:1", wire: "PROXY TCP4 nonsense\r\n" + ssh,
			refusal: reasonBadProxyHeader},
		{name: "trusted v2 naming a UDP client", trusted: trusted, peer: "10.0.0.5:1",
			wire: v2Header(t, proxyproto.PROXY, proxyproto.UDPv4, &net.UDPAddr{IP: net.IPv4(1, 2, 3, 4), Port: 1}, &net.UDPAddr{IP: net.IPv4(5, 6, 7, 8), Port: 2}) + ssh, refusal: reasonBadProxyHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default(t.TempDir())
			cfg.TrustedProxies = tt.trusted
			if tt.mode != "" {
				cfg.ProxyProtocol = tt.mode
			}
			e, err := newProxyEdge(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if e != nil && tt.timeout > 0 {
				e.timeout = tt.timeout
			}
			c, rest, err := acceptOver(t, e, tt.peer, tt.wire)
			if tt.refusal != "" {
				var r *proxyRefused
				if !errors.As(err, &r) || r.reason != tt.refusal {
					t.Fatalf("accept: %v, want refused for %q", err, tt.refusal)
				}
				return
			}
			if err != nil {
				t.Fatalf("accept: %v", err)
			}
			if got := hostOf(c.RemoteAddr()); got != tt.source {
				t.Errorf("source %q, want %q", got, tt.source)
			}
			if rest != tt.wantRest {
				t.Errorf("after the header %q, want %q", rest, tt.wantRest)
			}
		})
	}
}

func TestTrustedProxiesValidated(t *testing.T) {
	for _, bad := range []string{"10.0.0.0/33", "10.0.0", "lb.example.com", ""} {
		cfg := config.Default(t.TempDir())
		cfg.TrustedProxies = []string{bad}
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "trusted_proxies") {
			t.Errorf("trusted_proxies %q: %v", bad, err)
		}
	}
	cfg := config.Default(t.TempDir())
	cfg.ProxyProtocol = "sometimes"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "proxy_protocol") {
		t.Errorf("proxy_protocol sometimes: %v", err)
	}
}

// FuzzProxyHeader: whatever a trusted or untrusted peer sends, the edge
// refuses it or passes a connection that names a TCP client, and never
// panics.
func FuzzProxyHeader(f *testing.F) {
	f.Add("PROXY TCP4 203.0.113.7 10.0.0.9 50123 2222\r\nSSH-2.0-x\r\n", true)
	f.Add("PROXY TCP6 2001:db8::1 fd00::2 1 2\r\n", true)
	f.Add("PROXY UNKNOWN\r\n", true)
	f.Add("\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c\xcb\x00\x71\x07\x0a\x00\x00\x09\xc3\xcb\x08\xae", true)
	f.Add("\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00", false)
	f.Add("SSH-2.0-OpenSSH_9.6\r\n", false)
	f.Fuzz(func(t *testing.T, wire string, trustedPeer bool) {
		cfg := config.Default(t.TempDir())
		cfg.TrustedProxies = []string{"10.0.0.0/8"}
		e, err := newProxyEdge(cfg)
		if err != nil {
			t.Fatal(err)
		}
		e.timeout = 20 * time.Millisecond
		peer := "198.51.100.1:1"
		if trustedPeer {
			peer = "10.1.2.3:1"
		}
		c, _, err := acceptOver(t, e, peer, wire)
		if err != nil {
			var r *proxyRefused
			if !errors.As(err, &r) {
				t.Fatalf("a refusal without a reason: %v", err)
			}
			return
		}
		if _, ok := c.RemoteAddr().(*net.TCPAddr); !ok {
			t.Fatalf("passed a connection from %T %v", c.RemoteAddr(), c.RemoteAddr())
		}
		if !trustedPeer && hostOf(c.RemoteAddr()) != "198.51.100.1" {
			t.Fatalf("an untrusted peer named another client: %v", c.RemoteAddr())
		}
	})
}

// TestUntrustedProxyHeaderFlood: PROXY headers from an untrusted
// address are refused before SSH, audited in aggregate (one row per
// window, whatever the headers name), and never believed. A plain SSH
// client from there still logs in.
func TestUntrustedProxyHeaderFlood(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.TrustedProxies = []string{"10.9.9.9"} })
	for i := range 30 {
		c, err := net.Dial("tcp", f.addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "PROXY TCP4 198.51.100.%d 10.0.0.1 %d 2222\r\nSSH-2.0-x\r\n", i, 1000+i)
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		rest, err := io.ReadAll(c) // the server's banner, then the close
		c.Close()
		if err != nil {
			t.Fatalf("connection %d was not closed: %v", i, err)
		}
		if strings.Count(string(rest), "\n") > 1 {
			t.Fatalf("connection %d got past the banner: %q", i, rest)
		}
	}
	f.waitEvent(store.LoginEvent{Method: methodProxy, Result: store.LoginFailure, Reason: reasonUntrustedProxy})
	var rows int
	for _, e := range f.events(store.LoginQuery{}) {
		if strings.HasPrefix(e.Source, "198.51.100.") {
			t.Errorf("a header's address reached the audit: %+v", e)
		}
		if e.Method == methodProxy {
			rows++
			if e.Source != "127.0.0.1" {
				t.Errorf("refusal audited under %q, want the peer 127.0.0.1", e.Source)
			}
		}
	}
	if rows != 1 {
		t.Errorf("%d audit rows for 30 refused headers, want 1 (aggregated)", rows)
	}
	c := f.mustDial("alice", gossh.PublicKeys(f.aliceKey))
	if res := run(t, c, "web2 exit 0", false, ""); !strings.Contains(res.stdout, "bye from web2") {
		t.Fatalf("a plain client from the untrusted address: %+v", res)
	}
}
