package e2e

// File transfer through the bastion with the real OpenSSH sftp, scp and rsync against a real
// sshd asset: the virtual root, the actions per operation, large files compared by hash,
// traversal attempts, and forwarding refused by default and allowed under a forward grant.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// transferEnv is a bastion in front of one sshd asset, web1 (and web2, the same sshd under
// another name), a user alice who logs in by key, and the asset account of the sshd.
type transferEnv struct {
	b    *Bastion
	s    *SSHD
	key  *Key
	dir  string // a folder on the asset the account can write, for this test
	acct string // the account on the asset
}

func newTransferEnv(t testing.TB) *transferEnv {
	t.Helper()
	return newTransferEnvWith(t, sshdOptions{})
}

// newTransferEnvWith is newTransferEnv with the asset's sshd started with opts.
func newTransferEnvWith(t testing.TB, opts sshdOptions) *transferEnv {
	t.Helper()
	requireBinaries(t, "ssh", "sftp", "scp")
	s := startSSHDWith(t, opts)
	b := startBastion(t, BastionOptions{})
	e := &transferEnv{b: b, s: s, key: ClientKey(t), acct: s.User}
	b.MustRun(t, "", "user", "add", "alice", "--key", e.key.Path+".pub")
	for _, name := range []string{"web1", "web2"} {
		b.MustRun(t, "", "asset", "add", name, "--address", "127.0.0.1", "--port", strconv.Itoa(s.Port))
		b.MustRun(t, "", "account", "add", name, s.User, "--key", s.KeyFile)
	}
	// A folder the asset account owns, outside the test's private temp dir.
	dir, err := os.MkdirTemp("", "jms-e2e-xfer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if u, err := user.Lookup(s.User); err == nil {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil && isRoot() {
			t.Fatal(err)
		}
	}
	e.dir = dir
	return e
}

// clientOptions are the ssh options of every client run (sftp, scp, ssh under rsync).
func (e *transferEnv) clientOptions() []string {
	return append(append([]string{}, sshBaseOptions...),
		"-o", "BatchMode=yes", "-o", "PreferredAuthentications=publickey", "-o", "IdentitiesOnly=yes",
		"-i", e.key.Path)
}

// run runs a client program with a timeout and returns stdout, stderr and its exit status.
func run(t testing.TB, timeout time.Duration, name string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = sshEnv(Login{})
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: timed out after %s\nstderr: %s", name, strings.Join(args, " "), timeout, stderr.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return stdout.String(), stderr.String(), code
}

// sftp runs an sftp batch as login (e.g. "alice", "alice@web1").
func (e *transferEnv) sftp(t *testing.T, login, batch string) (string, string, int) {
	t.Helper()
	return e.sftpWith(t, nil, login, batch)
}

// sftpWith is sftp with extra options first.
func (e *transferEnv) sftpWith(t testing.TB, extra []string, login, batch string) (string, string, int) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "batch")
	if err := os.WriteFile(f, []byte(batch), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append(append(append([]string{}, extra...), e.clientOptions()...), "-b", f, "-P", strconv.Itoa(e.b.Port), "-o", "User="+login, "127.0.0.1")
	return run(t, 5*time.Minute, "sftp", args...)
}

// setActions changes the actions of alice's grant.
func (e *transferEnv) setActions(t *testing.T, actions string) {
	t.Helper()
	e.b.MustRun(t, "", "grant", "set", "files", "--actions", actions)
}

// transfers returns the transfer audit.
func (e *transferEnv) transfers(t *testing.T) []map[string]any {
	t.Helper()
	out := e.b.MustRun(t, "", "audit", "transfers", "-o", "json")
	var evs []map[string]any
	if err := json.Unmarshal([]byte(out), &evs); err != nil {
		t.Fatalf("audit transfers: %v\n%s", err, out)
	}
	return evs
}

// hasEvent reports whether the audit holds an event with these fields.
func hasEvent(evs []map[string]any, want map[string]string) bool {
	for _, e := range evs {
		ok := true
		for k, v := range want {
			if k == "path~" {
				ok = ok && strings.Contains(fmt.Sprint(e["path"]), v)
				continue
			}
			got := e[k]
			if f, isNum := got.(float64); isNum {
				got = int64(f)
			}
			ok = ok && fmt.Sprint(got) == v
		}
		if ok {
			return true
		}
	}
	return false
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o666); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o666)
}

