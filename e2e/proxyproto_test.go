package e2e

// The PROXY protocol with the real OpenSSH client: a relay in the test
// plays the TCP load balancer (PROXY protocol v2, from 127.0.0.2, the
// one trusted address), and the client address its header names reaches
// the login audit, the login rules and the session list. A header from
// an untrusted address, and a trusted address without a header, are
// refused and audited.

import (
	"encoding/json"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
)

// proxyRelay is a tiny TCP load balancer: every connection it accepts
// it relays to target from the address from, opened with a PROXY
// protocol v2 header that names client.
type proxyRelay struct {
	Port int
	l    net.Listener
	wg   sync.WaitGroup
}

func startProxyRelay(t *testing.T, target, from string, client *net.TCPAddr) *proxyRelay {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &proxyRelay{Port: l.Addr().(*net.TCPAddr).Port, l: l}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			down, err := l.Accept()
			if err != nil {
				return
			}
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				r.relay(down, target, from, client)
			}()
		}
	}()
	t.Cleanup(func() { l.Close(); r.wg.Wait() })
	return r
}

func (r *proxyRelay) relay(down net.Conn, target, from string, client *net.TCPAddr) {
	defer down.Close()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
	up, err := d.Dial("tcp", target)
	if err != nil {
		return
	}
	defer up.Close()
	h := proxyproto.HeaderProxyFromAddrs(2, client, up.RemoteAddr())
	if _, err := h.WriteTo(up); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, down); done <- struct{}{} }()
	go func() { _, _ = io.Copy(down, up); done <- struct{}{} }()
	<-done
}

// allLoginEvents returns the login audit of the bastion.
func allLoginEvents(t *testing.T, b *Bastion) []map[string]any {
	t.Helper()
	var evs []map[string]any
	if err := json.Unmarshal([]byte(b.MustRun(t, "", "-o", "json", "audit", "logins")), &evs); err != nil {
		t.Fatal(err)
	}
	return evs
}

// findLogin waits for a login event with the given fields.
func findLogin(t *testing.T, b *Bastion, want map[string]string) map[string]any {
	t.Helper()
	var found map[string]any
	waitUntil(10*time.Second, func() bool {
		for _, ev := range allLoginEvents(t, b) {
			match := true
			for k, v := range want {
				if !strings.Contains(toString(ev[k]), v) {
					match = false
				}
			}
			if match {
				found = ev
				return true
			}
		}
		return false
	})
	if found == nil {
		t.Errorf("no login event with %v in:\n%s", want, b.MustRun(t, "", "audit", "logins"))
	}
	return found
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}

// newKeyEnv is a bastion with jms.yaml config in front of one sshd
// asset, web1, granted to alice, who logs in with the key of the Login
// returned.
func newKeyEnv(t *testing.T, config string) (*Bastion, Login) {
	t.Helper()
	requireBinaries(t, "ssh")
	s := startSSHD(t)
	b := startBastion(t, BastionOptions{Config: config})
	key := ClientKey(t)
	b.MustRun(t, "", "user", "add", "alice", "--key", key.PubPath)
	b.MustRun(t, "", "asset", "add", "web1", "--address", "127.0.0.1", "--port", strconv.Itoa(s.Port))
	b.MustRun(t, "", "account", "add", "web1", s.User, "--key", s.KeyFile)
	b.MustRun(t, "", "grant", "add", "alice-web1", "--user", "alice", "--asset", "web1", "--account", "@all")
	login := b.Login("alice")
	login.KeyFile = key.Path
	return b, login
}

func TestProxyProtocol(t *testing.T) {
	t.Parallel()
	b, login := newKeyEnv(t, "trusted_proxies: [127.0.0.2/32]\n")

	// Through the trusted relay: the header's client is the source.
	client := &net.TCPAddr{IP: net.ParseIP("203.0.113.7"), Port: 50123}
	lb := startProxyRelay(t, b.Addr, "127.0.0.2", client)
	via := login
	via.Port = lb.Port
	if r := runSSH(t, via, nil, "web1", "echo through-the-balancer"); r.ExitCode != 0 || !strings.Contains(r.Stdout, "through-the-balancer") {
		t.Fatalf("ssh through the PROXY relay: exit %d, stdout %q, stderr %q", r.ExitCode, r.Stdout, r.Stderr)
	}
	findLogin(t, b, map[string]string{"user": "alice", "source": "203.0.113.7", "result": "success"})
	var sessions []map[string]any
	if err := json.Unmarshal([]byte(b.MustRun(t, "", "-o", "json", "session", "list")), &sessions); err != nil {
		t.Fatal(err)
	}
	if len(sessions) != 1 || !strings.HasPrefix(toString(sessions[0]["source"]), "203.0.113.7:") {
		t.Errorf("session list does not show the balancer's client: %v", sessions)
	}

	// The header's address is the one login rules judge.
	b.MustRun(t, "", "acl", "add", "no-doc-net", "--action", "deny", "--source", "203.0.113.0/24", "--priority", "10")
	if r := runSSH(t, via, nil, "web1", "echo ruled-out"); r.ExitCode == 0 || strings.Contains(r.Stdout, "ruled-out") {
		t.Fatalf("a login rule denying the header's network let it in: %+v", r)
	}
	findLogin(t, b, map[string]string{"user": "alice", "source": "203.0.113.7", "result": "failure", "reason": "no-doc-net"})

	// Directly from an untrusted address, without a header: as before.
	if r := runSSH(t, login, nil, "web1", "echo direct"); r.ExitCode != 0 || !strings.Contains(r.Stdout, "direct") {
		t.Fatalf("direct ssh: exit %d, stdout %q, stderr %q", r.ExitCode, r.Stdout, r.Stderr)
	}
	findLogin(t, b, map[string]string{"user": "alice", "source": "127.0.0.1", "result": "success"})

	// A header from an untrusted address (127.0.0.1): refused, audited.
	rogue := startProxyRelay(t, b.Addr, "127.0.0.1", &net.TCPAddr{IP: net.ParseIP("198.51.100.9"), Port: 1})
	via.Port = rogue.Port
	if r := runSSH(t, via, nil, "web1", "echo rogue"); r.ExitCode != 255 || strings.Contains(r.Stdout, "rogue") {
		t.Fatalf("ssh with an untrusted PROXY header: exit %d, stdout %q, stderr %q", r.ExitCode, r.Stdout, r.Stderr)
	}
	findLogin(t, b, map[string]string{"source": "127.0.0.1", "method": "proxy", "result": "failure",
		"reason": "PROXY header from an untrusted address"})

	// The trusted address without a header (ssh -b 127.0.0.2): refused
	// (proxy_protocol: required), audited.
	bound := login
	bound.Options = []string{"-b", "127.0.0.2"}
	if r := runSSH(t, bound, nil, "web1", "echo unproxied"); r.ExitCode != 255 || strings.Contains(r.Stdout, "unproxied") {
		t.Fatalf("ssh from the trusted address without a header: exit %d, stdout %q, stderr %q", r.ExitCode, r.Stdout, r.Stderr)
	}
	findLogin(t, b, map[string]string{"source": "127.0.0.2", "method": "proxy", "result": "failure",
		"reason": "no PROXY header from a trusted proxy"})
	for _, ev := range allLoginEvents(t, b) {
		if toString(ev["source"]) == "198.51.100.9" {
			t.Errorf("the untrusted header's address reached the audit: %v", ev)
		}
	}
}
