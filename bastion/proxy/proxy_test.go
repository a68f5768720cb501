package proxy

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"charm.land/ssh"
	"go.uber.org/goleak"
	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/bastion/sessionerr"
	"github.com/jms-bastion/jms/recorder"
	"github.com/jms-bastion/jms/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// harness is a bastion (charm.land/ssh server whose handler calls Run)
// in front of a testAsset, with a real store.
type harness struct {
	t       testing.TB
	st      *store.Store
	px      *Proxy
	asset   *testAsset
	dataDir string
	addr    string
	account store.GrantedAccount

	mu      sync.Mutex
	ids     []string
	cancels []context.CancelCauseFunc
	errs    []error
}

type harnessOptions struct {
	key       bool // the account logs in with a key instead of a password
	password  string
	cfg       Config
	pinned    string // the asset's pinned host key line
	badSecret bool   // the account's secret is wrong
	create    func(path string, h recorder.Header, o recorder.Options) (*recorder.Writer, error)
	createRaw func(path string, start time.Time, now func() time.Time) (*recorder.RawWriter, error)
}

func newHarness(t testing.TB, o harnessOptions) *harness {
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
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "jms.db"), store.Options{Sealer: store.NewSealer(k)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })

	h := &harness{t: t, st: st, dataDir: dir}
	if _, err := st.AddUser(ctx, store.NewUser{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	na := store.NewAccount{Asset: "web1", Username: "root"}
	if o.key {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		blk, err := gossh.MarshalPrivateKey(priv, "")
		if err != nil {
			t.Fatal(err)
		}
		signer, _ := gossh.NewSignerFromKey(priv)
		h.asset = startAsset(t, "", signer.PublicKey())
		na.SecretKind, na.Secret = store.SecretKey, pem.EncodeToMemory(blk)
		if o.badSecret {
			_, other, _ := ed25519.GenerateKey(rand.Reader)
			blk, _ := gossh.MarshalPrivateKey(other, "")
			na.Secret = pem.EncodeToMemory(blk)
		}
	} else {
		h.asset = startAsset(t, "s3cret", nil)
		na.SecretKind, na.Secret = store.SecretPassword, store.Secret("s3cret")
		if o.badSecret {
			na.Secret = store.Secret("wrong")
		}
	}
	if _, err := st.AddAsset(ctx, store.NewAsset{Name: "web1", Address: "127.0.0.1", Port: h.asset.port}); err != nil {
		t.Fatal(err)
	}
	if o.pinned != "" {
		if err := st.PinHostKey(ctx, "web1", o.pinned); err != nil {
			t.Fatal(err)
		}
	}
	acc, err := st.AddAccount(ctx, na)
	if err != nil {
		t.Fatal(err)
	}
	h.account = store.GrantedAccount{Account: acc, Actions: []string{"connect"}}

	cfg := o.cfg
	cfg.RecordingsDir = filepath.Join(dir, "recordings")
	cfg.DataDir = dir
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	h.px = New(cfg, st, nil)
	if o.create != nil {
		h.px.createRecording = o.create
	}
	if o.createRaw != nil {
		h.px.createRaw = o.createRaw
	}

	srv := &ssh.Server{Handler: h.handle, PtyHandler: RawPtyHandler}
	srv.AddHostKey(newSigner(t))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = l.Addr().String()
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return h
}

func (h *harness) handle(sess ssh.Session) {
	ctx, cancel := context.WithCancelCause(sess.Context())
	defer cancel(nil)
	h.mu.Lock()
	h.cancels = append(h.cancels, cancel)
	h.mu.Unlock()
	a, err := h.st.GetAsset(ctx, "web1")
	if err != nil {
		h.t.Error(err)
		sess.Exit(1)
		return
	}
	code, err := h.px.Run(ctx, NewRawSession(sess), &Request{
		User: sess.User(), Source: sess.RemoteAddr().String(), Asset: a, Account: h.account, Command: sess.RawCommand(),
		OnStart: func(s store.Session) {
			h.mu.Lock()
			h.ids = append(h.ids, s.ID)
			h.mu.Unlock()
		},
	})
	if err != nil {
		h.mu.Lock()
		h.errs = append(h.errs, err)
		h.mu.Unlock()
		io.WriteString(sess.Stderr(), err.Error()+"\n")
	}
	sess.Exit(code)
}

// dial logs in to the bastion as a person.
func (h *harness) dial() *gossh.Client {
	h.t.Helper()
	c, err := gossh.Dial("tcp", h.addr, &gossh.ClientConfig{User: "alice", HostKeyCallback: gossh.InsecureIgnoreHostKey()})
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

type execResult struct {
	stdout, stderr string
	code           int
}

// exec runs cmd through the bastion.
func (h *harness) exec(cmd string, stdin io.Reader) execResult {
	h.t.Helper()
	c := h.dial()
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		h.t.Fatal(err)
	}
	var out, errb bytes.Buffer
	s.Stdout, s.Stderr, s.Stdin = &out, &errb, stdin
	err = s.Run(cmd)
	return execResult{out.String(), errb.String(), exitCode(h.t, err)}
}

func exitCode(t testing.TB, err error) int {
	var ee *gossh.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitStatus()
	}
	t.Fatalf("session: %v", err)
	return -1
}