func TestSFTPVirtualRootAndTraversal(t *testing.T) {
	t.Parallel()
	e := newTransferEnv(t)
	e.b.MustRun(t, "", "grant", "add", "files", "--user", "alice", "--asset", "web1", "--actions", "upload,download,delete")
	e.b.MustRun(t, "", "grant", "add", "shell", "--user", "alice", "--asset", "web2", "--actions", "connect")
	writeFile(t, filepath.Join(e.dir, "hello.txt"), "hello from web1\n")

	out, stderr, code := e.sftp(t, "alice", "ls -1 /\n")
	if code != 0 || !strings.Contains(out, "web1") || strings.Contains(out, "web2") {
		t.Fatalf("ls / (exit %d): %q %q; want web1 only (web2 has no file action)", code, out, stderr)
	}
	local := filepath.Join(t.TempDir(), "got")
	out, stderr, code = e.sftp(t, "alice", fmt.Sprintf("cd /web1%s\nls -1\nget hello.txt %s\n", e.dir, local))
	if code != 0 || !strings.Contains(out, "hello.txt") {
		t.Fatalf("cd/ls/get (exit %d): %q %q", code, out, stderr)
	}
	if b, _ := os.ReadFile(local); string(b) != "hello from web1\n" {
		t.Fatalf("downloaded %q", b)
	}
	// `..` never reaches an asset that is not in the root, nor out of the root.
	for _, p := range []string{"/web2" + e.dir + "/hello.txt", "/web1/../web2" + e.dir + "/hello.txt",
		"/web1/../../../web2" + e.dir + "/hello.txt", e.dir + "/hello.txt", "../web2" + e.dir + "/hello.txt"} {
		_, stderr, code := e.sftp(t, "alice", fmt.Sprintf("get %s %s\n", p, filepath.Join(t.TempDir(), "x")))
		if code == 0 {
			t.Errorf("get %s succeeded", p)
		} else if !strings.Contains(stderr, "not found") && !strings.Contains(stderr, "No such file") {
			t.Errorf("get %s: %q, want not found", p, stderr)
		}
	}
	out, _, code = e.sftp(t, "alice", "cd /web1/../../..\npwd\n")
	if code != 0 || !strings.Contains(out, "Remote working directory: /\n") {
		t.Errorf("cd above the root: exit %d, %q", code, out)
	}
	// Direct login: the asset's filesystem, relative paths from the account's home.
	out, stderr, code = e.sftp(t, "alice@web1", "pwd\nls -1 "+e.dir+"\n")
	if code != 0 || strings.Contains(out, "Remote working directory: /\n") || !strings.Contains(out, "hello.txt") {
		t.Errorf("alice@web1 (exit %d): %q %q", code, out, stderr)
	}
	out, stderr, code = e.sftp(t, "alice@"+e.acct+"@web1", "ls -1 "+e.dir+"\n")
	if code != 0 || !strings.Contains(out, "hello.txt") {
		t.Errorf("alice@%s@web1 (exit %d): %q %q", e.acct, code, out, stderr)
	}
	_, stderr, code = e.sftp(t, "alice@web2", "ls\n")
	if code == 0 || !strings.Contains(stderr, "no file access to web2") {
		t.Errorf("alice@web2 (connect only): exit %d, %q", code, stderr)
	}
	_, stderr, code = e.sftp(t, "alice@web9", "ls\n")
	if code == 0 || !strings.Contains(stderr, `no asset "web9"`) {
		t.Errorf("alice@web9: exit %d, %q", code, stderr)
	}
	ss := e.b.MustRun(t, "", "session", "list", "-o", "json")
	if !strings.Contains(ss, `"kind": "sftp"`) {
		t.Errorf("no sftp session rows: %s", ss)
	}
}

