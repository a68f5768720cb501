package bastion

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/bastion/proxy"
	"github.com/jms-bastion/jms/bastion/sessionerr"
	"github.com/jms-bastion/jms/config"
	"github.com/jms-bastion/jms/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// database/sql's connection opener lives as long as the store.
		goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
	)
}

// cheapArgon2 keeps password tests fast; the server upgrades to what
// Deps.Argon2 says, which the tests set to the same.
var cheapArgon2 = store.Argon2Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

// fakeProxy stands in for bastion/proxy: it records the request and
// plays a tiny asset. "exit N" ends with status N; "raw" writes bytes
// that PTY emulation would change; "env" prints the environment; "pty"
// prints the PTY request; "cat" copies stdin to stdout; "refuse" fails
// with a UserError.
type fakeProxy struct {
	mu   sync.Mutex
	reqs []proxy.Request
	// hook, when set, runs a session instead (menu_test.go).
	hook func(ctx context.Context, down proxy.Downstream, req *proxy.Request) (int, error)
}

func (f *fakeProxy) Run(ctx context.Context, down proxy.Downstream, req *proxy.Request) (int, error) {
	f.mu.Lock()
	f.reqs = append(f.reqs, *req)
	hook := f.hook
	f.mu.Unlock()
	if hook != nil {
		return hook(ctx, down, req)
	}
	cmd := req.Command
	switch {
	case strings.HasPrefix(cmd, "exit "):
		n, _ := strconv.Atoi(strings.TrimPrefix(cmd, "exit "))
		fmt.Fprintf(down, "bye from %s as %s\n", req.Asset.Name, req.Account.Username)
		return n, nil
	case cmd == "raw" || cmd == "":
		_, _ = down.Write([]byte("a\nb\n"))
		return 0, nil
	case cmd == "env":
		fmt.Fprintln(down, strings.Join(down.Environ(), " "))
		return 0, nil
	case cmd == "pty":
		p, _, ok := down.Pty()
		fmt.Fprintf(down, "pty=%v term=%s size=%dx%d\n", ok, p.Term, p.Window.Width, p.Window.Height)
		return 0, nil
	case cmd == "cat":
		_, _ = io.Copy(down, down)
		return 0, nil
	case cmd == "refuse":
		return 255, &sessionerr.UserError{Msg: "jms: host key of " + req.Asset.Name + " changed"}
	}
	return 0, nil
}

func (f *fakeProxy) last() proxy.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		return proxy.Request{}
	}
	return f.reqs[len(f.reqs)-1]
}

// fixture is a served bastion over a real SQLite store with alice (password
// and key), bob (key), carol (disabled) and assets web1 (accounts root and
// deploy), web2 (root) granted to alice, and db1 not granted.
type fixture struct {
	t                                     *testing.T
	st                                    *store.Store
	srv                                   *Server
	addr                                  string
	proxy                                 *fakeProxy
	aliceKey, aliceKey2, bobKey, strayKey gossh.Signer
	logBytes                              *countingWriter // what the server logged
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	mu sync.Mutex
	n  int64
	w  io.Writer
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.n += int64(len(p))
	c.mu.Unlock()
	return c.w.Write(p)
}

func (c *countingWriter) count() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

const alicePassword = "alice-secret-1"

func newSigner(t testing.TB) gossh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func authorizedLine(s gossh.Signer) string {
	return strings.TrimSpace(string(gossh.MarshalAuthorizedKey(s.PublicKey())))
}

func newFixture(t *testing.T, tune func(*config.Config)) *fixture {
	t.Helper()
	return newFixtureDeps(t, tune, nil)
}

