package e2e

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

// orgEnv is a bastion with two organizations and an sshd asset to put
// in them: carol is org-admin of team-a, dave of team-b; erin is
// org-auditor of team-a; alice is a member (user) of team-a, frank of
// team-b. Each logs in with a key of her own.
type orgEnv struct {
	b    *Bastion
	s    *SSHD
	keys map[string]*Key
}

func newOrgEnv(t *testing.T) *orgEnv {
	t.Helper()
	requireBinaries(t, "ssh")
	e := &orgEnv{s: startSSHD(t), b: startBastion(t, BastionOptions{}), keys: map[string]*Key{}}
	dumpOnFailure(t, e.b)
	for _, org := range []string{"team-a", "team-b"} {
		e.b.MustRun(t, "", "org", "add", org)
	}
	people := []struct{ name, org, role string }{
		{"carol", "team-a", "org-admin"}, {"dave", "team-b", "org-admin"},
		{"erin", "team-a", "org-auditor"}, {"alice", "team-a", "user"}, {"frank", "team-b", "user"},
	}
	for _, p := range people {
		e.keys[p.name] = ClientKey(t)
		e.b.MustRun(t, "", "--org", p.org, "user", "add", p.name, "--key", e.keys[p.name].PubPath)
		if p.role != "user" {
			e.b.MustRun(t, "", "org", "members", "add", p.org, p.name, "--role", p.role)
		}
	}
	return e
}

// as returns how the person logs in with the login name (her name, or
// her name with a target: "carol@jmsctl").
func (e *orgEnv) as(login string) Login {
	l := e.b.Login(login)
	name, _, _ := strings.Cut(login, "@")
	l.KeyFile = e.keys[name].Path
	return l
}

// jmsctl runs `ssh NAME@bastion jmsctl ARGS…` with stdin.
func (e *orgEnv) jmsctl(t *testing.T, name, stdin string, args ...string) SSHResult {
	t.Helper()
	return runSSH(t, e.as(name), strings.NewReader(stdin), append([]string{"jmsctl"}, args...)...)
}