func TestSFTPActions(t *testing.T) {
	t.Parallel()
	e := newTransferEnv(t)
	e.b.MustRun(t, "", "grant", "add", "files", "--user", "alice", "--asset", "web1", "--actions", "upload,download,delete")
	base := "/web1" + e.dir
	localSrc := filepath.Join(t.TempDir(), "src.txt")
	writeFile(t, localSrc, "uploaded content\n")
	localDst := filepath.Join(t.TempDir(), "dst.txt")

	type step struct {
		name   string
		needs  string // the action it needs
		setup  func()
		batch  string
		check  func() bool // on success
		op     string      // the audit operation
		errMsg string      // what sftp says when refused
	}
	steps := []step{
		{"upload", "upload", nil, fmt.Sprintf("put %s %s/up.txt\n", localSrc, base),
			func() bool {
				b, _ := os.ReadFile(filepath.Join(e.dir, "up.txt"))
				return string(b) == "uploaded content\n"
			},
			"upload", "Permission denied"},
		{"download", "download", func() { writeFile(t, filepath.Join(e.dir, "down.txt"), "down\n") },
			fmt.Sprintf("get %s/down.txt %s\n", base, localDst),
			func() bool { b, _ := os.ReadFile(localDst); return string(b) == "down\n" },
			"download", "Permission denied"},
		{"mkdir", "upload", nil, fmt.Sprintf("mkdir %s/newdir\n", base),
			func() bool { fi, err := os.Stat(filepath.Join(e.dir, "newdir")); return err == nil && fi.IsDir() },
			"mkdir", "Permission denied"},
		{"rename", "upload", func() { writeFile(t, filepath.Join(e.dir, "old.txt"), "x") },
			fmt.Sprintf("rename %s/old.txt %s/new.txt\n", base, base),
			func() bool { _, err := os.Stat(filepath.Join(e.dir, "new.txt")); return err == nil },
			"rename", "Permission denied"},
		{"remove", "delete", func() { writeFile(t, filepath.Join(e.dir, "gone.txt"), "x") },
			fmt.Sprintf("rm %s/gone.txt\n", base),
			func() bool { _, err := os.Stat(filepath.Join(e.dir, "gone.txt")); return os.IsNotExist(err) },
			"remove", "Permission denied"},
		{"rmdir", "delete", func() { os.Mkdir(filepath.Join(e.dir, "empty"), 0o777); os.Chmod(filepath.Join(e.dir, "empty"), 0o777) },
			fmt.Sprintf("rmdir %s/empty\n", base),
			func() bool { _, err := os.Stat(filepath.Join(e.dir, "empty")); return os.IsNotExist(err) },
			"rmdir", "Permission denied"},
	}
	for _, st := range steps {
		for _, allowed := range []bool{false, true} {
			actions := map[string]string{"upload": "download,delete", "download": "upload,delete", "delete": "upload,download"}[st.needs]
			if allowed {
				actions = "upload,download,delete"
			}
			e.setActions(t, actions)
			os.Remove(localDst)
			if st.setup != nil {
				st.setup()
			}
			_, stderr, code := e.sftp(t, "alice", st.batch)
			switch {
			case allowed && (code != 0 || !st.check()):
				t.Errorf("%s with %s: exit %d, %q", st.name, actions, code, stderr)
			case !allowed && code == 0:
				t.Errorf("%s without %s succeeded", st.name, st.needs)
			case !allowed && !strings.Contains(stderr, st.errMsg):
				t.Errorf("%s without %s: %q, want %q", st.name, st.needs, stderr, st.errMsg)
			}
		}
	}
	// Listing needs any file action; without any, the folder is gone.
	e.setActions(t, "download")
	if out, stderr, code := e.sftp(t, "alice", "ls -1 "+base+"\n"); code != 0 || !strings.Contains(out, "up.txt") {
		t.Errorf("ls with download only: exit %d, %q %q", code, out, stderr)
	}
	e.setActions(t, "connect")
	if _, _, code := e.sftp(t, "alice", "ls -1 "+base+"\n"); code == 0 {
		t.Error("ls with connect only succeeded")
	}
	evs := e.transfers(t)
	for _, st := range steps {
		for _, result := range []string{"ok", "denied"} {
			if !hasEvent(evs, map[string]string{"operation": st.op, "result": result, "user": "alice", "asset": "web1", "account": e.acct}) {
				t.Errorf("no %s event with result %s", st.op, result)
			}
		}
	}
	if !hasEvent(evs, map[string]string{"operation": "upload", "result": "ok", "size": "17", "path~": "up.txt"}) {
		t.Errorf("the upload event has no size 17: %v", evs)
	}
}

