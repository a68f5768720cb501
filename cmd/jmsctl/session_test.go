package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jms-bastion/jms/store"
)

// runCLI runs jmsctl in-process on the data directory dir.
func runCLI(t *testing.T, dir string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	a := newApp(strings.NewReader(""), &out, &errb, []string{"JMS_DATA_DIR=" + dir})
	root := newRootCmd(a)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

// TestSessionListShowReplay lists, shows and replays session rows written
// as the proxy writes them, with a fixture recording.
func TestSessionListShowReplay(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	ctx := context.Background()
	st := initStore(t, dir)
	start := time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC)
	rel := filepath.Join("recordings", "2023-11-14", "aaaa1111-0000-4000-8000-000000000001.cast")
	fixture, err := os.ReadFile(filepath.Join("..", "..", "testdata", "recordings", "sample.cast"))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, filepath.Dir(rel)), 0o700)
	if err := os.WriteFile(filepath.Join(dir, rel), fixture, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := st.StartSession(ctx, store.NewSession{ID: "aaaa1111-0000-4000-8000-000000000001", User: "alice", Asset: "web1",
		Account: "root", Source: "10.0.0.9:50000", RecordingPath: rel, StartedAt: start}); err != nil {
		t.Fatal(err)
	}
	exit := 0
	if err := st.EndSession(ctx, "aaaa1111-0000-4000-8000-000000000001", store.SessionEnd{Status: store.StatusClosed, ExitStatus: &exit,
		Reason: "exited with status 0", RecordingSize: int64(len(fixture)), EndedAt: start.Add(9*time.Second + 600*time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.StartSession(ctx, store.NewSession{ID: "bbbb2222-0000-4000-8000-000000000002", Kind: store.SessionExec,
		User: "bob", Asset: "db1", Account: "postgres", Command: "uptime", StartedAt: start.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	out, _, err := runCLI(t, dir, "session", "list")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 ||
		!regexp.MustCompile(`^aaaa1111\s+alice\s+web1\s+root\s+shell\s+2023-11-14T22:13:20Z\s+10s\s+closed\s+0\s*$`).MatchString(lines[1]) ||
		!regexp.MustCompile(`^bbbb2222\s+bob\s+db1\s+postgres\s+exec\s.*\sactive\s*$`).MatchString(lines[2]) {
		t.Fatalf("list:\n%s", out)
	}
	// -o wide shows the ids whole and the org; --no-headers drops the header row.
	out, _, err = runCLI(t, dir, "session", "list", "-o", "wide", "--no-headers")
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 ||
		!regexp.MustCompile(`^default\s+aaaa1111-0000-4000-8000-000000000001\s+alice\s`).MatchString(lines[0]) {
		t.Fatalf("list -o wide --no-headers:\n%s", out)
	}

	out, _, err = runCLI(t, dir, "session", "list", "--active", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var active []store.Session
	if err := json.Unmarshal([]byte(out), &active); err != nil || len(active) != 1 || active[0].User != "bob" || active[0].Command != "uptime" {
		t.Fatalf("active json %s (%v)", out, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"session", "list", "--user", "bob"}, "bbbb2222"},
		{[]string{"session", "list", "--asset", "web1"}, "aaaa1111"},
		{[]string{"session", "list", "--since", "2023-11-14T23:00:00Z"}, "bbbb2222"},
	} {
		out, _, err := runCLI(t, dir, tc.args...)
		if lines := strings.Split(strings.TrimSpace(out), "\n"); err != nil || len(lines) != 2 || !strings.HasPrefix(lines[1], tc.want) {
			t.Errorf("%v: %q, %v", tc.args, out, err)
		}
	}

	out, _, err = runCLI(t, dir, "session", "show", "aaaa")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"source:", "10.0.0.9:50000", "end_reason:", "exited with status 0", "recording:", rel} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}

	out, _, err = runCLI(t, dir, "replay", "aaaa1111", "--cat")
	if err != nil {
		t.Fatal(err)
	}
	if want := "alice@web1:~$ ls\r\n\x1b[0m\x1b[01;34mdocs\x1b[0m  notes.txt  résumé.pdf\r\nalice@web1:~$ exit\r\n"; out != want {
		t.Fatalf("replay --cat = %q, want %q", out, want)
	}
	if _, _, err := runCLI(t, dir, "replay", "bbbb", "--cat"); err == nil || !strings.Contains(err.Error(), "has no recording") {
		t.Fatalf("replay of a session without recording: %v", err)
	}
}

// TestReplayOfSessionsWithoutTerminal: a forward or an SFTP session has
// no recording, and replay says where to look instead.
func TestReplayOfSessionsWithoutTerminal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	ctx := context.Background()
	st := initStore(t, dir)
	for _, ns := range []store.NewSession{
		{ID: "cccc3333-0000-4000-8000-000000000003", Kind: store.SessionForward, User: "bob", Asset: "db1", Account: "postgres", Target: "db1:5432"},
		{ID: "dddd4444-0000-4000-8000-000000000004", Kind: store.SessionSFTP, User: "bob", Asset: "db1", Account: "postgres"},
	} {
		if _, err := st.StartSession(ctx, ns); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	for id, want := range map[string]string{"cccc": "is a port forward to db1:5432", "dddd": "is an SFTP session"} {
		if _, _, err := runCLI(t, dir, "replay", id, "--cat"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("replay %s: %v, want %q", id, err, want)
		}
	}
}

// initStore runs jmsctl init in dir and opens its store, as jmsctl
// serve would, for tests that write rows the CLI then reads. The caller
// closes it.
func initStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	if _, _, err := runCLI(t, dir, "init"); err != nil {
		t.Fatal(err)
	}
	sealer, err := store.LoadSealer(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, "jms.db"), store.Options{Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	return st
}
