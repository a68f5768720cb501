package e2e

// The store on PostgreSQL, end to end: `jmsctl serve` and the CLI on one PostgreSQL database
// (JMS_TEST_POSTGRES), the real OpenSSH client through to a real sshd, and a single-node
// SQLite install moved there with `jmsctl db copy`.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to make and drop schemas
)

// requirePostgres returns JMS_TEST_POSTGRES, the URL of a PostgreSQL database the tests may
// make schemas in. Without it the test skips, or fails under JMS_E2E=1.
func requirePostgres(t testing.TB) string {
	t.Helper()
	u := os.Getenv("JMS_TEST_POSTGRES")
	if u != "" {
		return u
	}
	msg := "JMS_TEST_POSTGRES is not set: start PostgreSQL (scripts/ensure-postgres.sh prints the URL) " +
		"and set it, e.g. postgres://root@127.0.0.1:5432/test?sslmode=disable"
	if e2eRequired() {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// newPostgresSchema makes a schema in the JMS_TEST_POSTGRES database, dropped when the test
// ends, and returns the database's URL with that schema as its search path.
func newPostgresSchema(t testing.TB) string {
	t.Helper()
	base := requirePostgres(t)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("JMS_TEST_POSTGRES: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	b := make([]byte, 8)
	rand.Read(b)
	schema := "jms_e2e_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("PostgreSQL (JMS_TEST_POSTGRES) refused a schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func jsonRows(t *testing.T, out string) []map[string]any {
	t.Helper()
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("%v in\n%s", err, out)
	}
	return rows
}

// setUpAlice adds alice (key login), web1 on the sshd with a sealed key account, and her grant.
func setUpAlice(t *testing.T, b *Bastion, s *SSHD, key *Key) {
	t.Helper()
	b.MustRun(t, "", "user", "add", "alice", "--key", key.PubPath)
	b.MustRun(t, "", "asset", "add", "web1", "--address", "127.0.0.1", "--port", strconv.Itoa(s.Port))
	b.MustRun(t, "", "account", "add", "web1", s.User, "--key", s.KeyFile)
	b.MustRun(t, "", "grant", "add", "alice-web1", "--user", "alice", "--asset", "web1", "--account", "@all")
}

// execAsAlice runs one command on web1 through b and waits for its session row to close;
// it returns the session's id.
func execAsAlice(t *testing.T, b *Bastion, key *Key, token string) string {
	t.Helper()
	l := b.Login("alice")
	l.KeyFile = key.Path
	if res := runSSH(t, l, nil, "web1", "echo "+token); res.Stdout != token+"\n" || res.ExitCode != 0 {
		t.Fatalf("exec through the bastion: %+v", res)
	}
	var id string
	ok := waitUntil(15*time.Second, func() bool {
		for _, r := range jsonRows(t, b.MustRun(t, "", "-o", "json", "session", "list")) {
			if r["command"] == "echo "+token && r["status"] == "closed" {
				id, _ = r["id"].(string)
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("no closed session row for echo %s:\n%s", token, b.MustRun(t, "", "session", "list"))
	}
	return id
}

// TestPostgresServeAndCLI: serve and the CLI share a PostgreSQL store; a key login runs a
// command on the asset; the session row is closed and the login audited, as the CLI reads
// them from the same database; db status names the engine and nothing pending, no password.
// Then a SQLite install is moved with db copy, and serve runs on the copy: its sealed
// account key still opens (ids kept), and new rows take new ids.
func TestPostgresServeAndCLI(t *testing.T) {
	t.Parallel()
	requirePostgres(t)
	requireBinaries(t, "ssh")
	s := startSSHD(t)
	key := ClientKey(t)

	b := startBastion(t, BastionOptions{Postgres: true})
	setUpAlice(t, b, s, key)
	execAsAlice(t, b, key, "on-postgres")
	logins := jsonRows(t, b.MustRun(t, "", "-o", "json", "audit", "logins", "--user", "alice"))
	if len(logins) == 0 || logins[0]["result"] != "success" {
		t.Fatalf("audit logins: %v", logins)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(b.MustRun(t, "", "-o", "json", "db", "status")), &st); err != nil {
		t.Fatal(err)
	}
	if st["engine"] != "postgres" || len(st["pending"].([]any)) != 0 || !strings.Contains(st["location"].(string), "search_path=jms_e2e_") {
		t.Fatalf("db status: %v", st)
	}

	// A single-node SQLite install, moved to PostgreSQL and served from there.
	old := startBastion(t, BastionOptions{})
	setUpAlice(t, old, s, key)
	execAsAlice(t, old, key, "on-sqlite")
	old.Stop()
	target := newPostgresSchema(t)
	out, stderr, err := old.Run(t, "db", "copy", "--from", "sqlite://"+old.DataDir+"/jms.db", "--to", target)
	if err != nil || !strings.Contains(stderr, "counts and checksums match") || !strings.Contains(out, "sessions") {
		t.Fatalf("db copy: %v\n%s%s", err, out, stderr)
	}
	if _, stderr, err := old.Run(t, "db", "copy", "--to", target); err == nil || !strings.Contains(stderr, "not empty") {
		t.Fatalf("a second copy onto the same target: %v %s", err, stderr)
	}
	old.opts.Env = append(old.opts.Env, "JMS_DATABASE="+target)
	old.Start()
	sessions := jsonRows(t, old.MustRun(t, "", "-o", "json", "session", "list"))
	if len(sessions) != 1 || sessions[0]["command"] != "echo on-sqlite" {
		t.Fatalf("sessions on the copy: %v", sessions)
	}
	execAsAlice(t, old, key, "on-the-copy")
	old.MustRun(t, "", "user", "add", "bob")
	s.WaitConnections(0, 15*time.Second)
}
