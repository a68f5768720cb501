package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// assetUser is the Unix account the sshd asset logs in when the tests run as root. It is made
// once per machine (useradd -m, bash) and keeps one random password, stored root-only in
// assetPasswordFile so that concurrent test processes agree on it.
const (
	assetUser         = "jmse2e"
	assetPasswordFile = "/var/lib/jms-e2e/password"
)

// SSHD is a real OpenSSH server on 127.0.0.1, playing the asset behind the bastion. As root it
// logs in User (jmse2e) by password or key, and root by the same key; otherwise it runs as the
// current user, who logs in by key only (Password is then empty).
type SSHD struct {
	Addr        string        // "127.0.0.1:PORT"
	Port        int           //
	HostKey     ssh.PublicKey // the current ed25519 host key
	HostKeyLine string        // the same as an authorized_keys line ("ssh-ed25519 AAAA…")
	User        string        // login account: jmse2e as root, else the current user
	Password    string        // User's password; empty when not root
	KeyFile     string        // private key authorised for User (and root, when root)
	KeyPEM      []byte        // its contents
	Key         *Key          // the same key pair

	t       testing.TB
	dir     string // config, host key, authorized_keys/, log; mode 0755 for the users
	config  string
	keysDir string
	// homeKeys: ~/.ssh/authorized_keys counts as well (sshdOptions).
	homeKeys    bool
	extraConfig string
	subsystem   string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	log    *syncBuffer
}

// startSSHD starts an sshd on a free loopback port with its own config, host key and
// authorized keys, and stops it (with every session process) when the test ends. Its log
// (sshd -e) goes to the test log when the test fails.
func startSSHD(t testing.TB) *SSHD { return startSSHDWith(t, sshdOptions{}) }

// sshdOptions tune startSSHDWith.
type sshdOptions struct {
	// HomeKeys makes sshd read each user's ~/.ssh/authorized_keys too, as
	// a real asset does (account push writes keys there).
	HomeKeys bool
	// ExtraConfig is appended to sshd_config (e.g. a SetEnv).
	ExtraConfig string
	// Subsystem is the sftp subsystem's command; internal-sftp when empty.
	Subsystem string
}

// startSSHDWith is startSSHD with options.
func startSSHDWith(t testing.TB, opts sshdOptions) *SSHD {
	t.Helper()
	requireBinaries(t, "sshd", "ssh-keygen")
	s := &SSHD{t: t, homeKeys: opts.HomeKeys, extraConfig: opts.ExtraConfig, subsystem: opts.Subsystem}
	if s.subsystem == "" {
		s.subsystem = "internal-sftp"
	}

	// Not t.TempDir: that is 0700, and sshd reads authorized_keys as the logging-in user.
	dir, err := os.MkdirTemp("", "jms-e2e-sshd-")
	if err != nil {
		t.Fatalf("making the sshd folder: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s.dir = dir
	s.keysDir = filepath.Join(dir, "authorized_keys")
	if err := os.Mkdir(s.keysDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}

	if isRoot() {
		if err := ensureRunSSHD(); err != nil {
			t.Fatal(err)
		}
		pw, err := ensureAssetUser()
		if err != nil {
			t.Fatalf("setting up the asset account %s: %v", assetUser, err)
		}
		s.User, s.Password = assetUser, pw
	} else {
		u, err := user.Current()
		if err != nil {
			t.Fatalf("looking up the current user: %v", err)
		}
		s.User = u.Username
	}

	s.Key = writeKey(t, dir, "client_ed25519", "jms-e2e-asset-key")
	s.KeyFile, s.KeyPEM = s.Key.Path, s.Key.PEM
	s.AuthorizeKey(s.User, s.Key.AuthorizedKey)
	if isRoot() {
		s.AuthorizeKey("root", s.Key.AuthorizedKey)
	}

	s.Port = freePort(t)
	s.Addr = fmt.Sprintf("127.0.0.1:%d", s.Port)
	s.newHostKey()
	s.writeConfig()
	s.start()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("sshd log (%s):\n%s", s.Addr, s.log.String())
		}
	})
	return s
}

