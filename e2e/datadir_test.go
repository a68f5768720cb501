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

// TestRekeyWhileServing: `jmsctl secret rekey` runs while the server runs; a person then enrols
// in MFA at login (the server seals her seed). Once the old key is gone for good, she still
// logs in with her codes: the server sealed with the new key, not the one it started with.
func TestRekeyWhileServing(t *testing.T) {
	t.Parallel()
	requireBinaries(t, "ssh")
	b := startBastion(t, BastionOptions{Config: "mfa: required\n"})
	key := ClientKey(t)
	b.MustRun(t, "", "user", "add", "dave", "--key", key.PubPath)
	if out := b.MustRun(t, "", "secret", "rekey"); !strings.Contains(out, "Re-sealed") {
		t.Fatalf("secret rekey: %s", out)
	}
	l := b.Login("dave")
	l.KeyFile = key.Path
	l.Options = []string{"-o", "LogLevel=INFO"}
	var secret string
	got, _ := expectSSH(t, l, []Step{{"OTP code:", func(screen string) string {
		m := enrolSecretRE.FindStringSubmatch(screen)
		if m == nil {
			t.Errorf("no secret on the screen:\n%s", screen)
			return ""
		}
		secret = m[1]
		return code(t, secret, 0)("")
	}}, Type("Press Enter once you have saved them:", "")}, "no-such-asset")
	if !strings.Contains(got, "Recovery codes") {
		t.Fatalf("enrolment:\n%s", got)
	}
	var uses []map[string]any
	if err := json.Unmarshal([]byte(b.MustRun(t, "", "-o", "json", "secret", "status")), &uses); err != nil {
		t.Fatal(err)
	}
	// Two envelopes: her seed and the cluster's host key (docs/cluster.md).
	if len(uses) == 0 || uses[0]["current"] != true || uses[0]["envelopes"] != float64(2) {
		t.Fatalf("the seed is not sealed with the current key: %v", uses)
	}
	b.Stop()
	if err := os.Remove(filepath.Join(b.DataDir, "secret.key.old")); err != nil {
		t.Fatal(err)
	}
	b.Start()
	got, rc := expectSSH(t, l, []Step{{"OTP code:", code(t, secret, 30*time.Second)}}, "no-such-asset")
	if strings.Contains(got, "Permission denied") || strings.Contains(got, "cannot open sealed secret") {
		t.Fatalf("login after the old key went: %d\n%s\nlog:\n%s", rc, got, b.Log())
	}
}
