package e2e

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jms-bastion/jms/bastion/database/dbtest"
)

// A database console's recording goes to the object store as an SSH
// session's does: stored once the console ends, gone from the spool,
// replayed from the bucket.
func TestDatabaseConsoleRecordingInObjectStore(t *testing.T) {
	t.Parallel()
	requireBinaries(t, "ssh", "tmux")
	requireVersitygw(t)
	fx := dbtest.Fixture(t, "postgresql")
	s3 := startS3(t, recBucket)
	b := startBastion(t, BastionOptions{Config: s3.JmsConfig(recBucket, "rec"), Env: s3.Env()})
	e := &recEnv{b: b, s3: s3, key: ClientKey(t)}
	b.MustRun(t, "", "user", "add", "alice", "--key", e.key.PubPath)
	b.MustRun(t, "", "asset", "add", "db1", "--platform", "postgresql", "--address", fx.Host, "--port", strconv.Itoa(fx.Port),
		"--database", fx.Database)
	b.MustRun(t, fx.Password+"\n", "account", "add", "db1", fx.User, "--password-stdin")
	b.MustRun(t, "", "grant", "add", "alice-db", "--user", "alice", "--asset", "db1", "--account", "@all")

	marker := "marker-db-" + randomToken(4)
	l := b.Login("alice@db1")
	l.KeyFile, l.TTY = e.key.Path, true
	term := termSSH(t, l, TermOptions{Width: 100, Height: 30})
	term.waitForScreen(regexp.MustCompile(`(?m)^db1> ?$`), 30*time.Second)
	term.Line("SELECT '" + marker + "' AS m; ") // a space after ';' (tmux's separator)
	term.waitForScreen(regexp.MustCompile(`\(1 row\)`), 30*time.Second)
	term.Line(`\q`)
	if status := term.Wait(30 * time.Second); status != 0 {
		t.Fatalf("console exit status %d", status)
	}

	var rows []struct {
		ID   string `json:"id"`
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal([]byte(b.MustRun(t, "", "session", "list", "-o", "json")), &rows); err != nil || len(rows) == 0 {
		t.Fatalf("sessions: %v", err)
	}
	last := rows[len(rows)-1]
	if last.Kind != "sql" {
		t.Fatalf("the last session is a %q, want the console (sql)", last.Kind)
	}
	e.waitState(t, last.ID, "stored", 90*time.Second)
	keys := e.s3.Objects(t, recBucket, "rec/")
	if !slices.ContainsFunc(keys, func(k string) bool { return strings.Contains(k, last.ID) }) {
		t.Fatalf("no object of session %s in %v", last.ID, keys)
	}
	if out := b.MustRun(t, "", "replay", last.ID, "--cat"); !strings.Contains(out, marker) {
		t.Fatalf("replay --cat from the object store:\n%s", out)
	}
	if out := b.MustRun(t, "", "recording", "verify", last.ID); !strings.Contains(out, " ok ") {
		t.Fatalf("verify: %s", out)
	}
}
