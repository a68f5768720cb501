package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jms-bastion/jms/store"
)

// TestSessionIDPrefixes: tables show session ids as their shortest unique
// prefix of 8 or more characters, and every command that takes a session
// id takes such a prefix, or says which sessions an ambiguous one matches.
func TestSessionIDPrefixes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, _, err := runCLI(t, dir, "init"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sealer, err := store.LoadSealer(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, filepath.Join(dir, "jms.db"), store.Options{Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC)
	ids := []string{"cafe1234-aaaa-4000-8000-000000000001", "cafe1234-bbbb-4000-8000-000000000002", "d00d0000-0000-4000-8000-000000000003"}
	for i, id := range ids {
		if _, err := st.StartSession(ctx, store.NewSession{ID: id, User: "alice", Asset: "web1", Account: "root",
			StartedAt: start.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range ids[:2] {
		if _, err := st.AddCommandEvent(ctx, store.CommandEvent{SessionID: id, At: start, User: "alice", Asset: "web1",
			Account: "root", Command: "uptime " + id[9:13], Verdict: store.VerdictAllow}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	out, _, err := runCLI(t, dir, "session", "list")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\ncafe1234-a  ", "\ncafe1234-b  ", "\nd00d0000  "} {
		if !strings.Contains(out, want) {
			t.Errorf("session list: no %q in\n%s", strings.TrimSpace(want), out)
		}
	}
	out, _, err = runCLI(t, dir, "audit", "commands")
	if err != nil || !strings.Contains(out, "cafe1234-a ") || strings.Contains(out, "cafe1234-aaaa") {
		t.Errorf("audit commands: session column not short: %v\n%s", err, out)
	}

	// Completion offers the same unique prefixes (it offered 8 characters,
	// ambiguous here).
	var cb bytes.Buffer
	root := newRootCmd(newApp(strings.NewReader(""), &cb, io.Discard, []string{"JMS_DATA_DIR=" + dir}))
	root.SetOut(&cb)
	root.SetArgs([]string{"__complete", "session", "show", ""})
	err = root.ExecuteContext(ctx)
	out = cb.String()
	for _, want := range []string{"\ncafe1234-a\t", "\ncafe1234-b\t", "d00d0000\t"} {
		if err != nil || !strings.Contains("\n"+out, want) {
			t.Errorf("completion: no %q in %q (%v)", want, out, err)
		}
	}

	// A unique prefix of 4 or more characters names one session.
	for _, args := range [][]string{
		{"session", "show", "d00d"},
		{"session", "show", "cafe1234-b"},
	} {
		if out, _, err := runCLI(t, dir, args...); err != nil || !strings.Contains(out, "id:") {
			t.Errorf("%v: %v\n%s", args, err, out)
		}
	}
	out, _, err = runCLI(t, dir, "audit", "commands", "--session", "cafe1234-b")
	if err != nil || !strings.Contains(out, "uptime bbbb") || strings.Contains(out, "uptime aaaa") {
		t.Errorf("audit commands --session PREFIX: %v\n%s", err, out)
	}
	out, _, err = runCLI(t, dir, "audit", "commands", "--session", ids[0], "-o", "csv")
	if err != nil || !strings.Contains(out, "uptime aaaa") || !strings.Contains(out, ids[0]) {
		t.Errorf("audit commands --session ID -o csv: %v\n%s", err, out)
	}

	// An ambiguous prefix names the sessions it matches, everywhere.
	for _, args := range [][]string{
		{"session", "show", "cafe"},
		{"session", "kill", "cafe1234", "--no-wait"},
		{"session", "watch", "cafe"},
		{"replay", "cafe", "--cat"},
		{"audit", "commands", "--session", "cafe"},
		{"audit", "transfers", "--session", "cafe"},
	} {
		_, _, err := runCLI(t, dir, args...)
		if err == nil || !strings.Contains(err.Error(), "ambiguous") ||
			!strings.Contains(err.Error(), ids[0]) || !strings.Contains(err.Error(), ids[1]) {
			t.Errorf("%v: %v, want ambiguous naming %s and %s", args, err, ids[0], ids[1])
		}
	}
}