// bigFile makes a file of size bytes from /dev/urandom and returns its path and sha256.
func bigFile(t testing.TB, dir string, size int64) (string, string) {
	t.Helper()
	p := filepath.Join(dir, "big.bin")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	r, err := os.Open("/dev/urandom")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), r, size); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, 0o644)
	return p, hex.EncodeToString(h.Sum(nil))
}

func fileSHA(t testing.TB, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestSFTPLargeFileAndSCP(t *testing.T) {
	t.Parallel()
	e := newTransferEnv(t)
	e.b.MustRun(t, "", "grant", "add", "files", "--user", "alice", "--asset", "web1", "--actions", "upload,download,delete")
	const size = 300 << 20
	src, sum := bigFile(t, t.TempDir(), size)
	back := filepath.Join(t.TempDir(), "back.bin")
	start := time.Now()
	_, stderr, code := e.sftp(t, "alice@web1", fmt.Sprintf("put %s %s/big.bin\n", src, e.dir))
	if code != 0 {
		t.Fatalf("put 300 MB: exit %d, %q", code, stderr)
	}
	up := time.Since(start)
	start = time.Now()
	_, stderr, code = e.sftp(t, "alice", fmt.Sprintf("get /web1%s/big.bin %s\n", e.dir, back))
	if code != 0 {
		t.Fatalf("get 300 MB: exit %d, %q", code, stderr)
	}
	down := time.Since(start)
	t.Logf("300 MB through the bastion: upload %s (%.0f MB/s), download %s (%.0f MB/s)",
		up.Round(time.Millisecond), size/1e6/up.Seconds(), down.Round(time.Millisecond), size/1e6/down.Seconds())
	if got := fileSHA(t, filepath.Join(e.dir, "big.bin")); got != sum {
		t.Fatalf("uploaded file sha256 %s, want %s", got, sum)
	}
	if got := fileSHA(t, back); got != sum {
		t.Fatalf("downloaded file sha256 %s, want %s", got, sum)
	}
	evs := e.transfers(t)
	if !hasEvent(evs, map[string]string{"operation": "upload", "result": "ok", "size": strconv.Itoa(size)}) ||
		!hasEvent(evs, map[string]string{"operation": "download", "result": "ok", "size": strconv.Itoa(size)}) {
		t.Errorf("no upload and download events of %d bytes: %v", size, evs)
	}
	os.Remove(filepath.Join(e.dir, "big.bin"))

	// scp (SFTP protocol) both ways, with a login naming the asset.
	small := filepath.Join(t.TempDir(), "small.txt")
	writeFile(t, small, "scp me\n")
	scp := func(extra []string, from, to string) (string, int) {
		args := append(append(e.clientOptions(), "-P", strconv.Itoa(e.b.Port)), extra...)
		_, stderr, code := run(t, time.Minute, "scp", append(args, from, to)...)
		return stderr, code
	}
	if stderr, code := scp(nil, small, "alice@web1@127.0.0.1:"+e.dir+"/s.txt"); code != 0 {
		t.Fatalf("scp upload: exit %d, %q", code, stderr)
	}
	if stderr, code := scp(nil, "alice@web1@127.0.0.1:"+e.dir+"/s.txt", filepath.Join(t.TempDir(), "s")); code != 0 {
		t.Fatalf("scp download: exit %d, %q", code, stderr)
	}
	// Legacy scp (-O) is an exec of `scp -t`/`scp -f`: checked against upload/download.
	if stderr, code := scp([]string{"-O"}, small, "alice@web1@127.0.0.1:"+e.dir+"/legacy.txt"); code != 0 {
		t.Fatalf("scp -O upload: exit %d, %q", code, stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(e.dir, "legacy.txt")); string(b) != "scp me\n" {
		t.Errorf("scp -O uploaded %q", b)
	}
	e.setActions(t, "download")
	if stderr, code := scp([]string{"-O"}, small, "alice@web1@127.0.0.1:"+e.dir+"/legacy2.txt"); code == 0 || !strings.Contains(stderr, "upload") {
		t.Errorf("scp -O upload without upload: exit %d, %q", code, stderr)
	}
	if stderr, code := scp([]string{"-O"}, "alice@web1@127.0.0.1:"+e.dir+"/legacy.txt", filepath.Join(t.TempDir(), "l")); code != 0 {
		t.Errorf("scp -O download: exit %d, %q", code, stderr)
	}
	if stderr, code := scp(nil, small, "alice@web1@127.0.0.1:"+e.dir+"/s2.txt"); code == 0 {
		t.Errorf("scp upload without upload succeeded: %q", stderr)
	}
	e.checkExecSessions(t, "scp", 2)
}

// checkExecSessions checks that the transfer events of the tool's exec
// sessions that ran (want of them at least) name their session, and that
// the session is one `session list` shows.
func (e *transferEnv) checkExecSessions(t *testing.T, tool string, want int) {
	t.Helper()
	out := e.b.MustRun(t, "", "session", "list", "-o", "json")
	var ss []map[string]any
	if err := json.Unmarshal([]byte(out), &ss); err != nil {
		t.Fatalf("session list: %v\n%s", err, out)
	}
	ids := map[string]bool{}
	for _, s := range ss {
		ids[fmt.Sprint(s["id"])] = true
	}
	n := 0
	for _, ev := range e.transfers(t) {
		detail := fmt.Sprint(ev["detail"])
		if !strings.HasPrefix(detail, tool+" (") && !strings.HasPrefix(detail, tool+": exit") {
			continue
		}
		n++
		if id := fmt.Sprint(ev["session_id"]); id == "" || !ids[id] {
			t.Errorf("%s transfer event without its session (%q): %v", tool, id, ev)
		}
	}
	if n < want {
		t.Errorf("%d %s transfer events that ran, want %d", n, tool, want)
	}
}

func TestRsync(t *testing.T) {
	t.Parallel()
	requireBinaries(t, "rsync")
	e := newTransferEnv(t)
	e.b.MustRun(t, "", "grant", "add", "files", "--user", "alice", "--asset", "web1", "--actions", "upload,download")
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "a.txt"), "rsync a\n")
	writeFile(t, filepath.Join(src, "b.txt"), "rsync b\n")
	sshCmd := "ssh " + strings.Join(e.clientOptions(), " ") + " -p " + strconv.Itoa(e.b.Port)
	rsync := func(args ...string) (string, int) {
		_, stderr, code := run(t, time.Minute, "rsync", append([]string{"-a", "-e", sshCmd}, args...)...)
		return stderr, code
	}
	remote := "alice@web1@127.0.0.1:" + e.dir + "/r/"
	if stderr, code := rsync(src+"/", remote); code != 0 {
		t.Fatalf("rsync upload: exit %d, %q", code, stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(e.dir, "r", "b.txt")); string(b) != "rsync b\n" {
		t.Fatalf("rsync uploaded %q", b)
	}
	back := t.TempDir()
	if stderr, code := rsync(remote, back+"/"); code != 0 {
		t.Fatalf("rsync download: exit %d, %q", code, stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(back, "a.txt")); string(b) != "rsync a\n" {
		t.Fatalf("rsync downloaded %q", b)
	}
	// --delete needs delete.
	if stderr, code := rsync("--delete", src+"/", remote); code == 0 || !strings.Contains(stderr, "delete") {
		t.Errorf("rsync --delete without delete: exit %d, %q", code, stderr)
	}
	e.setActions(t, "download")
	if stderr, code := rsync(src+"/", remote); code == 0 || !strings.Contains(stderr, "upload") {
		t.Errorf("rsync upload without upload: exit %d, %q", code, stderr)
	}
	if stderr, code := rsync(remote, t.TempDir()+"/"); code != 0 {
		t.Errorf("rsync download with download: exit %d, %q", code, stderr)
	}
	e.setActions(t, "upload")
	if stderr, code := rsync(remote, t.TempDir()+"/"); code == 0 || !strings.Contains(stderr, "download") {
		t.Errorf("rsync download without download: exit %d, %q", code, stderr)
	}
	evs := e.transfers(t)
	for _, want := range []map[string]string{
		{"operation": "upload", "result": "ok", "path~": e.dir},
		{"operation": "download", "result": "ok"},
		{"operation": "upload", "result": "denied"},
		{"operation": "download", "result": "denied"},
	} {
		if !hasEvent(evs, want) {
			t.Errorf("no rsync event %v in %v", want, evs)
		}
	}
	ss := e.b.MustRun(t, "", "session", "list", "-o", "json")
	if !strings.Contains(ss, "rsync --server") {
		t.Errorf("rsync ran as no recorded exec session: %s", ss)
	}
	e.checkExecSessions(t, "rsync", 3)
}

// echoListener answers every connection with what it reads, on 127.0.0.1.
func echoListener(t *testing.T) int {
	t.Helper()
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

func TestForwarding(t *testing.T) {
	t.Parallel()
	e := newTransferEnv(t)
	e.b.MustRun(t, "", "grant", "add", "shell", "--user", "alice", "--asset", "web1")
	echo := echoListener(t)
	login := Login{Port: e.b.Port, User: "alice", KeyFile: e.key.Path}

	// Refused by default, with the reason.
	l := login
	l.Options = []string{"-o", "LogLevel=INFO", "-W", "web1:" + strconv.Itoa(e.s.Port)}
	r := runSSH(t, l, nil)
	if r.ExitCode == 0 || !strings.Contains(r.Stderr, "port forwarding to web1 is not enabled for alice") {
		t.Fatalf("-W without a forward grant: exit %d, %q", r.ExitCode, r.Stderr)
	}

	// A forward grant with a port list: -L to that port works, bytes are audited.
	e.b.MustRun(t, "", "grant", "add", "tunnel", "--user", "alice", "--asset", "web1", "--actions", "forward", "--ports", strconv.Itoa(echo))
	lport := freePort(t)
	l = login
	l.Options = []string{"-N", "-o", "ExitOnForwardFailure=yes", "-L", fmt.Sprintf("127.0.0.1:%d:web1:%d", lport, echo)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := l.Command(ctx)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); cmd.Wait() }()
	var conn net.Conn
	waitUntil(10*time.Second, func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", lport))
		if err != nil {
			return false
		}
		conn = c
		return true
	})
	if conn == nil {
		t.Fatal("ssh -L did not listen")
	}
	conn.Write([]byte("through the tunnel"))
	buf := make([]byte, len("through the tunnel"))
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != "through the tunnel" {
		t.Fatalf("echo through -L: %q, %v", buf, err)
	}
	conn.Close()
	// Another port of web1 is not in the grant.
	l = login
	l.Options = []string{"-o", "LogLevel=INFO", "-W", "web1:" + strconv.Itoa(e.s.Port)}
	r = runSSH(t, l, nil)
	if r.ExitCode == 0 || !strings.Contains(r.Stderr, "is not allowed (allowed: "+strconv.Itoa(echo)+")") {
		t.Errorf("-W to an unlisted port: exit %d, %q", r.ExitCode, r.Stderr)
	}

	// ProxyJump: a forward grant without ports opens the asset's SSH port.
	e.b.MustRun(t, "", "grant", "set", "tunnel", "--ports", "")
	proxy := "ssh " + strings.Join(e.clientOptions(), " ") + " -p " + strconv.Itoa(e.b.Port) + " -W %h:%p alice@127.0.0.1"
	args := append(e.clientOptions(), "-i", e.s.KeyFile, "-o", "ProxyCommand="+proxy, "-p", strconv.Itoa(e.s.Port),
		"-l", e.acct, "web1", "echo", "jumped")
	out, stderr, code := run(t, time.Minute, "ssh", args...)
	if code != 0 || !strings.Contains(out, "jumped") {
		t.Fatalf("ProxyJump under a forward grant: exit %d, %q %q", code, out, stderr)
	}
	if !waitUntil(10*time.Second, func() bool {
		return hasEvent(e.transfers(t), map[string]string{"operation": "forward", "result": "ok", "path": "web1:" + strconv.Itoa(echo), "size": "36"})
	}) {
		t.Errorf("no forward event with 36 bytes: %v", e.transfers(t))
	}
	if !hasEvent(e.transfers(t), map[string]string{"operation": "forward", "result": "denied"}) {
		t.Errorf("no denied forward event")
	}
}

// TestSFTPKill: `jmsctl session kill` ends an SFTP session like any other.
func TestSFTPKill(t *testing.T) {
	t.Parallel()
	e := newTransferEnv(t)
	e.b.MustRun(t, "", "grant", "add", "files", "--user", "alice", "--asset", "web1")
	// sftp reads its commands from a pipe that stays open: the session
	// lasts until the bastion ends it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := append(e.clientOptions(), "-b", "-", "-P", strconv.Itoa(e.b.Port), "-o", "User=alice", "127.0.0.1")
	cmd := exec.CommandContext(ctx, "sftp", args...)
	cmd.Env = sshEnv(Login{})
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if _, err := io.WriteString(stdin, "ls /\n"); err != nil {
		t.Fatal(err)
	}
	var id string
	if !waitUntil(15*time.Second, func() bool {
		out, _, err := e.b.Run(t, "session", "list", "--active", "-o", "json")
		if err != nil {
			return false
		}
		var rows []map[string]any
		if json.Unmarshal([]byte(out), &rows) != nil || len(rows) == 0 {
			return false
		}
		id, _ = rows[0]["id"].(string)
		return rows[0]["kind"] == "sftp"
	}) {
		t.Fatal("no active sftp session")
	}
	e.b.MustRun(t, "", "session", "kill", id, "--reason", "maintenance")
	out := e.b.MustRun(t, "", "session", "show", id, "-o", "json")
	if !strings.Contains(out, `"killed"`) {
		t.Fatalf("the session row is not killed:\n%s", out)
	}
	// sftp -b notices the closed connection at its next command.
	_, _ = io.WriteString(stdin, "ls /\n")
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("sftp exited 0 after its session was killed; stderr: %s", stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("sftp still runs 10 s after the kill; stderr: %s", stderr.String())
	}
}

// TestSFTPUploadRevoked: a slow upload already under way stops writing within a few seconds
// once the grant loses upload, on the open file: through the virtual root (the file's own
// re-check refuses its writes; the session goes on) and on an asset the login names (the
// live-session poller ends the session too, since its open file needs upload).
func TestSFTPUploadRevoked(t *testing.T) {
	t.Parallel()
	e := newTransferEnv(t)
	e.b.MustRun(t, "", "grant", "add", "files", "--user", "alice", "--asset", "web1", "--actions", "upload,download")
	const size = 4 << 20
	src, _ := bigFile(t, t.TempDir(), size)
	for _, tc := range []struct {
		login, dst string
		ends       bool // the session ends
	}{
		{"alice", "/web1" + e.dir + "/root.bin", false},
		{"alice@web1", e.dir + "/direct.bin", true},
	} {
		t.Run(tc.login, func(t *testing.T) {
			e.setActions(t, "upload,download")
			// -l 400 Kbit/s: 4 MiB would take over a minute.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			args := append(e.clientOptions(), "-l", "400", "-b", "-", "-P", strconv.Itoa(e.b.Port), "-o", "User="+tc.login, "127.0.0.1")
			cmd := exec.CommandContext(ctx, "sftp", args...)
			cmd.Env = sshEnv(Login{})
			cmd.Stdin = strings.NewReader("put " + src + " " + tc.dst + "\n")
			var stderr syncBuffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			defer func() { cancel(); <-done }()
			onAsset := filepath.Join(e.dir, filepath.Base(tc.dst))
			sizeOf := func() int64 {
				fi, err := os.Stat(onAsset)
				if err != nil {
					return -1
				}
				return fi.Size()
			}
			if !waitUntil(20*time.Second, func() bool { return sizeOf() > 0 }) {
				t.Fatalf("the upload did not start; stderr: %s", stderr.String())
			}
			e.setActions(t, "download")
			// The change reaches the session within 2 s (the lease's re-check), but
			// -l puts a 255 KiB write on the wire every 5 s: wait until the next
			// write is refused (or the session ends), then nothing more lands on
			// the asset.
			exited := func() bool {
				select {
				case err := <-done:
					done <- err
					return true
				default:
					return false
				}
			}
			denied := map[string]string{"operation": "upload", "result": "denied", "path": onAsset}
			if !waitEvery(30*time.Second, 250*time.Millisecond, func() bool {
				return exited() || hasEvent(e.transfers(t), denied)
			}) {
				t.Fatalf("no upload refused and the session still runs 30 s after the grant lost upload (%d of %d bytes on the asset); stderr: %s", sizeOf(), size, stderr.String())
			}
			stopped := sizeOf()
			time.Sleep(3 * time.Second)
			if now := sizeOf(); now != stopped || now >= size {
				t.Fatalf("the upload went on after the grant lost upload: %d bytes, then %d bytes 3 s later (of %d)", stopped, now, size)
			}
			if !tc.ends {
				return
			}
			select {
			case err := <-done:
				done <- err
				if err == nil {
					t.Errorf("sftp exited 0 after its session lost upload; stderr: %s", stderr.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("the session still runs 10 s after an upload was refused; stderr: %s", stderr.String())
			}
		})
	}
	if !hasEvent(e.transfers(t), map[string]string{"operation": "upload", "result": "denied"}) {
		t.Errorf("no denied upload event: %v", e.transfers(t))
	}
}

// TestSFTPIdleTimeout: an SFTP session without a request for idle_timeout ends, killed, with
// the reason on its row.
func TestSFTPIdleTimeout(t *testing.T) {
	t.Parallel()
	requireBinaries(t, "ssh", "sftp")
	s := startSSHD(t)
	b := startBastion(t, BastionOptions{Config: "idle_timeout: 3s\n"})
	e := &transferEnv{b: b, s: s, key: ClientKey(t), acct: s.User}
	b.MustRun(t, "", "user", "add", "alice", "--key", e.key.Path+".pub")
	b.MustRun(t, "", "asset", "add", "web1", "--address", "127.0.0.1", "--port", strconv.Itoa(s.Port))
	b.MustRun(t, "", "account", "add", "web1", s.User, "--key", s.KeyFile)
	b.MustRun(t, "", "grant", "add", "files", "--user", "alice", "--asset", "web1")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := append(e.clientOptions(), "-b", "-", "-P", strconv.Itoa(b.Port), "-o", "User=alice", "127.0.0.1")
	cmd := exec.CommandContext(ctx, "sftp", args...)
	cmd.Env = sshEnv(Login{})
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if _, err := io.WriteString(stdin, "ls /\n"); err != nil {
		t.Fatal(err)
	}
	// The only session of this bastion, looked up among ended ones too: under
	// load, the idle timeout may end it before the test looks.
	var id string
	if !waitUntil(15*time.Second, func() bool {
		out, _, err := b.Run(t, "session", "list", "-o", "json")
		var rows []map[string]any
		if err != nil || json.Unmarshal([]byte(out), &rows) != nil || len(rows) == 0 {
			return false
		}
		id, _ = rows[0]["id"].(string)
		return rows[0]["kind"] == "sftp"
	}) {
		t.Fatal("no sftp session")
	}
	var row map[string]any
	if !waitUntil(15*time.Second, func() bool {
		out, _, err := b.Run(t, "session", "show", id, "-o", "json")
		row = nil
		return err == nil && json.Unmarshal([]byte(out), &row) == nil && row["status"] != "active"
	}) {
		t.Fatalf("the idle sftp session is still active 15 s later; stderr: %s", stderr.String())
	}
	if row["status"] != "killed" || !strings.Contains(fmt.Sprint(row["end_reason"]), "idle timeout") {
		t.Errorf("idle sftp row %v", row)
	}
	_, _ = io.WriteString(stdin, "ls /\n")
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("sftp still runs after its session ended; stderr: %s", stderr.String())
	}
}
