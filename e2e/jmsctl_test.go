package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// The jmsctl binary is built once per test process, with -race when the tests run with -race,
// so that races in the server fail the e2e tests too.
var (
	jmsctlOnce sync.Once
	jmsctlPath string
	jmsctlErr  error
	jmsctlDir  string
)

// buildJmsctl builds ./cmd/jmsctl of this module (once) and returns the binary's path. A build
// failure fails the test with the compiler's output.
func buildJmsctl(t testing.TB) string {
	t.Helper()
	requireBinaries(t, "go")
	jmsctlOnce.Do(func() { jmsctlPath, jmsctlErr = goBuildJmsctl() })
	if jmsctlErr != nil {
		t.Fatal(jmsctlErr)
	}
	return jmsctlPath
}

func goBuildJmsctl() (string, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	jmsctlDir, err = os.MkdirTemp("", "jms-e2e-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(jmsctlDir, "jmsctl")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/jmsctl")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return bin, nil
}

func cleanupJmsctlBuild() {
	if jmsctlDir != "" {
		os.RemoveAll(jmsctlDir)
	}
}

// BastionOptions tune startBastion. The zero value is a fresh data dir with admin "admin".
type BastionOptions struct {
	AdminPassword string   // default: random
	Config        string   // written to DATA/jms.yaml before serve, when not empty
	Env           []string // extra environment for init, serve and Run (e.g. "JMS_…=…")
	ServeArgs     []string // extra flags for serve
	// Postgres puts the store on PostgreSQL (JMS_TEST_POSTGRES, a schema of
	// its own) instead of DATA/jms.db; so does JMS_E2E_ENGINE=postgres for
	// every bastion. See postgres_test.go.
	Postgres bool
}

// Bastion is a `jmsctl serve` subprocess on 127.0.0.1 with its own data dir.
type Bastion struct {
	Bin           string // the jmsctl binary
	DataDir       string
	Addr          string // "127.0.0.1:PORT"
	Port          int
	Banner        string // the server's SSH identification line
	AdminUser     string // "admin"
	AdminPassword string
	Database      string // the PostgreSQL URL of the store; "" for DATA/jms.db

	t    testing.TB
	opts BastionOptions

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	log    *syncBuffer
}

// startBastion runs `jmsctl init` (admin password on stdin) and then `jmsctl serve` on a free
// loopback port, waits for its SSH banner and stops it (SIGTERM, then SIGKILL) when the test
// ends. Its stderr goes to the test log when the test fails.
func startBastion(t testing.TB, opts BastionOptions) *Bastion {
	t.Helper()
	b := &Bastion{
		Bin:           buildJmsctl(t),
		DataDir:       filepath.Join(t.TempDir(), "jms-data"),
		AdminUser:     "admin",
		AdminPassword: opts.AdminPassword,
		t:             t,
		opts:          opts,
		log:           &syncBuffer{},
	}
	if b.AdminPassword == "" {
		b.AdminPassword = "adm-" + randomToken(10)
	}
	if opts.Postgres || os.Getenv("JMS_E2E_ENGINE") == "postgres" {
		b.Database = newPostgresSchema(t)
		b.opts.Env = append(slices.Clip(b.opts.Env), "JMS_DATABASE="+b.Database)
	}
	if _, stderr, err := b.RunStdin(t, b.AdminPassword+"\n", "init", "--admin", b.AdminUser, "--admin-password-stdin"); err != nil {
		t.Fatalf("jmsctl init: %v\n%s", err, stderr)
	}
	if opts.Config != "" {
		if err := os.WriteFile(filepath.Join(b.DataDir, "jms.yaml"), []byte(opts.Config), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b.Port = freePort(t)
	b.Addr = fmt.Sprintf("127.0.0.1:%d", b.Port)
	t.Cleanup(func() {
		b.Stop()
		log := b.Log()
		if strings.Contains(log, "WARNING: DATA RACE") {
			t.Errorf("jmsctl serve reported a data race")
		}
		if t.Failed() {
			t.Logf("jmsctl serve log (%s):\n%s", b.Addr, log)
		}
	})
	b.Start()
	return b
}

func (b *Bastion) env() []string {
	// The race runtime sleeps 1 s before a process exits (atexit_sleep_ms) so that
	// other threads can report: every jmsctl call would take a second more, and
	// every poll of a waitUntil a second longer. halt_on_error reports at once.
	env := []string{"GORACE=halt_on_error=1 atexit_sleep_ms=50"}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "JMS_") || name == "SSH_AUTH_SOCK" {
			continue // the test decides every setting
		}
		env = append(env, kv)
	}
	return append(env, b.opts.Env...)
}

