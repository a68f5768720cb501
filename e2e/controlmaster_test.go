package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startControlMaster starts an OpenSSH ControlMaster for l and returns
// the login that multiplexes over it.
func startControlMaster(t *testing.T, l Login) Login {
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
	return mux
}

// TestControlMasterExitStatus: a command's exit status reaches the
// client through an OpenSSH ControlMaster, with stdin at EOF (ssh -n, a
// cron job) or not, for an exit, a signal and an rsync-style transfer.
// The bastion sends, as sshd does, the output, then exit-status, then
// EOF, then close; EOF before the status made the mux client exit 255.
func TestControlMasterExitStatus(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	mux := startControlMaster(t, e.keyLogin("alice"))
	muxN := mux
	muxN.Options = append([]string{"-n"}, mux.Options...)

	cases := []struct {
		name   string
		login  Login
		stdin  string
		cmd    string
		out    string
		status int
	}{
		{"exit -n", muxN, "", "echo out; exit 3", "out\n", 3},
		{"exit 0 -n", muxN, "", "echo ok", "ok\n", 0},
		{"exit with stdin", mux, "piped\n", "cat; exit 4", "piped\n", 4},
		{"signal -n", muxN, "", "echo before; kill -9 $$", "before\n", 128 + 9},
	}
	for _, c := range cases {
		var stdin *strings.Reader
		if c.stdin != "" {
			stdin = strings.NewReader(c.stdin)
		}
		var res SSHResult
		if stdin != nil {
			res = runSSH(t, c.login, stdin, "web1", c.cmd)
		} else {
			res = runSSH(t, c.login, nil, "web1", c.cmd)
		}
		if res.Stdout != c.out || res.ExitCode != c.status {
			t.Errorf("%s: %+v; want stdout %q, status %d", c.name, res, c.out, c.status)
		}
	}
	// Without connection sharing, the same.
	plain := e.keyLogin("alice")
	plain.Options = []string{"-n"}
	if res := runSSH(t, plain, nil, "web1", "exit 5"); res.ExitCode != 5 {
		t.Errorf("without sharing: %+v; want status 5", res)
	}
}
