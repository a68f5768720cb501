package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startControlMaster starts an OpenSSH ControlMaster for l and returns
// the login that multiplexes over it, and its ControlPath.
func startControlMaster(t *testing.T, l Login) (Login, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "cm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ctl := filepath.Join(dir, "c")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	master := l
	master.Options = append([]string{"-o", "ControlMaster=yes", "-o", "ControlPath=" + ctl, "-N"}, l.Options...)
	mc := master.Command(ctx)
	if err := mc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mc.Process.Kill(); _ = mc.Wait() })
	if !waitUntil(10*time.Second, func() bool { _, err := os.Stat(ctl); return err == nil }) {
		t.Fatal("the ControlMaster did not start")
	}
	mux := l
	mux.Options = append([]string{"-o", "ControlMaster=no", "-o", "ControlPath=" + ctl}, l.Options...)
	return mux, ctl
}

// TestControlMasterExitStatus: a command's exit status reaches the
// client through an OpenSSH ControlMaster, with stdin at EOF (ssh -n, a
// cron job) or not, for an exit, a signal (128+N, as a shell reports
// it) and a refusal.
// The bastion sends, as sshd does, the output, then exit-status, then
// EOF, then close; EOF before the status made the mux client exit 255.
func TestControlMasterExitStatus(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	mux, _ := startControlMaster(t, e.keyLogin("alice"))
	muxN := mux
	muxN.Options = append([]string{"-n"}, mux.Options...)

	cases := []struct {
		name   string
		login  Login
		stdin  string
		asset  string
		cmd    string
		out    string
		errOut string // on stderr
		status int
	}{
		{"exit -n", muxN, "", "web1", "echo out; echo err >&2; exit 3", "out\n", "err\n", 3},
		{"exit 0 -n", muxN, "", "web1", "echo ok", "ok\n", "", 0},
		{"exit with stdin", mux, "piped\n", "web1", "cat; exit 4", "piped\n", "", 4},
		{"signal -n", muxN, "", "web1", "echo before; kill -9 $$", "before\n", "", 128 + 9},
		{"refused -n", muxN, "", "db1", "echo ran", "", `jms: no asset "db1" for alice` + "\n", 1},
	}
	for _, c := range cases {
		var res SSHResult
		if c.stdin != "" {
			res = runSSH(t, c.login, strings.NewReader(c.stdin), c.asset, c.cmd)
		} else {
			res = runSSH(t, c.login, nil, c.asset, c.cmd)
		}
		if res.Stdout != c.out || res.Stderr != c.errOut || res.ExitCode != c.status {
			t.Errorf("%s: %+v; want stdout %q, stderr %q, status %d", c.name, res, c.out, c.errOut, c.status)
		}
	}
	// An interactive shell (a PTY) over the shared connection.
	muxTTY := mux
	muxTTY.TTY = true
	if res := runSSH(t, muxTTY, strings.NewReader("exit 7\n"), "web1"); res.ExitCode != 7 {
		t.Errorf("a shell with a PTY: %+v; want status 7", res)
	}
	// Without connection sharing, the same.
	plain := e.keyLogin("alice")
	plain.Options = []string{"-n"}
	if res := runSSH(t, plain, nil, "web1", "exit 5"); res.ExitCode != 5 {
		t.Errorf("without sharing: %+v; want status 5", res)
	}
}

// TestControlMasterTransfers: rsync and legacy scp over a shared
// connection (ControlMaster auto in a person's ssh config) finish with
// status 0: both fail on the 255 a lost exit status gives.
func TestControlMasterTransfers(t *testing.T) {
	t.Parallel()
	requireBinaries(t, "rsync")
	e := newTransferEnv(t)
	e.b.MustRun(t, "", "grant", "add", "files", "--user", "alice", "--asset", "web1", "--actions", "upload,download")
	l := e.b.Login("alice@web1")
	l.KeyFile = e.key.Path
	_, ctl := startControlMaster(t, l)
	shared := []string{"-o", "ControlMaster=no", "-o", "ControlPath=" + ctl}

	src := t.TempDir()
	writeFile(t, filepath.Join(src, "a.txt"), "shared a\n")
	sshCmd := "ssh " + strings.Join(append(append(shared, e.clientOptions()...), "-p", strconv.Itoa(e.b.Port)), " ")
	_, stderr, code := run(t, time.Minute, "rsync", "-a", "-e", sshCmd, src+"/", "alice@web1@127.0.0.1:"+e.dir+"/r/")
	if b, _ := os.ReadFile(filepath.Join(e.dir, "r", "a.txt")); code != 0 || string(b) != "shared a\n" {
		t.Errorf("rsync over a ControlMaster: exit %d, %q; uploaded %q", code, stderr, b)
	}
	args := append(append(append([]string{"-O"}, shared...), e.clientOptions()...), "-P", strconv.Itoa(e.b.Port),
		filepath.Join(src, "a.txt"), "alice@web1@127.0.0.1:"+e.dir+"/legacy.txt")
	_, stderr, code = run(t, time.Minute, "scp", args...)
	if b, _ := os.ReadFile(filepath.Join(e.dir, "legacy.txt")); code != 0 || string(b) != "shared a\n" {
		t.Errorf("scp -O over a ControlMaster: exit %d, %q; uploaded %q", code, stderr, b)
	}
}
