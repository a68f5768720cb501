package e2e

// The data directory belongs to one `jmsctl serve`: a second one on the same directory exits
// at once, and the first one's live sessions stay as they are.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func sessionJSON(t *testing.T, b *Bastion, id string) map[string]any {
	t.Helper()
	var row map[string]any
	out := b.MustRun(t, "", "session", "show", id, "-o", "json")
	if err := json.Unmarshal([]byte(out), &row); err != nil {
		t.Fatalf("session show %s: %v\n%s", id, err, out)
	}
	return row
}

// TestServeSecondOnSameDataDir: a second serve on the same data directory (and address, as
// a careless restart would do) exits non-zero with one clear line, and does not mark the
// first server's live session interrupted; the session then ends normally.
func TestServeSecondOnSameDataDir(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	term := termSSH(t, e.keyLogin("alice@web1"), TermOptions{})
	term.waitForScreen(regexp.MustCompile(`\$ ?$`), 15*time.Second)
	id := activeSession(t, e.b)

	for _, listen := range []string{e.b.Addr, "127.0.0.1:0"} {
		stdout, stderr, err := e.b.Run(t, "serve", "--listen", listen)
		if err == nil {
			t.Fatalf("a second serve on %s exited 0:\n%s%s", listen, stdout, stderr)
		}
		lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "Error: another jmsctl serve (pid ") ||
			!strings.Contains(lines[0], e.b.DataDir) {
			t.Fatalf("second serve on %s said:\n%s", listen, stderr)
		}
		if row := sessionJSON(t, e.b, id); row["status"] != "active" {
			t.Fatalf("the first server's live session became %v", row["status"])
		}
	}
	term.Line("echo still-here")
	term.waitForScreen(regexp.MustCompile(`(?m)^still-here`), 10*time.Second)
	term.Line("exit")
	if !waitUntil(15*time.Second, func() bool { return sessionJSON(t, e.b, id)["status"] == "closed" }) {
		t.Fatalf("the session did not end normally: %v", sessionJSON(t, e.b, id))
	}
	e.s.WaitConnections(0, 15*time.Second)
}

// TestInterruptedSessionDigest: a session a crash left open is closed at the next start with
// the size and SHA-256 of the recording it left.
func TestInterruptedSessionDigest(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	term := termSSH(t, e.keyLogin("alice@web1"), TermOptions{})
	term.waitForScreen(regexp.MustCompile(`\$ ?$`), 15*time.Second)
	term.Line("echo before-crash")
	term.waitForScreen(regexp.MustCompile(`(?m)^before-crash`), 10*time.Second)
	id := activeSession(t, e.b)
	e.b.Kill()
	e.b.Start()
	row := sessionJSON(t, e.b, id)
	if row["status"] != "interrupted" {
		t.Fatalf("status %v, want interrupted", row["status"])
	}
	path, _ := row["recording_path"].(string)
	if !filepath.IsAbs(path) {
		path = filepath.Join(e.b.DataDir, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if size, _ := row["recording_size"].(float64); int64(size) != int64(len(b)) || row["recording_sha256"] != hex.EncodeToString(sum[:]) {
		t.Fatalf("interrupted session has size %v sha256 %v; the file has %d bytes, %x", row["recording_size"], row["recording_sha256"], len(b), sum)
	}
	e.s.WaitConnections(0, 15*time.Second)
}