// AuthorizeKey appends an authorized_keys line (options allowed) for the Unix user name.
func (s *SSHD) AuthorizeKey(name, line string) {
	s.t.Helper()
	f, err := os.OpenFile(filepath.Join(s.keysDir, name), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		s.t.Fatalf("authorising a key for %s: %v", name, err)
	}
	defer f.Close()
	if _, err := f.WriteString(strings.TrimSpace(line) + "\n"); err != nil {
		s.t.Fatalf("authorising a key for %s: %v", name, err)
	}
}

// Log returns what sshd wrote so far (it runs with -e and LogLevel VERBOSE).
func (s *SSHD) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// RestartWithNewHostKey stops the server (ending its sessions), gives it a new ed25519 host key
// and starts it again on the same port. HostKey and HostKeyLine change accordingly.
func (s *SSHD) RestartWithNewHostKey() {
	s.t.Helper()
	old := s.HostKeyLine
	s.stop()
	s.newHostKey()
	if s.HostKeyLine == old {
		s.t.Fatal("ssh-keygen made the same host key twice")
	}
	s.start()
}

// CountConnections returns the number of established TCP connections to the server's port, as
// the kernel sees them (/proc/net/tcp and tcp6): every client, the bastion included.
func (s *SSHD) CountConnections() int {
	s.t.Helper()
	n, err := countEstablished(s.Port)
	if err != nil {
		s.t.Fatalf("counting connections to sshd: %v", err)
	}
	return n
}

// WaitConnections waits until CountConnections is want, failing the test after timeout.
func (s *SSHD) WaitConnections(want int, timeout time.Duration) {
	s.t.Helper()
	var got int
	if !waitUntil(timeout, func() bool { got = s.CountConnections(); return got == want }) {
		s.t.Fatalf("sshd on %s has %d established connections after %v, want %d", s.Addr, got, timeout, want)
	}
}

// CPU returns the CPU time (user and system) of sshd and of every session process it has reaped:
// the asset's whole share of the sessions that ended. It waits (up to 30 s) until sshd has no
// child process left, every connection's process reaped.
func (s *SSHD) CPU() time.Duration {
	s.t.Helper()
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil {
		s.t.Fatal("sshd is not running")
	}
	pid := cmd.Process.Pid
	if !waitUntil(30*time.Second, func() bool { return !hasChildren(pid) }) {
		s.t.Fatalf("sshd still has session processes after 30 s")
	}
	d, err := procCPU(pid, true)
	if err != nil {
		s.t.Fatalf("CPU time of sshd: %v", err)
	}
	return d
}

// procCPU is the CPU time (user and system) process pid has used, from /proc/PID/stat, with
// that of its reaped children when reaped is set.
func procCPU(pid int, reaped bool) (time.Duration, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// pid (comm) state …: utime, stime, cutime and cstime are fields 14 to 17, in clock ticks
	// (100 a second).
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(f) < 15 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	fields := f[11:13]
	if reaped {
		fields = f[11:15]
	}
	ticks := 0
	for _, v := range fields {
		n, _ := strconv.Atoi(v)
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// hasChildren reports whether a process has a child process, by /proc/PID/task/*/children.
func hasChildren(pid int) bool {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		if b, err := os.ReadFile(f); err == nil && len(bytes.TrimSpace(b)) > 0 {
			return true
		}
	}
	return false
}

// countEstablished counts ESTABLISHED sockets whose local port is port.
func countEstablished(port int) (int, error) {
	n := 0
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			// sl local_address rem_address st …, addresses as HEXIP:HEXPORT
			f := strings.Fields(sc.Text())
			if len(f) < 4 || f[3] != "01" {
				continue
			}
			i := strings.LastIndexByte(f[1], ':')
			if i < 0 {
				continue
			}
			p, err := strconv.ParseUint(f[1][i+1:], 16, 16)
			if err == nil && int(p) == port {
				n++
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return 0, err
		}
	}
	return n, nil
}

func (s *SSHD) newHostKey() {
	s.t.Helper()
	path := filepath.Join(s.dir, "ssh_host_ed25519_key")
	os.Remove(path)
	os.Remove(path + ".pub")
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "jms-e2e-asset", "-f", path).CombinedOutput()
	if err != nil {
		s.t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	line, err := os.ReadFile(path + ".pub")
	if err != nil {
		s.t.Fatal(err)
	}
	pk, _, _, _, err := ssh.ParseAuthorizedKey(line)
	if err != nil {
		s.t.Fatalf("parsing the new host key: %v", err)
	}
	s.HostKey = pk
	s.HostKeyLine = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk)))
}

