package transfer

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/bastion/sessionerr"
	"github.com/jms-bastion/jms/store"
)

// echoServer answers every connection with what it reads.
func echoServer(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); io.Copy(c, c); c.Close() }()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// forwardClient is an SSH connection as alice to a server whose
// direct-tcpip channels go to Service.Forward.
func (h *harness) forwardClient(t *testing.T) *gossh.Client {
	return h.forwardClientWith(t, nil)
}

// forwardClientWith is forwardClient whose forwards run under the
// context and request wrap returns (nil: as they come).
func (h *harness) forwardClientWith(t *testing.T, wrap func(context.Context, ForwardRequest) (context.Context, ForwardRequest)) *gossh.Client {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	hk, _ := gossh.NewSignerFromKey(priv)
	cfg := &gossh.ServerConfig{NoClientAuth: true}
	cfg.AddHostKey(hk)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		sc, chans, reqs, err := gossh.NewServerConn(c, cfg)
		if err != nil {
			return
		}
		defer sc.Close()
		go gossh.DiscardRequests(reqs)
		for nc := range chans {
			host, port, err := ParseDirectTCPIP(nc.ExtraData())
			if err != nil {
				nc.Reject(gossh.ConnectionFailed, err.Error())
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				fctx, req := context.Context(ctx), ForwardRequest{User: "alice", Source: "127.0.0.1:1", Host: host, Port: port}
				if wrap != nil {
					fctx, req = wrap(fctx, req)
				}
				h.svc.Forward(fctx, nc, req)
			}()
		}
	}()
	cc, err := gossh.Dial("tcp", l.Addr().String(), &gossh.ClientConfig{User: "alice", HostKeyCallback: gossh.InsecureIgnoreHostKey()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func TestForward(t *testing.T) {
	echo := echoServer(t)
	h := newHarness(t,
		grantSpec{name: "fw", assets: []string{"web1"}, actions: []string{"forward"}, ports: []int{echo}},
		grantSpec{name: "ssh-only", assets: []string{"web2"}, actions: []string{"connect", "forward"}},
		grantSpec{name: "nofw", assets: []string{"web3"}},
	)
	c := h.forwardClient(t)

	conn, err := c.Dial("tcp", net.JoinHostPort("web1", strconv.Itoa(echo)))
	if err != nil {
		t.Fatalf("forward to web1:%d: %v", echo, err)
	}
	if _, err := conn.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo %q, %v", buf, err)
	}
	conn.Close()

	// web2's grant lists no port: its SSH port only (the test asset).
	conn, err = c.Dial("tcp", net.JoinHostPort("web2", strconv.Itoa(h.asset.port)))
	if err != nil {
		t.Fatalf("forward to web2's SSH port: %v", err)
	}
	banner := make([]byte, 4)
	if _, err := io.ReadFull(conn, banner); err != nil || string(banner) != "SSH-" {
		t.Errorf("web2 ssh banner %q, %v", banner, err)
	}
	conn.Close()

	refusals := []struct{ host, port, want string }{
		{"web1", "22", "port forwarding to web1 port 22 is not allowed (allowed: " + strconv.Itoa(echo) + ")"},
		{"web2", strconv.Itoa(echo), "is not allowed"},
		{"web3", strconv.Itoa(echo), "port forwarding to web3 is not enabled for alice"},
		{"nowhere", "80", `is not allowed: no asset`},
		{"127.0.0.2", strconv.Itoa(echo), `is not allowed: no asset`},
		// All three of her assets have 127.0.0.1: it names none of them.
		{"127.0.0.1", strconv.Itoa(echo), `is not allowed: 127.0.0.1 is the address of web1, web2 and web3: name one`},
	}
	for _, r := range refusals {
		_, err := c.Dial("tcp", net.JoinHostPort(r.host, r.port))
		if err == nil || !strings.Contains(err.Error(), r.want) {
			t.Errorf("forward to %s:%s: %v, want %q", r.host, r.port, err, r.want)
		}
	}
	c.Close()
	if !waitFor(func() bool {
		n := 0
		for _, e := range h.events() {
			if e.Operation == OpForward && e.Result == ResultOK {
				n++
			}
		}
		return n == 2
	}) {
		t.Fatalf("forward events %+v", h.events())
	}
	var okEvent, denied int
	for _, e := range h.events() {
		switch {
		case e.Operation == OpForward && e.Result == ResultOK && e.Asset == "web1":
			okEvent++
			if e.Size != 8 || !strings.Contains(e.Detail, "in 4 bytes, out 4 bytes") || e.Path != "web1:"+strconv.Itoa(echo) {
				t.Errorf("forward event %+v", e)
			}
		case e.Operation == OpForward && e.Result == ResultDenied:
			denied++
		}
	}
	if okEvent != 1 || denied != len(refusals) {
		t.Errorf("%d ok events on web1, %d denied; want 1 and %d: %+v", okEvent, denied, len(refusals), h.events())
	}
}

// TestForwardSession: a forward is a session of kind forward, listed
// while it runs with its target, handed to OnStart (the live registry),
// ended by its context's cause and closed with the bytes each way.
func TestForwardSession(t *testing.T) {
	echo := echoServer(t)
	h := newHarness(t, grantSpec{name: "fw", assets: []string{"web1"}, actions: []string{"forward"}, ports: []int{echo}})
	started := make(chan ForwardSession, 1)
	var kill context.CancelCauseFunc
	c := h.forwardClientWith(t, func(ctx context.Context, req ForwardRequest) (context.Context, ForwardRequest) {
		ctx, kill = context.WithCancelCause(ctx)
		req.OnStart = func(f ForwardSession) { started <- f }
		return ctx, req
	})
	conn, err := c.Dial("tcp", net.JoinHostPort("web1", strconv.Itoa(echo)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(conn, buf); err != nil {
		t.Fatal(err)
	}
	f := <-started
	target := "web1:" + strconv.Itoa(echo)
	if f.Asset != "web1" || f.AssetID == 0 || f.Port != echo || time.Since(f.LastActive()) > 10*time.Second {
		t.Errorf("OnStart got %+v", f)
	}
	active, err := h.st.ListSessions(context.Background(), store.SessionQuery{Active: true})
	if err != nil || len(active) != 1 || active[0].ID != f.ID || active[0].Kind != store.SessionForward || active[0].Target != target {
		t.Fatalf("active sessions %+v, %v", active, err)
	}
	kill(fmt.Errorf("%w by admin: maintenance", sessionerr.ErrKilled))
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Read(buf); err == nil {
		t.Fatal("the forward still carries bytes after its kill")
	}
	var row store.Session
	if !waitFor(func() bool {
		row, err = h.st.GetSession(context.Background(), f.ID)
		return err == nil && row.Status != store.StatusActive
	}) {
		t.Fatalf("the forward's row is still active: %+v, %v", row, err)
	}
	if row.Status != store.StatusKilled || row.BytesIn != 4 || row.BytesOut != 4 || !strings.Contains(row.EndReason, "killed by admin: maintenance") {
		t.Errorf("ended forward %+v", row)
	}
}

// FuzzParseDirectTCPIP: a client's channel-open payload never panics the
// parser, and what it accepts is a port in range.
func FuzzParseDirectTCPIP(f *testing.F) {
	f.Add(gossh.Marshal(directTCPIP{Host: "web1", Port: 22, OrigHost: "127.0.0.1", OrigPort: 4000}))
	f.Add(gossh.Marshal(directTCPIP{Host: "", Port: 0}))
	f.Add(gossh.Marshal(directTCPIP{Host: "web1", Port: 70000}))
	f.Add([]byte{0, 0, 0, 9, 'w'})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		host, port, err := ParseDirectTCPIP(b)
		if err != nil {
			return
		}
		if port < 1 || port > 65535 {
			t.Fatalf("accepted port %d (host %q)", port, host)
		}
	})
}
