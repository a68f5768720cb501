package e2e

// Database assets end to end (issue 18): a real MariaDB and PostgreSQL behind `jmsctl serve`,
// reached through the real OpenSSH client: `asset test`, one-shot statements (TSV, --json, exit
// status), the SQL console in tmux, a DROP denied by a SQL filter in both, a wrong stored
// password, the command audit with rows and errors, and the recording replayed.

import (
	"context"
	"encoding/json"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jms-bastion/jms/bastion/database/dbtest"
)

// dbEnv is a bastion with alice granted db1, a database asset on a fresh database of the
// engine's test server with the table items (apple, pear) and the fixture's owner as its
// account, db2 the same server with that account's password wrong, and the SQL filter no-drop.
// (The test PostgreSQL trusts loopback logins: there db2's account is a role that does not
// exist, the other login failure a stored account can meet.)
type dbEnv struct {
	b      *Bastion
	key    *Key
	good   string
	engine string
	fx     dbtest.Server
}

func newDBEnv(t *testing.T, engine string) *dbEnv {
	t.Helper()
	requireBinaries(t, "ssh")
	fx := dbtest.Fixture(t, engine)
	dbtest.Exec(t, fx, "CREATE TABLE items (id INT, name VARCHAR(20))", "INSERT INTO items VALUES (1, 'apple'), (2, 'pear')")
	b := startBastion(t, BastionOptions{})
	e := &dbEnv{b: b, key: ClientKey(t), good: fx.User, engine: engine, fx: fx}
	b.MustRun(t, "", "user", "add", "alice", "--key", e.key.PubPath)
	b.MustRun(t, "", "asset", "add", "db1", "--platform", engine, "--address", fx.Host, "--port", strconv.Itoa(fx.Port),
		"--database", fx.Database)
	b.MustRun(t, fx.Password+"\n", "account", "add", "db1", fx.User, "--password-stdin")
	b.MustRun(t, "", "asset", "add", "db2", "--platform", engine, "--address", fx.Host, "--port", strconv.Itoa(fx.Port),
		"--database", fx.Database)
	wrong := fx.User
	if engine == "postgresql" {
		wrong = "jms_no_such_role"
	}
	b.MustRun(t, "not-"+fx.Password+"\n", "account", "add", "db2", wrong, "--password-stdin")
	b.MustRun(t, "", "grant", "add", "alice-db", "--user", "alice", "--asset", "db1", "--asset", "db2", "--account", "@all")
	b.MustRun(t, "", "grant", "add", "alice-fwd", "--user", "alice", "--asset", "db1", "--account", "@all", "--actions", "forward")
	b.MustRun(t, "", "filter", "add", "deletes", "--sql", "--action", "review", "--statement", "DELETE")
	b.MustRun(t, "", "filter", "add", "no-drop", "--sql", "--action", "deny", "--statement", "DROP,TRUNCATE")
	return e
}

func (e *dbEnv) login() Login {
	l := e.b.Login("alice")
	l.KeyFile = e.key.Path
	return l
}

func TestDatabaseAssets(t *testing.T) {
	for _, engine := range []string{"mysql", "postgresql"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newDBEnv(t, engine)
			testDatabaseAssetTest(t, e)
			testDatabaseExec(t, e)
			testDatabaseConsole(t, e)
			testDatabaseForward(t, e)
			testDatabaseReview(t, e)
			testDatabaseAudit(t, e)
			testDatabaseRevoked(t, e)
		})
	}
}

func testDatabaseAssetTest(t *testing.T, e *dbEnv) {
	out := e.b.MustRun(t, "", "asset", "test", "db1", "--account", e.good)
	if !strings.Contains(out, "db1: logged in at ") {
		t.Errorf("asset test: %q", out)
	}
	if _, stderr, err := e.b.Run(t, "asset", "test", "db2"); err == nil ||
		!regexp.MustCompile(`logging in to .* as \S+: .*(Access denied|password authentication failed|does not exist)`).MatchString(stderr) {
		t.Errorf("asset test with a wrong password: %v %q", err, stderr)
	}
}