// newFixtureDeps is newFixture whose server's Deps deps may change.
func newFixtureDeps(t *testing.T, tune func(*config.Config), deps func(*Deps)) *fixture {
	t.Helper()
	ctx := store.WithActor(context.Background(), "test")
	dir := t.TempDir()
	cfg := config.Default(dir)
	cfg.Listen = "127.0.0.1:0"
	if tune != nil {
		tune(&cfg)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "test host key")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg.HostKeyPath(), pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	raw, _ := store.GenerateKeyBytes()
	key, _ := store.NewKey(raw, "test")
	st, err := store.Open(ctx, filepath.Join(dir, "jms.db"), store.Options{Sealer: store.NewSealer(key)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })

	f := &fixture{t: t, st: st, proxy: &fakeProxy{},
		aliceKey: newSigner(t), aliceKey2: newSigner(t), bobKey: newSigner(t), strayKey: newSigner(t)}
	hash, err := store.HashPassword(store.Secret(alicePassword), cheapArgon2)
	if err != nil {
		t.Fatal(err)
	}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.AddUser(ctx, store.NewUser{Name: "alice", PasswordHash: hash,
		Keys: []string{authorizedLine(f.aliceKey), authorizedLine(f.aliceKey2)}}))
	must(st.AddUser(ctx, store.NewUser{Name: "bob", Keys: []string{authorizedLine(f.bobKey)}}))
	must(st.AddUser(ctx, store.NewUser{Name: "carol", PasswordHash: hash}))
	must(nil, st.SetUserDisabled(ctx, "carol", true))
	must(st.AddAsset(ctx, store.NewAsset{Name: "web1", Address: "10.0.0.1"}))
	must(st.AddAsset(ctx, store.NewAsset{Name: "web2", Address: "10.0.0.2", Comment: "second web"}))
	must(st.AddAsset(ctx, store.NewAsset{Name: "db1", Address: "10.0.0.3"}))
	for _, a := range [][2]string{{"web1", "root"}, {"web1", "deploy"}, {"web2", "root"}, {"db1", "root"}} {
		must(st.AddAccount(ctx, store.NewAccount{Asset: a[0], Username: a[1]}))
	}
	must(st.AddGrant(ctx, store.NewGrant{Name: "alice-web", Users: []string{"alice", "carol"},
		Assets: []string{"web1", "web2"}, Accounts: []string{store.AllAccounts}}))

	f.logBytes = &countingWriter{w: io.Discard}
	logger := slog.New(slog.NewTextHandler(f.logBytes, nil))
	if testing.Verbose() {
		f.logBytes.w = os.Stderr
		logger = slog.New(slog.NewTextHandler(f.logBytes, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	d := Deps{Store: st, Proxy: f.proxy, Logger: logger, Argon2: cheapArgon2}
	if deps != nil {
		deps(&d)
	}
	srv, err := New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.srv, f.addr = srv, l.Addr().String()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return f
}

func clientConfig(user string, auth ...gossh.AuthMethod) *gossh.ClientConfig {
	return &gossh.ClientConfig{User: user, Auth: auth, HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second}
}

func (f *fixture) dial(user string, auth ...gossh.AuthMethod) (*gossh.Client, error) {
	return gossh.Dial("tcp", f.addr, clientConfig(user, auth...))
}

func (f *fixture) mustDial(user string, auth ...gossh.AuthMethod) *gossh.Client {
	f.t.Helper()
	c, err := f.dial(user, auth...)
	if err != nil {
		f.t.Fatalf("login as %s: %v", user, err)
	}
	f.t.Cleanup(func() { c.Close() })
	return c
}

type result struct {
	stdout, stderr string
	status         int
}

// run runs cmd on a new session of c, with a PTY when pty is set.
func run(t *testing.T, c *gossh.Client, cmd string, pty bool, stdin string) result {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatalf("new session: %v", err)
	}
	defer sess.Close()
	var out, errOut bytes.Buffer
	sess.Stdout, sess.Stderr, sess.Stdin = &out, &errOut, strings.NewReader(stdin)
	if pty {
		if err := sess.RequestPty("xterm-256color", 24, 80, gossh.TerminalModes{}); err != nil {
			t.Fatalf("pty: %v", err)
		}
	}
	if cmd == "" {
		err = sess.Shell()
		if err == nil {
			err = sess.Wait()
		}
	} else {
		err = sess.Run(cmd)
	}
	res := result{stdout: out.String(), stderr: errOut.String()}
	var ee *gossh.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.status = ee.ExitStatus()
	default:
		t.Fatalf("run %q: %v", cmd, err)
	}
	return res
}

// events returns the login audit.
func (f *fixture) events(q store.LoginQuery) []store.LoginEvent {
	f.t.Helper()
	ev, err := f.st.ListLoginEvents(context.Background(), q)
	if err != nil {
		f.t.Fatal(err)
	}
	return ev
}

// waitEvent waits for a login event matching want (zero fields match
// anything) and returns it.
func (f *fixture) waitEvent(want store.LoginEvent) store.LoginEvent {
	f.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, e := range f.events(store.LoginQuery{}) {
			if (want.User == "" || e.User == want.User) && (want.Method == "" || e.Method == want.Method) &&
				(want.Result == "" || e.Result == want.Result) && (want.Reason == "" || e.Reason == want.Reason) {
				return e
			}
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("no login event like %+v in %+v", want, f.events(store.LoginQuery{}))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
