package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestKillExecLogged: a command killed while it runs is told why and
// logged as killed, by whom and why, not as refused.
func TestKillExecLogged(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := e.keyLogin("alice").Command(ctx, "web1", "echo started; sleep 30; echo survived")
	var out, errOut syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !waitUntil(15*time.Second, func() bool { return strings.Contains(out.String(), "started") }) {
		t.Fatalf("the command did not start: %q %q", out.String(), errOut.String())
	}
	id := activeSession(t, e.b)
	e.b.MustRun(t, "", "session", "kill", id, "--reason", "disk full")
	_ = cmd.Wait()
	if strings.Contains(out.String(), "survived") || !strings.Contains(errOut.String(), "killed by") ||
		!strings.Contains(errOut.String(), "disk full") {
		t.Fatalf("the killed command: stdout %q, stderr %q", out.String(), errOut.String())
	}
	var logLine string
	waitUntil(5*time.Second, func() bool {
		for _, l := range strings.Split(e.b.Log(), "\n") {
			if strings.Contains(l, `msg="session killed"`) {
				logLine = l
				return true
			}
		}
		return false
	})
	if !strings.Contains(logLine, "killed by os:") || !strings.Contains(logLine, "disk full") {
		t.Errorf("no log line says who killed the session and why: %q\n%s", logLine, e.b.Log())
	}
	if strings.Contains(e.b.Log(), "session refused") {
		t.Errorf("the killed session is logged as refused:\n%s", e.b.Log())
	}
}

// TestKillRsyncAudited: an rsync killed while it copies is in the
// transfer audit with its session and as killed, by whom and why, not as
// a bare exit status.
func TestKillRsyncAudited(t *testing.T) {
	t.Parallel()
	requireBinaries(t, "rsync")
	e := newTransferEnv(t)
	e.b.MustRun(t, "", "grant", "add", "files", "--user", "alice", "--asset", "web1", "--actions", "upload")
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "big.bin"), strings.Repeat("x", 32<<20))
	sshCmd := "ssh " + strings.Join(e.clientOptions(), " ") + " -p " + strconv.Itoa(e.b.Port)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "rsync", "-a", "--bwlimit=512", "-e", sshCmd, src+"/", "alice@web1@127.0.0.1:"+e.dir+"/r/")
	cmd.Env = sshEnv(Login{})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	id := activeSession(t, e.b)
	e.b.MustRun(t, "", "session", "kill", id, "--reason", "window closed")
	if err := cmd.Wait(); err == nil {
		t.Fatal("the killed rsync succeeded")
	}
	var ev map[string]any
	waitUntil(5*time.Second, func() bool {
		for _, x := range e.transfers(t) {
			if x["session_id"] == id {
				ev = x
				return true
			}
		}
		return false
	})
	if ev == nil || ev["result"] != "failed" || !strings.Contains(fmt.Sprint(ev["detail"]), "rsync: killed by os:") ||
		!strings.Contains(fmt.Sprint(ev["detail"]), "window closed") {
		t.Errorf("the killed rsync's transfer event: %v", ev)
	}
}