func testDatabaseExec(t *testing.T, e *dbEnv) {
	target := "db1"
	res := runSSH(t, e.login(), nil, target, "SELECT id, name FROM items ORDER BY id")
	if res.ExitCode != 0 || res.Stdout != "id\tname\n1\tapple\n2\tpear\n" {
		t.Errorf("one-shot SELECT: %+v", res)
	}
	res = runSSH(t, e.login(), nil, target, "--json SELECT name FROM items WHERE id = 2")
	var got struct {
		Columns []string   `json:"columns"`
		Rows    [][]string `json:"rows"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &got); err != nil || res.ExitCode != 0 || got.Rows[0][0] != "pear" {
		t.Errorf("one-shot --json: %v %+v", err, res)
	}
	res = runSSH(t, e.login(), nil, target, "DROP TABLE items")
	if res.ExitCode != 1 || !strings.Contains(res.Stderr, `Denied: DROP statement denied by filter "no-drop"`) {
		t.Errorf("one-shot DROP: %+v", res)
	}
	res = runSSH(t, e.login(), nil, target, "SELECT * FROM nosuch")
	if res.ExitCode != 1 || !strings.Contains(res.Stderr, "nosuch") {
		t.Errorf("one-shot error: %+v", res)
	}
	res = runSSH(t, e.login(), nil, "db2", "SELECT 1")
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "jms: the bastion could not log in to db2") {
		t.Errorf("wrong stored password: %+v", res)
	}
	if res := runSSH(t, e.login(), nil, target, "SELECT COUNT(*) AS n FROM items"); res.Stdout != "n\n2\n" {
		t.Errorf("the table after the denied DROP: %+v", res)
	}
}

func testDatabaseConsole(t *testing.T, e *dbEnv) {
	l := e.b.Login("alice@db1")
	l.KeyFile, l.TTY = e.key.Path, true
	term := termSSH(t, l, TermOptions{Width: 100, Height: 30})
	term.waitForScreen(regexp.MustCompile(`(?m)^db1> ?$`), 30*time.Second)
	// tmux takes a ';' ending an argument for its command separator: a space follows it.
	term.Line("SELECT id, name FROM items ORDER BY id; ")
	term.waitForScreen(regexp.MustCompile(`(?s)name.*apple.*pear.*\(2 rows\)`), 30*time.Second)
	term.Line("DROP TABLE items; ")
	term.waitForScreen(regexp.MustCompile(`Denied: DROP statement denied by filter "no-drop"`), 30*time.Second)
	term.Line(`\q`)
	if status := term.Wait(30 * time.Second); status != 0 {
		t.Errorf("console exit status %d", status)
	}
	var sessions []struct {
		ID     string `json:"id"`
		Kind   string `json:"kind"`
		Status string `json:"status"`
	}
	out := e.b.MustRun(t, "", "session", "list", "-o", "json")
	if err := json.Unmarshal([]byte(out), &sessions); err != nil || len(sessions) == 0 {
		t.Fatalf("sessions: %v %s", err, out)
	}
	last := sessions[len(sessions)-1]
	if last.Kind != "sql" || last.Status != "closed" {
		t.Errorf("console session row: %+v", last)
	}
	replay := e.b.MustRun(t, "", "replay", last.ID, "--cat")
	if !strings.Contains(replay, "apple") || !strings.Contains(replay, `denied by filter "no-drop"`) {
		t.Errorf("the recording replays:\n%s", replay)
	}
}

func testDatabaseAudit(t *testing.T, e *dbEnv) {
	var events []struct {
		Command string `json:"command"`
		Verdict string `json:"verdict"`
		Filter  string `json:"filter"`
		Rows    *int64 `json:"rows"`
		Error   string `json:"error"`
	}
	out := e.b.MustRun(t, "", "audit", "commands", "--asset", "db1", "-o", "json")
	if err := json.Unmarshal([]byte(out), &events); err != nil {
		t.Fatal(err)
	}
	var selects, drops, errs, reviews int
	for _, ev := range events {
		switch {
		case ev.Command == "SELECT id, name FROM items ORDER BY id" && ev.Verdict == "allow" && ev.Rows != nil && *ev.Rows == 2:
			selects++
		case strings.HasPrefix(ev.Command, "DROP TABLE items") && ev.Verdict == "deny" && ev.Filter == "no-drop" && ev.Rows == nil:
			drops++
		case ev.Command == "SELECT * FROM nosuch" && strings.Contains(ev.Error, "nosuch"):
			errs++
		case strings.HasPrefix(ev.Command, "DELETE") && ev.Verdict == "review:approved" && ev.Rows != nil && *ev.Rows == 1:
			reviews++
		}
	}
	if selects != 2 || drops != 3 || errs != 1 || reviews != 1 {
		t.Errorf("audit: %d selects, %d drops, %d errors, %d reviews; want 2, 3, 1, 1:\n%s", selects, drops, errs, reviews, out)
	}
	table := e.b.MustRun(t, "", "audit", "commands", "--asset", "db1")
	if !regexp.MustCompile(`(?m)^AT .* ROWS +DURATION +ERROR$`).MatchString(table) {
		t.Errorf("audit table:\n%s", table)
	}
}

// testDatabaseForward runs the engine's own client (mysql, psql) through ssh -L to db1: it logs
// in with a made-up user and password (the bastion logs in with the stored account), reads the
// table, and is refused the DROP.
func testDatabaseForward(t *testing.T, e *dbEnv) {
	program := map[string]string{"mysql": "mysql", "postgresql": "psql"}[e.engine]
	dbtest.Client(t, program, e.engine, "apt-get install mariadb-client postgresql-client")
	local := freePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l := e.login()
	args := sshArgs(l)
	args = append(args[:len(args)-5], "-N", "-o", "ExitOnForwardFailure=yes",
		"-L", "127.0.0.1:"+strconv.Itoa(local)+":db1:"+strconv.Itoa(e.fx.Port), "-p", strconv.Itoa(l.Port), "-l", "alice", "127.0.0.1")
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = sshEnv(l)
	cmd.WaitDelay = 5 * time.Second
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	addr := "127.0.0.1:" + strconv.Itoa(local)
	if !waitUntil(30*time.Second, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}) {
		t.Fatalf("the forward did not open: %s", stderr.String())
	}
	run := func(stmt string) (string, error) {
		var c *exec.Cmd
		if e.engine == "mysql" {
			c = exec.CommandContext(ctx, "mysql", "-h", "127.0.0.1", "-P", strconv.Itoa(local), "-u", "anyone", "-pmade-up",
				"-D", e.fx.Database, "--batch", "-e", stmt)
		} else {
			c = exec.CommandContext(ctx, "psql", "host=127.0.0.1 port="+strconv.Itoa(local)+" user=anyone dbname="+e.fx.Database+
				" sslmode=disable", "-X", "-A", "-t", "-c", stmt)
			c.Env = append(c.Environ(), "PGPASSWORD=made-up")
		}
		out, err := c.CombinedOutput()
		return string(out), err
	}
	if out, err := run("SELECT name FROM items ORDER BY id"); err != nil || !strings.Contains(out, "apple\npear") {
		t.Errorf("%s through the forward: %v\n%s", program, err, out)
	}
	if out, err := run("DROP TABLE items"); err == nil || !strings.Contains(out, `jms: DROP statement denied by filter "no-drop"`) {
		t.Errorf("%s DROP through the forward: %v\n%s", program, err, out)
	}
}

// testDatabaseReview holds a DELETE for review: the one-shot statement waits for its ticket,
// which jmsctl approves, and then runs.
func testDatabaseReview(t *testing.T, e *dbEnv) {
	done := make(chan SSHResult, 1)
	go func() { done <- runSSH(t, e.login(), nil, "db1", "DELETE FROM items WHERE id = 1") }()
	var id int64
	if !waitUntil(30*time.Second, func() bool {
		var tickets []struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
		}
		out, _, err := e.b.Run(t, "ticket", "list", "-o", "json")
		if err != nil || json.Unmarshal([]byte(out), &tickets) != nil {
			return false
		}
		for _, tk := range tickets {
			if tk.Status == "pending" {
				id = tk.ID
				return true
			}
		}
		return false
	}) {
		t.Fatal("no review ticket for the DELETE")
	}
	e.b.MustRun(t, "", "ticket", "approve", strconv.FormatInt(id, 10))
	res := <-done
	if res.ExitCode != 0 || !strings.Contains(res.Stderr, "approved") {
		t.Errorf("reviewed DELETE: %+v", res)
	}
	if res := runSSH(t, e.login(), nil, "db1", "SELECT COUNT(*) AS n FROM items"); res.Stdout != "n\n1\n" {
		t.Errorf("after the approved DELETE: %+v", res)
	}
}

// testDatabaseRevoked removes alice's grants while her console is open: the console ends and
// says why.
func testDatabaseRevoked(t *testing.T, e *dbEnv) {
	l := e.b.Login("alice@db1")
	l.KeyFile, l.TTY = e.key.Path, true
	term := termSSH(t, l, TermOptions{Width: 100, Height: 30})
	term.waitForScreen(regexp.MustCompile(`(?m)^db1> ?$`), 30*time.Second)
	e.b.MustRun(t, "", "grant", "rm", "alice-db", "alice-fwd")
	term.waitForScreen(regexp.MustCompile(`jms: session ended: .*revoked`), 60*time.Second)
	if status := term.Wait(30 * time.Second); status == 0 {
		t.Errorf("a console ended by a revoked grant exited 0")
	}
}