// lastSession returns the row of the latest session, once it has ended.
func (h *harness) lastSession() store.Session {
	h.t.Helper()
	var ss store.Session
	if !waitFor(5*time.Second, func() bool {
		h.mu.Lock()
		n := len(h.ids)
		var id string
		if n > 0 {
			id = h.ids[n-1]
		}
		h.mu.Unlock()
		if id == "" {
			return false
		}
		var err error
		ss, err = h.st.GetSession(context.Background(), id)
		return err == nil && ss.Status != store.StatusActive
	}) {
		h.t.Fatalf("no ended session (last %+v)", ss)
	}
	return ss
}

// recording validates the session's recording and returns its header and
// events.
func (h *harness) recording(ss store.Session) (recorder.Header, []recorder.Event) {
	h.t.Helper()
	if ss.RecordingPath == "" || filepath.IsAbs(ss.RecordingPath) {
		h.t.Fatalf("recording path %q: want one relative to the data dir", ss.RecordingPath)
	}
	path := filepath.Join(h.dataDir, ss.RecordingPath)
	b, err := os.ReadFile(path)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := recorder.Validate(bytes.NewReader(b)); err != nil {
		h.t.Fatalf("recording invalid: %v\n%s", err, b)
	}
	if int64(len(b)) != ss.RecordingSize {
		h.t.Errorf("recording size %d, row says %d", len(b), ss.RecordingSize)
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != ss.RecordingSHA256 {
		h.t.Errorf("recording sha256 differs from the row's")
	}
	h.checkRaw(path, b)
	r, err := recorder.Open(path) // with the raw stream file merged in
	if err != nil {
		h.t.Fatal(err)
	}
	defer r.Close()
	evs, err := r.ReadAll()
	if err != nil {
		h.t.Fatal(err)
	}
	return r.Header, evs
}

// checkRaw checks the raw stream file beside the cast, if any, against
// the size and hash that end the cast.
func (h *harness) checkRaw(castPath string, cast []byte) {
	h.t.Helper()
	raw, err := os.ReadFile(recorder.RawPath(castPath))
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		h.t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(cast)), "\n")
	ev, err := recorder.NewReader(strings.NewReader(lines[0] + "\n" + lines[len(lines)-1] + "\n"))
	if err != nil {
		h.t.Fatal(err)
	}
	last, err := ev.Next()
	if err != nil {
		h.t.Fatalf("last event of the cast: %v", err)
	}
	size, sha, ok := recorder.ParseRawMarker(last.Data)
	sum := sha256.Sum256(raw)
	if last.Type != recorder.TypeMarker || !ok || size != int64(len(raw)) || sha != hex.EncodeToString(sum[:]) {
		h.t.Fatalf("the cast does not end with the raw file's size and hash: %+v", last)
	}
}

func outputOf(evs []recorder.Event) string {
	var b strings.Builder
	for _, e := range evs {
		if e.Type == recorder.TypeOutput {
			b.WriteString(e.Data)
		}
	}
	return b.String()
}

func waitFor(d time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}

// waitNoAssetConns waits until the asset has no open connection.
func (h *harness) waitNoAssetConns() {
	h.t.Helper()
	if !waitFor(5*time.Second, func() bool { return h.asset.conns.Load() == 0 }) {
		h.t.Fatalf("the asset still has %d connections", h.asset.conns.Load())
	}
}