// Start starts `jmsctl serve` (again, after Stop or Kill) on the same address and data dir.
func (b *Bastion) Start() {
	b.t.Helper()
	args := append([]string{"--data-dir", b.DataDir, "serve", "--listen", b.Addr}, b.opts.ServeArgs...)
	cmd := exec.Command(b.Bin, args...)
	cmd.Env = b.env()
	cmd.Stdout, cmd.Stderr = b.log, b.log
	if err := cmd.Start(); err != nil {
		b.t.Fatalf("starting jmsctl serve: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	b.mu.Lock()
	b.cmd, b.exited = cmd, exited
	b.mu.Unlock()
	banner, err := waitForSSHBanner(b.Addr, 30*time.Second, exited)
	if err != nil {
		b.Stop()
		b.t.Fatalf("jmsctl serve on %s: %v\nlog:\n%s", b.Addr, err, b.Log())
	}
	b.Banner = banner
}

// Stop ends the server: SIGTERM (it drains), a second SIGTERM half a second later when it
// still runs (it ends its sessions now), then SIGKILL after 10 s. It is safe to call twice.
func (b *Bastion) Stop() {
	b.mu.Lock()
	cmd, exited := b.cmd, b.exited
	b.cmd = nil
	b.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(500 * time.Millisecond):
	}
	stopProcess(cmd, exited, 10*time.Second)
}

// Signal sends sig to the running server.
func (b *Bastion) Signal(sig os.Signal) {
	b.t.Helper()
	b.mu.Lock()
	cmd := b.cmd
	b.mu.Unlock()
	if cmd == nil {
		b.t.Fatal("the server is not running")
	}
	if err := cmd.Process.Signal(sig); err != nil {
		b.t.Fatalf("signalling the server: %v", err)
	}
}

// WaitExit waits until the server has exited by itself, and forgets it.
func (b *Bastion) WaitExit(timeout time.Duration) {
	b.t.Helper()
	b.mu.Lock()
	exited := b.exited
	b.mu.Unlock()
	select {
	case <-exited:
		b.mu.Lock()
		b.cmd = nil
		b.mu.Unlock()
	case <-time.After(timeout):
		b.t.Fatalf("the server did not exit within %v; log:\n%s", timeout, b.Log())
	}
}

// Kill ends the server with SIGKILL, as a crash would.
func (b *Bastion) Kill() {
	b.mu.Lock()
	cmd, exited := b.cmd, b.exited
	b.cmd = nil
	b.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exited
	}
}

// Log returns what the server wrote to stdout and stderr so far.
func (b *Bastion) Log() string { return b.log.String() }

// Run runs `jmsctl --data-dir D args...` with no stdin. err is an *exec.ExitError on a
// non-zero exit.
func (b *Bastion) Run(t testing.TB, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return b.RunStdin(t, "", args...)
}

// RunStdin is Run with stdin (for --password-stdin and friends).
func (b *Bastion) RunStdin(t testing.TB, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.Bin, append([]string{"--data-dir", b.DataDir}, args...)...)
	cmd.Env = b.env()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("jmsctl %s: did not finish within a minute", strings.Join(args, " "))
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running jmsctl %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), err
}

// MustRun is Run (with stdin when given) that fails the test on a non-zero exit; it returns
// stdout.
func (b *Bastion) MustRun(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	stdout, stderr, err := b.RunStdin(t, stdin, args...)
	if err != nil {
		t.Fatalf("jmsctl %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout, stderr)
	}
	return stdout
}

// HostKey returns the bastion's host key, read from DATA/ssh_host_ed25519_key.pub; nil when
// that file does not exist (yet).
func (b *Bastion) HostKey() ssh.PublicKey {
	b.t.Helper()
	line, err := os.ReadFile(filepath.Join(b.DataDir, "ssh_host_ed25519_key.pub"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		b.t.Fatal(err)
	}
	pk, _, _, _, err := ssh.ParseAuthorizedKey(line)
	if err != nil {
		b.t.Fatalf("parsing the bastion's host key: %v", err)
	}
	return pk
}

// Login returns how to reach the bastion as user (a login name such as "alice@web1"),
// without credentials: set KeyFile or Password.
func (b *Bastion) Login(user string) Login {
	return Login{Port: b.Port, User: user}
}

// CPU returns the CPU time (user and system) `jmsctl serve` has used so far, from /proc: a
// figure the load of the machine does not change much, unlike the wall clock.
func (b *Bastion) CPU() time.Duration {
	b.t.Helper()
	b.mu.Lock()
	cmd := b.cmd
	b.mu.Unlock()
	if cmd == nil {
		b.t.Fatal("jmsctl serve is not running")
	}
	d, err := procCPU(cmd.Process.Pid, false)
	if err != nil {
		b.t.Fatalf("CPU time of jmsctl serve: %v", err)
	}
	return d
}