func (s *SSHD) writeConfig() {
	s.t.Helper()
	s.config = filepath.Join(s.dir, "sshd_config")
	keyFiles := filepath.Join(s.keysDir, "%u")
	if s.homeKeys {
		keyFiles += " .ssh/authorized_keys"
	}
	conf := fmt.Sprintf(`# written by the jms e2e tests
ListenAddress 127.0.0.1:%d
HostKey %s
PidFile none
UsePAM no
AuthorizedKeysFile %s
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
PermitRootLogin yes
PermitEmptyPasswords no
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding yes
AcceptEnv LANG LC_*
MaxStartups 300
MaxSessions 100
MaxAuthTries 10
LoginGraceTime 30
LogLevel VERBOSE
Subsystem sftp %s
`, s.Port, filepath.Join(s.dir, "ssh_host_ed25519_key"), keyFiles, s.subsystem) + s.extraConfig
	if err := os.WriteFile(s.config, []byte(conf), 0o644); err != nil {
		s.t.Fatal(err)
	}
	if out, err := exec.Command("/usr/sbin/sshd", "-t", "-f", s.config).CombinedOutput(); err != nil {
		s.t.Fatalf("sshd -t rejects the test config: %v\n%s", err, out)
	}
}

func (s *SSHD) start() {
	s.t.Helper()
	if s.log == nil {
		s.log = &syncBuffer{} // one log across restarts
	}
	log := s.log
	cmd := exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", s.config)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("starting sshd: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	if _, err := waitForSSHBanner(s.Addr, 15*time.Second, exited); err != nil {
		s.stop()
		s.t.Fatalf("sshd on %s: %v\nsshd log:\n%s", s.Addr, err, log.String())
	}
}

func (s *SSHD) stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	stopProcess(cmd, exited, 5*time.Second)
}

// ensureRunSSHD makes sshd's privilege-separation folder, which a fresh container lacks.
func ensureRunSSHD() error {
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return fmt.Errorf("making /run/sshd for sshd: %w", err)
	}
	return os.Chmod("/run/sshd", 0o755)
}

var assetUserOnce = sync.OnceValues(setupAssetUser)

// ensureAssetUser makes the Unix account jmse2e (once per process) and returns its password.
func ensureAssetUser() (string, error) { return assetUserOnce() }

func setupAssetUser() (string, error) {
	if _, err := user.Lookup(assetUser); err != nil {
		out, err := exec.Command("useradd", "--create-home", "--shell", "/bin/bash",
			"--comment", "jms end-to-end tests", assetUser).CombinedOutput()
		// Exit status 9: made meanwhile by another test process.
		var ee *exec.ExitError
		if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 9) {
			return "", fmt.Errorf("useradd %s: %w: %s", assetUser, err, strings.TrimSpace(string(out)))
		}
	}
	pw, err := assetPassword()
	if err != nil {
		return "", err
	}
	// chpasswd fails while another process holds the shadow lock: retry.
	var out []byte
	for range 20 {
		cmd := exec.Command("chpasswd")
		cmd.Stdin = strings.NewReader(assetUser + ":" + pw + "\n")
		out, err = cmd.CombinedOutput()
		if err == nil {
			return pw, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "", fmt.Errorf("chpasswd for %s: %w: %s", assetUser, err, strings.TrimSpace(string(out)))
}

// assetPassword reads the machine's jmse2e password, making a random one the first time.
func assetPassword() (string, error) {
	if b, err := os.ReadFile(assetPasswordFile); err == nil && len(strings.TrimSpace(string(b))) >= 16 {
		return strings.TrimSpace(string(b)), nil
	}
	if err := os.MkdirAll(filepath.Dir(assetPasswordFile), 0o700); err != nil {
		return "", fmt.Errorf("storing the %s password: %w", assetUser, err)
	}
	pw := "e2e-" + randomToken(12)
	f, err := os.OpenFile(assetPasswordFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another process won the race: use its password.
		time.Sleep(100 * time.Millisecond)
		b, err := os.ReadFile(assetPasswordFile)
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil {
		return "", fmt.Errorf("storing the %s password: %w", assetUser, err)
	}
	defer f.Close()
	if _, err := f.WriteString(pw + "\n"); err != nil {
		return "", fmt.Errorf("storing the %s password: %w", assetUser, err)
	}
	return pw, nil
}