func TestExec(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	for _, tc := range []struct {
		cmd            string
		stdout, stderr string
		code           int
	}{
		{cmd: "echo hello world", stdout: "hello world\n"},
		{cmd: "exit 3", code: 3},
		{cmd: "err oops", stderr: "oops\n"},
		{cmd: "raw", stdout: "a\nb\r\n"},
		{cmd: "term", stdout: "no pty\n"},
		{cmd: "nosuch", stderr: "nosuch: command not found\n", code: 127},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			h.t = t
			got := h.exec(tc.cmd, nil)
			if got.stdout != tc.stdout || got.stderr != tc.stderr || got.code != tc.code {
				t.Fatalf("got stdout %q stderr %q code %d; want %q %q %d", got.stdout, got.stderr, got.code, tc.stdout, tc.stderr, tc.code)
			}
			ss := h.lastSession()
			if ss.Status != store.StatusClosed || ss.Kind != store.SessionExec || ss.Command != tc.cmd ||
				ss.ExitStatus == nil || *ss.ExitStatus != tc.code || ss.User != "alice" || ss.Asset != "web1" || ss.Account != "root" {
				t.Fatalf("session row %+v", ss)
			}
			hdr, evs := h.recording(ss)
			if out := outputOf(evs); out != tc.stdout+tc.stderr {
				t.Errorf("recorded output %q, want %q", out, tc.stdout+tc.stderr)
			}
			if hdr.Title != "alice@web1 as root" || hdr.Command != tc.cmd {
				t.Errorf("header %+v", hdr)
			}
			h.waitNoAssetConns()
		})
	}
}

func TestExecStdinStreaming(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	data := make([]byte, 8<<20+123)
	rand.Read(data)
	sum := sha256.Sum256(data)
	got := h.exec("sha", bytes.NewReader(data))
	want := fmt.Sprintf("%s %d\n", hex.EncodeToString(sum[:]), len(data))
	if got.stdout != want || got.code != 0 {
		t.Fatalf("got %q (code %d, stderr %q), want %q", got.stdout, got.code, got.stderr, want)
	}
	// cat echoes stdin back untouched, and the client's EOF ends it.
	small := []byte("line one\nline\r\ntwo\x00\xff")
	got = h.exec("cat", bytes.NewReader(small))
	if got.stdout != string(small) || got.code != 0 {
		t.Fatalf("cat: got %q code %d", got.stdout, got.code)
	}
	h.waitNoAssetConns()
}

func TestKeyAccount(t *testing.T) {
	h := newHarness(t, harnessOptions{key: true})
	if got := h.exec("echo by key", nil); got.stdout != "by key\n" || got.code != 0 {
		t.Fatalf("got %+v", got)
	}
}

func TestAuthFailure(t *testing.T) {
	for _, key := range []bool{false, true} {
		t.Run(fmt.Sprintf("key=%v", key), func(t *testing.T) {
			h := newHarness(t, harnessOptions{key: key, badSecret: true})
			got := h.exec("echo hi", nil)
			what := "password"
			if key {
				what = "key"
			}
			want := "jms: cannot log in to web1 as root: the asset refused the account's " + what + "\n"
			if got.stderr != want || got.stdout != "" || got.code != ExitLost {
				t.Fatalf("got %+v, want stderr %q", got, want)
			}
			ss := h.lastSession()
			if ss.Status != store.StatusFailed || ss.ExitStatus != nil || !strings.Contains(ss.EndReason, "refused the account's") {
				t.Fatalf("row %+v", ss)
			}
			// The recording shows why the session ended.
			if _, evs := h.recording(ss); !strings.Contains(outputOf(evs), "cannot log in") {
				t.Errorf("recording lacks the error: %q", outputOf(evs))
			}
			h.waitNoAssetConns()
		})
	}
}

