package e2e

// A rolling restart of a two-node cluster on one PostgreSQL, with the
// real OpenSSH client: SIGTERM drains node A while node B takes the new
// logins; A's session runs on and ends by itself (closed, not
// interrupted, its recording valid), then A exits; restarted, A takes
// logins again. A rolling restart loses no session that ends within the
// drain time.

import (
	"encoding/json"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serverState is node name's state in `jmsctl server list`, read through
// n's CLI ("" when the node is not listed).
func serverState(t *testing.T, n *Bastion, name string) string {
	t.Helper()
	var rows []map[string]any
	out := n.MustRun(t, "", "-o", "json", "server", "list")
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("server list: %v\n%s", err, out)
	}
	for _, r := range rows {
		if r["name"] == name {
			s, _ := r["state"].(string)
			return s
		}
	}
	return ""
}

// waitServerState waits until node name is in state want, read through n.
func waitServerState(t *testing.T, n *Bastion, name, want string) {
	t.Helper()
	var got string
	if !waitUntil(20*time.Second, func() bool { got = serverState(t, n, name); return got == want }) {
		t.Fatalf("%s is %q in server list, want %q:\n%s", name, got, want, n.MustRun(t, "", "server", "list"))
	}
}

func TestClusterRollingRestart(t *testing.T) {
	t.Parallel()
	e := newClusterEnv(t)
	shell, id := e.startShell(t, e.a, "node-a")

	// SIGTERM: A drains, says so in the cluster and to the session.
	e.a.Signal(syscall.SIGTERM)
	shell.waitForScreen(regexp.MustCompile(`jms: this server is shutting down: your session on web1 ends within`), 20*time.Second)
	waitServerState(t, e.b, "node-a", "draining")
	if got := serverState(t, e.b, "node-b"); got != "serving" {
		t.Fatalf("node-b is %q while node-a drains", got)
	}

	// New logins: refused by A, taken by B.
	requireRefused(t, e.a)
	if r := runSSH(t, e.keyLogin(e.a, "alice"), nil, "web1", "echo new"); r.ExitCode != 255 {
		t.Fatalf("a new login on draining node A: %+v", r)
	}
	if r := runSSH(t, e.keyLogin(e.b, "alice"), nil, "web1", "echo via-$((2*3))-b"); r.ExitCode != 0 || !strings.Contains(r.Stdout, "via-6-b") {
		t.Fatalf("a login on node B while A drains: %+v", r)
	}

	// A's session goes on, then ends by itself; A exits.
	shell.Line("echo still-$((6*7))")
	shell.waitForScreen(regexp.MustCompile(`(?m)^still-42`), 20*time.Second)
	shell.Line("exit")
	if st := shell.Wait(20 * time.Second); st != 0 {
		t.Fatalf("the drained shell's ssh exited %d", st)
	}
	e.a.WaitExit(60 * time.Second)
	row := clusterSession(t, e.b, id)
	if row["status"] != "closed" || !strings.Contains(toString(row["end_reason"]), "exited with status 0") {
		t.Fatalf("the session drained on node A: %v", row)
	}
	// The recording is in A's data directory: read it with A's CLI.
	if cat := e.a.MustRun(t, "", "replay", id, "--cat"); !strings.Contains(cat, "still-42") {
		t.Fatalf("the recording lost what was typed while draining:\n%s", cat)
	}
	waitServerState(t, e.b, "node-a", "gone")

	// Restarted, A serves and takes logins again.
	e.a.Start()
	waitServerState(t, e.b, "node-a", "serving")
	if r := runSSH(t, e.keyLogin(e.a, "alice"), nil, "web1", "echo back-$((40+2))"); r.ExitCode != 0 || !strings.Contains(r.Stdout, "back-42") {
		t.Fatalf("a login on restarted node A: %+v", r)
	}
	if !strings.Contains(e.a.Log(), "msg=drained") {
		t.Errorf("no drained line in node A's log")
	}
}
