package transfer

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"go.uber.org/goleak"
	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/bastion/proxy"
	"github.com/jms-bastion/jms/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testAsset is an in-process SSH server standing in for an asset: any
// user with the password "pw", the sftp subsystem over the real
// filesystem (from home), and direct-tcpip channels it dials itself.
type testAsset struct {
	l    net.Listener
	port int
	home string
	// silent: the sftp subsystem starts but never answers.
	silent atomic.Bool

	mu    sync.Mutex
	conns map[net.Conn]bool
	dials []string // direct-tcpip targets asked for
	wg    sync.WaitGroup
}

func startAsset(t testing.TB, home string) *testAsset {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	hk, _ := gossh.NewSignerFromKey(priv)
	cfg := &gossh.ServerConfig{PasswordCallback: func(c gossh.ConnMetadata, pw []byte) (*gossh.Permissions, error) {
		if string(pw) == "pw" {
			return nil, nil
		}
		return nil, errors.New("wrong password")
	}}
	cfg.AddHostKey(hk)
	a := &testAsset{l: l, port: l.Addr().(*net.TCPAddr).Port, home: home, conns: map[net.Conn]bool{}}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			a.mu.Lock()
			a.conns[c] = true
			a.mu.Unlock()
			a.wg.Add(1)
			go func() {
				defer a.wg.Done()
				a.serve(c, cfg)
				a.mu.Lock()
				delete(a.conns, c)
				a.mu.Unlock()
			}()
		}
	}()
	t.Cleanup(a.close)
	return a
}

func (a *testAsset) open() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.conns)
}

func (a *testAsset) close() {
	a.l.Close()
	a.mu.Lock()
	for c := range a.conns {
		c.Close()
	}
	a.mu.Unlock()
	a.wg.Wait()
}

func (a *testAsset) serve(c net.Conn, cfg *gossh.ServerConfig) {
	defer c.Close()
	sc, chans, reqs, err := gossh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	go gossh.DiscardRequests(reqs)
	var wg sync.WaitGroup
	defer wg.Wait()
	for nc := range chans {
		switch nc.ChannelType() {
		case "session":
			ch, creqs, err := nc.Accept()
			if err != nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer ch.Close()
				for req := range creqs {
					if req.Type == "subsystem" && len(req.Payload) > 4 && string(req.Payload[4:]) == "sftp" {
						req.Reply(true, nil)
						if a.silent.Load() {
							go gossh.DiscardRequests(creqs)
							io.Copy(io.Discard, ch)
							return
						}
						srv, err := sftp.NewServer(ch, sftp.WithServerWorkingDirectory(a.home))
						if err == nil {
							srv.Serve()
							srv.Close()
						}
						go gossh.DiscardRequests(creqs)
						return
					}
					req.Reply(false, nil)
				}
			}()
		case "direct-tcpip":
			var m struct {
				Host     string
				Port     uint32
				OrigHost string
				OrigPort uint32
			}
			if gossh.Unmarshal(nc.ExtraData(), &m) != nil {
				nc.Reject(gossh.ConnectionFailed, "bad payload")
				continue
			}
			addr := net.JoinHostPort(m.Host, strconv.Itoa(int(m.Port)))
			a.mu.Lock()
			a.dials = append(a.dials, addr)
			a.mu.Unlock()
			up, err := net.Dial("tcp", addr)
			if err != nil {
				nc.Reject(gossh.ConnectionFailed, err.Error())
				continue
			}
			ch, creqs, err := nc.Accept()
			if err != nil {
				up.Close()
				continue
			}
			go gossh.DiscardRequests(creqs)
			wg.Add(2)
			go func() {
				defer wg.Done()
				io.Copy(up, ch)
				up.(*net.TCPConn).CloseWrite()
			}()
			go func() {
				defer wg.Done()
				io.Copy(ch, up)
				ch.CloseWrite()
				ch.Close()
			}()
		default:
			nc.Reject(gossh.UnknownChannelType, "no")
		}
	}
}