func TestPTY(t *testing.T) {
	h := newHarness(t, harnessOptions{cfg: Config{RecordInput: true}})
	c := h.dial()
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	stdin, _ := s.StdinPipe()
	out := &syncBuf{}
	s.Stdout = out
	if err := s.RequestPty("xterm-256color", 30, 100, gossh.TerminalModes{gossh.ECHO: 0, gossh.TTY_OP_ISPEED: 38400}); err != nil {
		t.Fatal(err)
	}
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	waitOut := func(want string) {
		t.Helper()
		if !waitFor(5*time.Second, func() bool { return strings.Contains(out.String(), want) }) {
			t.Fatalf("no %q in output %q", want, out.String())
		}
	}
	io.WriteString(stdin, "term\r")
	waitOut("xterm-256color 100x30\r\n")
	if err := s.WindowChange(40, 120); err != nil {
		t.Fatal(err)
	}
	// The resize travels on the request path, the next command on the
	// data path: wait until the asset has seen it.
	time.Sleep(100 * time.Millisecond)
	io.WriteString(stdin, "term\r")
	waitOut("xterm-256color 120x40\r\n")
	io.WriteString(stdin, "raw\r")
	io.WriteString(stdin, "exit 5\r")
	err = s.Wait()
	if code := exitCode(t, err); code != 5 {
		t.Fatalf("exit %d, want 5", code)
	}
	if !strings.Contains(out.String(), "a\nb\r\n") {
		t.Errorf("raw bytes were rewritten: %q", out.String())
	}
	h.asset.mu.Lock()
	pty := h.asset.lastPty
	h.asset.mu.Unlock()
	if pty.Term != "xterm-256color" || pty.Modes == "" {
		t.Errorf("asset got pty %+v", pty)
	}

	ss := h.lastSession()
	if ss.Kind != store.SessionShell || ss.Status != store.StatusClosed || ss.ExitStatus == nil || *ss.ExitStatus != 5 {
		t.Fatalf("row %+v", ss)
	}
	hdr, evs := h.recording(ss)
	if hdr.Width != 100 || hdr.Height != 30 || hdr.Env["TERM"] != "xterm-256color" {
		t.Errorf("header %+v", hdr)
	}
	var resized, typed bool
	var input strings.Builder
	for _, e := range evs {
		switch e.Type {
		case recorder.TypeResize:
			resized = resized || e.Data == "120x40"
		case recorder.TypeInput:
			typed = true
			input.WriteString(e.Data)
		}
	}
	if !resized || !typed || !strings.Contains(input.String(), "exit 5\r") {
		t.Errorf("events: resize %v input %v %q", resized, typed, input.String())
	}
	if !strings.Contains(outputOf(evs), "xterm-256color 120x40") {
		t.Errorf("output not recorded: %q", outputOf(evs))
	}
	c.Close()
	h.waitNoAssetConns()
}

func TestSignal(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	c := h.dial()
	defer c.Close()
	s, _ := c.NewSession()
	out := &syncBuf{}
	s.Stdout = out
	if err := s.Start("waitsig"); err != nil {
		t.Fatal(err)
	}
	if !waitFor(5*time.Second, func() bool { return out.String() == "waiting\n" }) {
		t.Fatalf("output %q", out.String())
	}
	if err := s.Signal(gossh.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, s.Wait()); code != 128+15 {
		t.Fatalf("exit %d, want 143", code)
	}
}

func TestHostKeyTOFUAndChange(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, harnessOptions{})
	if got := h.exec("echo first", nil); got.stdout != "first\n" {
		t.Fatalf("first connect: %+v", got)
	}
	a, _ := h.st.GetAsset(ctx, "web1")
	want := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(h.asset.hostKey.PublicKey())))
	if a.HostKey != want || a.HostKeyPinnedAt == nil {
		t.Fatalf("pinned %q, want %q", a.HostKey, want)
	}
	ops, _ := h.st.ListOperations(ctx, store.AuditQuery{Asset: "web1"})
	if len(ops) == 0 || ops[len(ops)-1].Action != "asset.trust" {
		t.Errorf("pin not audited: %+v", ops)
	}
	if got := h.exec("echo second", nil); got.stdout != "second\n" {
		t.Fatalf("second connect: %+v", got)
	}

	old := gossh.FingerprintSHA256(h.asset.hostKey.PublicKey())
	nk := newSigner(t)
	h.asset.SetHostKey(nk)
	got := h.exec("echo third", nil)
	wantMsg := fmt.Sprintf("jms: host key of web1 changed (pinned %s, offered %s): refusing to connect; an admin can re-pin it with jmsctl asset trust web1\n",
		old, gossh.FingerprintSHA256(nk.PublicKey()))
	if got.stderr != wantMsg || got.stdout != "" || got.code != ExitLost {
		t.Fatalf("got %+v, want stderr %q", got, wantMsg)
	}
	ss := h.lastSession()
	if ss.Status != store.StatusFailed || !strings.HasPrefix(ss.EndReason, "host key changed") {
		t.Fatalf("row %+v", ss)
	}
	if a2, _ := h.st.GetAsset(ctx, "web1"); a2.HostKey != want {
		t.Fatal("a changed key was pinned")
	}
	h.waitNoAssetConns()
}