// mustJmsctl is jmsctl that fails the test unless it exits 0; it returns stdout.
func (e *orgEnv) mustJmsctl(t *testing.T, name, stdin string, args ...string) string {
	t.Helper()
	res := e.jmsctl(t, name, stdin, args...)
	if res.ExitCode != 0 {
		t.Fatalf("ssh %s jmsctl %s: exit %d\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), res.ExitCode, res.Stdout, res.Stderr)
	}
	return res.Stdout
}

// importWeb1 makes carol import web1 (the sshd) into team-a over SSH
// from stdin, store its account's key from stdin, and grant it to alice.
func (e *orgEnv) importWeb1(t *testing.T) {
	t.Helper()
	csv := "name,address,port\nweb1,127.0.0.1," + strconv.Itoa(e.s.Port) + "\n"
	out := e.mustJmsctl(t, "carol", csv, "asset", "import", "-", "--format", "csv")
	if !strings.Contains(out, "1 added") {
		t.Fatalf("import over SSH: %q", out)
	}
	e.mustJmsctl(t, "carol", string(e.s.KeyPEM), "account", "add", "web1", e.s.User, "--key", "-")
	e.mustJmsctl(t, "carol", "", "grant", "add", "alice-web1", "--user", "alice", "--asset", "web1", "--account", "@all")
}

// TestRemoteAdminImportGrantReach is issue 16's first story: an
// org-admin imports assets over SSH from stdin, stores an account's key
// from stdin and grants a member, who then reaches the asset; the
// changes are in the operations audit as made by ssh:carol from her
// address, in team-a; the command is in the login audit as an admin login.
func TestRemoteAdminImportGrantReach(t *testing.T) {
	t.Parallel()
	e := newOrgEnv(t)
	e.importWeb1(t)
	if res := runSSH(t, e.as("alice"), nil, "web1", "echo reached-$((6*7))"); res.Stdout != "reached-42\n" || res.ExitCode != 0 {
		t.Fatalf("alice through carol's grant: %+v", res)
	}

	var ops []struct{ Actor, Action, Target string }
	out := e.mustJmsctl(t, "carol", "", "audit", "operations", "-o", "json")
	if err := json.Unmarshal([]byte(out), &ops); err != nil {
		t.Fatalf("audit operations -o json over SSH: %v\n%s", err, out)
	}
	seen := map[string]bool{}
	for _, op := range ops {
		if op.Actor == "ssh:carol from 127.0.0.1" {
			seen[op.Action] = true
		}
	}
	for _, action := range []string{"asset.import", "account.add", "grant.add"} {
		if !seen[action] {
			t.Errorf("no %s by ssh:carol from 127.0.0.1 in team-a's operations audit:\n%s", action, out)
		}
	}
	// Locally: the same rows, in team-a and not in team-b.
	if local := e.b.MustRun(t, "", "--org", "team-a", "audit", "operations", "--user", "carol"); !strings.Contains(local, "ssh:carol from 127.0.0.1") {
		t.Errorf("audit operations --org team-a --user carol:\n%s", local)
	}
	if other := e.b.MustRun(t, "", "--org", "team-b", "audit", "operations", "--user", "carol"); strings.Contains(other, "grant.add") {
		t.Errorf("carol's team-a changes show in team-b's audit:\n%s", other)
	}

	var logins []struct{ Method, Result, Reason string }
	waitUntil(10*time.Second, func() bool {
		logins = nil
		_ = json.Unmarshal([]byte(e.b.MustRun(t, "", "-o", "json", "audit", "logins", "--user", "carol")), &logins)
		for _, l := range logins {
			if l.Method == "admin" && l.Result == "success" && l.Reason == "jmsctl asset import" {
				return true
			}
		}
		return false
	})
	if !strings.Contains(e.b.MustRun(t, "", "audit", "logins", "--user", "carol"), "jmsctl asset import") {
		t.Errorf("no admin login naming the import in the login audit: %+v", logins)
	}
}

// TestRemoteAdminOtherOrgSeesNothing: the org-admin of team-b sees none
// of team-a's inventory, and is refused team-a by name.
func TestRemoteAdminOtherOrgSeesNothing(t *testing.T) {
	t.Parallel()
	e := newOrgEnv(t)
	e.importWeb1(t)
	if out := strings.TrimSpace(e.mustJmsctl(t, "dave", "", "asset", "list", "-o", "json")); out != "[]" {
		t.Errorf("dave's asset list: %s; want []", out)
	}
	if out := strings.TrimSpace(e.mustJmsctl(t, "dave", "", "grant", "list", "-o", "json")); out != "[]" {
		t.Errorf("dave's grant list: %s; want []", out)
	}
	res := e.jmsctl(t, "dave", "", "asset", "show", "web1")
	if res.ExitCode != 1 || !strings.Contains(res.Stderr, "not found") || strings.Contains(res.Stdout, "127.0.0.1") {
		t.Errorf("dave: asset show web1 of team-a: %+v; want exit 1, not found", res)
	}
	res = e.jmsctl(t, "dave", "", "--org", "team-a", "asset", "list")
	if res.ExitCode != 1 || !strings.Contains(res.Stderr, "needs the org-admin role in team-a") {
		t.Errorf("dave: --org team-a asset list: %+v; want the role message", res)
	}
}

// TestRemoteAdminAuditorKills: an org-auditor kills a session of her
// organization over SSH, and is refused one of another organization.
func TestRemoteAdminAuditorKills(t *testing.T) {
	t.Parallel()
	e := newOrgEnv(t)
	e.importWeb1(t)
	// team-b's own asset (the same sshd), granted to frank, set up locally.
	e.b.MustRun(t, "", "--org", "team-b", "asset", "add", "web2", "--address", "127.0.0.1", "--port", strconv.Itoa(e.s.Port))
	e.b.MustRun(t, "", "--org", "team-b", "account", "add", "web2", e.s.User, "--key", e.s.KeyFile)
	e.b.MustRun(t, "", "--org", "team-b", "grant", "add", "frank-web2", "--user", "frank", "--asset", "web2", "--account", "@all")

	aliceDone, aliceErr := e.longSession(t, "alice", "web1")
	frankDone, _ := e.longSession(t, "frank", "web2")
	idA := e.activeIn(t, "team-a")
	idB := e.activeIn(t, "team-b")

	res := e.jmsctl(t, "erin", "", "session", "kill", idB)
	if res.ExitCode != 1 {
		t.Errorf("erin killed team-b's session %s: %+v", idB, res)
	}
	res = e.jmsctl(t, "erin", "", "--org", "team-b", "session", "kill", idB)
	if res.ExitCode != 1 || !strings.Contains(res.Stderr, "needs the org-auditor role in team-b") {
		t.Errorf("erin: --org team-b session kill: %+v; want the role message", res)
	}
	e.mustJmsctl(t, "erin", "", "session", "kill", idA, "--reason", "audit")
	select {
	case <-aliceDone:
	case <-time.After(30 * time.Second):
		t.Fatal("alice's session outlived erin's kill")
	}
	if !strings.Contains(aliceErr.String(), "killed by") {
		t.Errorf("alice was not told who killed her session: %q", aliceErr.String())
	}
	select {
	case <-frankDone:
		t.Error("frank's session in team-b ended too")
	default:
	}
	e.b.MustRun(t, "", "--org", "team-b", "session", "kill", idB) // the local CLI may
	<-frankDone
}

// longSession starts name's `echo started; sleep 60` on asset and waits
// for it to start; done closes when ssh exits.
func (e *orgEnv) longSession(t *testing.T, name, asset string) (done chan struct{}, stderr *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	cmd := e.as(name).Command(ctx, asset, "echo started; sleep 60")
	var out syncBuffer
	stderr = &syncBuffer{}
	cmd.Stdout, cmd.Stderr = &out, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done = make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	if !waitUntil(20*time.Second, func() bool { return strings.Contains(out.String(), "started") }) {
		t.Fatalf("%s's session on %s did not start: %q", name, asset, stderr.String())
	}
	return done, stderr
}

// activeIn returns the id of the one active session of org.
func (e *orgEnv) activeIn(t *testing.T, org string) string {
	t.Helper()
	var rows []struct{ ID string }
	out := e.b.MustRun(t, "", "--org", org, "-o", "json", "session", "list", "--active")
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 || rows[0].ID == "" {
		t.Fatalf("active sessions of %s: %v\n%s", org, err, out)
	}
	return rows[0].ID
}

// TestRemoteAdminUserIsHerself: a member runs jmsctl me over SSH, and is
// told which role user list needs.
func TestRemoteAdminUserIsHerself(t *testing.T) {
	t.Parallel()
	e := newOrgEnv(t)
	if out := e.mustJmsctl(t, "alice", "", "me"); !strings.Contains(out, "alice") || !strings.Contains(out, "team-a") {
		t.Errorf("jmsctl me over SSH: %q", out)
	}
	res := e.jmsctl(t, "alice", "", "user", "list")
	if res.ExitCode != 1 || !strings.Contains(res.Stderr, "jmsctl user list needs the admin role") || res.Stdout != "" {
		t.Errorf("alice: user list: %+v; want exit 1 and the role message", res)
	}
	if res := e.jmsctl(t, "alice", "", "version"); res.ExitCode != 0 {
		t.Errorf("alice: version: %+v", res)
	}
}

// TestRemoteAdminShape: what goes through ssh and what does not: help,
// completion, exit status, JSON, stdin; no shell, no local commands, no
// other data directory or database, no file of the bastion machine;
// completion candidates only of what she may run; a
// PTY gets the help with its line ends; the login name carol@jmsctl.
func TestRemoteAdminShape(t *testing.T) {
	t.Parallel()
	e := newOrgEnv(t)
	if out := e.mustJmsctl(t, "carol", "", "--help"); !strings.Contains(out, "Usage:") {
		t.Errorf("--help over SSH: %q", out)
	}
	if out := e.mustJmsctl(t, "alice", "", "completion", "bash"); !strings.Contains(out, "bash completion") {
		t.Errorf("completion bash over SSH: %.200q", out)
	}
	if out := strings.TrimSpace(e.mustJmsctl(t, "carol", "", "-o", "json", "asset", "list")); out != "[]" {
		t.Errorf("asset list -o json: %q", out)
	}
	refused := []struct {
		args []string
		want string
	}{
		{[]string{"serve"}, "not over SSH"},
		{[]string{"db", "status"}, "not over SSH"},
		{[]string{"secret", "status"}, "not over SSH"},
		{[]string{"--data-dir", "/tmp", "asset", "list"}, "--data-dir is not available over SSH"},
		{[]string{"asset", "list", "--database=sqlite:///tmp/x.db"}, "--database is not available over SSH"},
		{[]string{"asset", "import", "/etc/passwd", "--format", "csv"}, "reads no file on the bastion machine"},
		{[]string{"replay", "/var/tmp/x.cast"}, "reads no file on the bastion machine"},
		{[]string{"asset", "list", "|", "grep", "x"}, `"|" needs a shell`},
		{[]string{"no-such-command"}, "unknown command"},
	}
	for _, r := range refused {
		res := e.jmsctl(t, "carol", "", r.args...)
		if res.ExitCode != 1 || !strings.Contains(res.Stderr, r.want) || strings.Count(strings.TrimSpace(res.Stderr), "\n") != 0 {
			t.Errorf("jmsctl %s: %+v; want exit 1 and one line with %q", strings.Join(r.args, " "), res, r.want)
		}
	}

	// Completion candidates: names of what she may run only.
	e.importWeb1(t)
	if out := e.mustJmsctl(t, "carol", "", "__complete", "asset", "show", "''"); !strings.Contains(out, "web1") {
		t.Errorf("carol's completion of asset show: %q", out)
	}
	for _, who := range []string{"alice", "dave"} {
		if out := e.mustJmsctl(t, who, "", "__complete", "asset", "show", "''"); strings.Contains(out, "web1") {
			t.Errorf("%s's completion of asset show offers team-a's web1: %q", who, out)
		}
	}

	// The login name names the command; the command line is its arguments.
	res := runSSH(t, e.as("carol@jmsctl"), nil, "asset", "list", "-o", "json")
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, `"web1"`) {
		t.Errorf("carol@jmsctl asset list: %+v", res)
	}
	res = runSSH(t, e.as("carol@root@jmsctl"), nil, "asset", "list")
	if res.ExitCode != 1 || !strings.Contains(res.Stderr, "not an asset") {
		t.Errorf("carol@root@jmsctl: %+v", res)
	}

	// A PTY and no arguments: the help, its lines ended for a raw terminal.
	tty := e.as("carol")
	tty.TTY = true
	res = runSSH(t, tty, nil, "jmsctl")
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, "Usage:\r\n") {
		t.Errorf("ssh -tt carol@bastion jmsctl: exit %d, %.300q", res.ExitCode, res.Stdout)
	}
}