// harness is a store with user alice, the asset web1 (account root),
// web2 (accounts root and deploy) and web3 (not granted to alice), all
// served by one testAsset, and the Service over a real proxy.
type harness struct {
	t     testing.TB
	ctx   context.Context
	st    *store.Store
	asset *testAsset
	svc   *Service
	dir   string // the asset's files live here
}

type grantSpec struct {
	name     string
	assets   []string
	accounts []string
	actions  []string
	ports    []int
}

func newHarness(t testing.TB, grants ...grantSpec) *harness {
	t.Helper()
	ctx := store.WithActor(context.Background(), "test")
	raw, err := store.GenerateKeyBytes()
	if err != nil {
		t.Fatal(err)
	}
	k, err := store.NewKey(raw, "test")
	if err != nil {
		t.Fatal(err)
	}
	dbDir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dbDir, "jms.db"), store.Options{Sealer: store.NewSealer(k)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := &harness{t: t, ctx: ctx, st: st, dir: t.TempDir()}
	h.asset = startAsset(t, h.dir)
	if _, err := st.AddUser(ctx, store.NewUser{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []struct {
		name     string
		accounts []string
	}{{"web1", []string{"root"}}, {"web2", []string{"deploy", "root"}}, {"web3", []string{"root"}}} {
		if _, err := st.AddAsset(ctx, store.NewAsset{Name: a.name, Address: "127.0.0.1", Port: h.asset.port}); err != nil {
			t.Fatal(err)
		}
		for _, u := range a.accounts {
			if _, err := st.AddAccount(ctx, store.NewAccount{Asset: a.name, Username: u, SecretKind: store.SecretPassword, Secret: store.Secret("pw")}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, g := range grants {
		if _, err := st.AddGrant(ctx, store.NewGrant{Name: g.name, Users: []string{"alice"}, Assets: g.assets,
			Accounts: g.accounts, Actions: g.actions, ForwardPorts: g.ports}); err != nil {
			t.Fatal(err)
		}
	}
	px := proxy.New(proxy.Config{ConnectTimeout: 5 * time.Second, Keepalive: -1}, st, nil)
	h.svc = New(st, px, nil, nil)
	return h
}

// access returns alice's access to the asset called name.
func (h *harness) access(name string) *store.Access {
	h.t.Helper()
	list, err := h.st.AuthorizedAssets(h.ctx, "alice", time.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	for _, a := range list {
		if a.Asset.Name == name {
			return &a
		}
	}
	h.t.Fatalf("alice has no access to %s", name)
	return nil
}

// sftpSession serves one SFTP session for alice and returns a client of
// it; req.User defaults to alice.
func (h *harness) sftpSession(req SFTPRequest) (*sftp.Client, func() error) {
	h.t.Helper()
	if req.User == "" {
		req.User = "alice"
	}
	req.Source = "127.0.0.1:1"
	cr, sw := io.Pipe()
	sr, cw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := h.svc.ServeSFTP(h.ctx, pipeRWC{sr, sw}, req)
		sw.CloseWithError(fmt.Errorf("session over: %v", err))
		sr.Close()
		done <- err
	}()
	c, err := sftp.NewClientPipe(cr, cw)
	if err != nil {
		h.t.Fatalf("sftp client: %v (serve: %v)", err, <-done)
	}
	var once sync.Once
	var serr error
	end := func() error {
		once.Do(func() {
			c.Close()
			cw.Close()
			serr = <-done
		})
		return serr
	}
	h.t.Cleanup(func() { end() })
	return c, end
}

type pipeRWC struct {
	r *io.PipeReader
	w *io.PipeWriter
}

func (p pipeRWC) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p pipeRWC) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p pipeRWC) Close() error {
	p.r.Close()
	return p.w.Close()
}

// events returns the transfer events recorded so far.
func (h *harness) events() []store.TransferEvent {
	h.t.Helper()
	evs, err := h.st.ListTransferEvents(h.ctx, store.AuditQuery{})
	if err != nil {
		h.t.Fatal(err)
	}
	return evs
}