func TestHostKeyRequire(t *testing.T) {
	h := newHarness(t, harnessOptions{cfg: Config{HostKeyPolicy: "require"}})
	got := h.exec("echo hi", nil)
	want := "jms: host key of web1 is not trusted yet: ask an admin to run `jmsctl asset trust web1`\n"
	if got.stderr != want || got.code != ExitLost {
		t.Fatalf("got %+v", got)
	}
	if ss := h.lastSession(); ss.Status != store.StatusFailed || !strings.Contains(ss.EndReason, "not trusted") {
		t.Fatalf("row %+v", ss)
	}
	// Once an admin pinned it, it works.
	line := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(h.asset.hostKey.PublicKey())))
	if err := h.st.PinHostKey(context.Background(), "web1", line); err != nil {
		t.Fatal(err)
	}
	if got := h.exec("echo hi", nil); got.stdout != "hi\n" {
		t.Fatalf("after trust: %+v", got)
	}
}

func TestAssetUnreachable(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		h := newHarness(t, harnessOptions{})
		h.asset.Close()
		got := h.exec("echo hi", nil)
		want := fmt.Sprintf("jms: cannot reach web1 (%s): connection refused\n", h.asset.addr)
		if got.stderr != want || got.code != ExitLost {
			t.Fatalf("got %+v, want %q", got, want)
		}
		if ss := h.lastSession(); ss.Status != store.StatusFailed {
			t.Fatalf("row %+v", ss)
		}
	})
	t.Run("handshake timeout", func(t *testing.T) {
		h := newHarness(t, harnessOptions{cfg: Config{ConnectTimeout: 300 * time.Millisecond}})
		// A listener that accepts and never speaks.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		var held []net.Conn
		var mu sync.Mutex
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				held = append(held, c)
				mu.Unlock()
			}
		}()
		defer func() {
			mu.Lock()
			for _, c := range held {
				c.Close()
			}
			mu.Unlock()
		}()
		port := l.Addr().(*net.TCPAddr).Port
		if err := h.st.UpdateAsset(store.WithActor(context.Background(), "t"), "web1", store.AssetUpdate{Port: &port}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		got := h.exec("echo hi", nil)
		want := fmt.Sprintf("jms: cannot reach web1 (%s): timed out after 300ms\n", l.Addr())
		if got.stderr != want || got.code != ExitLost {
			t.Fatalf("got %+v, want %q", got, want)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("took %s", d)
		}
	})
}

// failingFile fails every write after limit bytes, as a full disk.
type failingFile struct {
	mu    sync.Mutex
	n     int
	limit int
}

func (f *failingFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n+len(p) > f.limit {
		return 0, &os.PathError{Op: "write", Path: "x.cast", Err: syscall.ENOSPC}
	}
	f.n += len(p)
	return len(p), nil
}

func failingRaw(limit int) func(string, time.Time, func() time.Time) (*recorder.RawWriter, error) {
	return func(path string, start time.Time, now func() time.Time) (*recorder.RawWriter, error) {
		return recorder.NewRawWriter(&failingFile{limit: limit}, start, now)
	}
}

func failingRecorder(limit int) func(string, recorder.Header, recorder.Options) (*recorder.Writer, error) {
	return func(path string, h recorder.Header, o recorder.Options) (*recorder.Writer, error) {
		return recorder.NewWriter(&failingFile{limit: limit}, h, o)
	}
}

func TestRecordingFailure(t *testing.T) {
	t.Run("close", func(t *testing.T) {
		h := newHarness(t, harnessOptions{create: failingRecorder(4096), createRaw: failingRaw(4096)})
		got := h.exec("zero 10000000", nil)
		want := "jms: recording failed (no space left on device): session ended\n"
		if got.stderr != want || got.code != ExitLost {
			t.Fatalf("got stderr %q code %d, want %q", got.stderr, got.code, want)
		}
		// The recording queue lets at most its length of chunks through,
		// plus the chunk in flight, what the recorder held in memory and
		// what was recorded before the disk filled up (the first, small,
		// read).
		if len(got.stdout) > (recQueueLen+2)*bigBuf+recorder.MaxHeld+smallBuf {
			t.Fatalf("%d bytes went through unrecorded", len(got.stdout))
		}
		ss := h.lastSession()
		if ss.Status != store.StatusFailed || !strings.Contains(ss.EndReason, "recording failed") {
			t.Fatalf("row %+v", ss)
		}
		h.waitNoAssetConns()
	})
	t.Run("continue", func(t *testing.T) {
		h := newHarness(t, harnessOptions{create: failingRecorder(4096), createRaw: failingRaw(4096), cfg: Config{RecordingFailure: "continue"}})
		got := h.exec("zero 1000000", nil)
		if len(got.stdout) != 1000000 || got.code != 0 || got.stderr != "" {
			t.Fatalf("got %d bytes, code %d, stderr %q", len(got.stdout), got.code, got.stderr)
		}
		ss := h.lastSession()
		if ss.Status != store.StatusClosed || !strings.Contains(ss.EndReason, "unrecorded") {
			t.Fatalf("row %+v", ss)
		}
	})
	t.Run("cannot create", func(t *testing.T) {
		h := newHarness(t, harnessOptions{create: func(string, recorder.Header, recorder.Options) (*recorder.Writer, error) {
			return nil, fmt.Errorf("recording: %w", &os.PathError{Op: "open", Path: "x", Err: syscall.ENOSPC})
		}})
		got := h.exec("echo hi", nil)
		if got.stderr != "jms: recording failed (no space left on device): session not started\n" || got.stdout != "" {
			t.Fatalf("got %+v", got)
		}
		if h.asset.conns.Load() != 0 {
			t.Fatal("the asset was dialed")
		}
	})
}

// TestSpoolFull: over spool_max, a new session follows recording_failure
// as when its recording cannot be created.
func TestSpoolFull(t *testing.T) {
	full := func() error { return errors.New("the recording spool is full (2 GiB of spool_max 2 GiB)") }
	t.Run("close", func(t *testing.T) {
		h := newHarness(t, harnessOptions{cfg: Config{SpoolFull: full}})
		got := h.exec("echo hi", nil)
		if got.stderr != "jms: recording failed (the recording spool is full (2 GiB of spool_max 2 GiB)): session not started\n" || got.stdout != "" {
			t.Fatalf("got %+v", got)
		}
		if h.asset.conns.Load() != 0 {
			t.Fatal("the asset was dialed")
		}
	})
	t.Run("continue", func(t *testing.T) {
		h := newHarness(t, harnessOptions{cfg: Config{SpoolFull: full, RecordingFailure: "continue"}})
		got := h.exec("echo hi", nil)
		if got.stdout != "hi\n" || got.code != 0 {
			t.Fatalf("got %+v", got)
		}
		if ss := h.lastSession(); ss.RecordingPath != "" {
			t.Fatalf("row %+v: want no recording", ss)
		}
	})
}

func TestKeepaliveEndsDeadAsset(t *testing.T) {
	h := newHarness(t, harnessOptions{cfg: Config{Keepalive: 50 * time.Millisecond}})
	h.asset.silent.Store(true)
	start := time.Now()
	got := h.exec("hang", nil)
	if got.code != ExitLost || !strings.Contains(got.stderr, "jms: connection to web1 lost (no answer to 3 keepalives)") {
		t.Fatalf("got %+v", got)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %s", d)
	}
	h.waitNoAssetConns()
}

func TestKill(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	c := h.dial()
	defer c.Close()
	s, _ := c.NewSession()
	out, errb := &syncBuf{}, &syncBuf{}
	s.Stdout, s.Stderr = out, errb
	if err := s.Start("hang"); err != nil {
		t.Fatal(err)
	}
	if !waitFor(5*time.Second, func() bool { return out.String() == "hanging\n" }) {
		t.Fatalf("output %q", out.String())
	}
	h.mu.Lock()
	cancel := h.cancels[len(h.cancels)-1]
	h.mu.Unlock()
	cancel(fmt.Errorf("%w by admin", sessionerr.ErrKilled))
	if code := exitCode(t, s.Wait()); code != ExitLost {
		t.Fatalf("exit %d", code)
	}
	if errb.String() != "jms: session ended: killed by admin\n" {
		t.Fatalf("stderr %q", errb.String())
	}
	ss := h.lastSession()
	if ss.Status != store.StatusKilled || ss.EndReason != "killed by admin" {
		t.Fatalf("row %+v", ss)
	}
	h.waitNoAssetConns()
}

func TestClientGoesAway(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	c := h.dial()
	s, _ := c.NewSession()
	out := &syncBuf{}
	s.Stdout = out
	if err := s.Start("hang"); err != nil {
		t.Fatal(err)
	}
	if !waitFor(5*time.Second, func() bool { return out.String() == "hanging\n" }) {
		t.Fatalf("output %q", out.String())
	}
	c.Close()
	ss := h.lastSession()
	if ss.Status != store.StatusClosed {
		t.Fatalf("row %+v", ss)
	}
	h.waitNoAssetConns()
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
