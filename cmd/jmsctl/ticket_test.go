package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/jms-bastion/jms/store"
)

// scriptCmds are the testscript commands of testdata/script beyond exec.
var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	// held-command USER ASSET ACCOUNT FILTER COMMAND…: open a review
	// ticket as a held session does.
	"held-command": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 5 {
			ts.Fatalf("usage: held-command USER ASSET ACCOUNT FILTER COMMAND...")
		}
		ctx := store.WithActor(context.Background(), "ssh:"+args[0])
		dir := ts.Getenv("JMS_DATA_DIR")
		sealer, err := store.LoadSealer(dir, "")
		ts.Check(err)
		st, err := store.Open(ctx, filepath.Join(dir, "jms.db"), store.Options{Sealer: sealer})
		ts.Check(err)
		defer st.Close()
		_, err = st.AddTicket(ctx, store.NewTicket{SessionID: "aaaa1111-0000-4000-8000-000000000001", User: args[0],
			Asset: args[1], Account: args[2], Filter: args[3], Command: strings.Join(args[4:], " ")})
		if neg != (err != nil) {
			ts.Fatalf("held-command: %v", err)
		}
	},
}

func TestParseAt(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{"", 0, false},
		{"90", 90 * time.Second, false},
		{"95.5", 95500 * time.Millisecond, false},
		{"1m30s", 90 * time.Second, false},
		{"1:30", 90 * time.Second, false},
		{"1:02:03", time.Hour + 2*time.Minute + 3*time.Second, false},
		{"0:01.5", 1500 * time.Millisecond, false},
		{"1:60", 0, true},
		{"1:2:3:4", 0, true},
		{"-5", 0, true},
		{"soon", 0, true},
	} {
		got, err := parseAt(tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("parseAt(%q) = %v, %v; want %v, bad %v", tt.in, got, err, tt.want, tt.bad)
		}
	}
}

func TestReplayAt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, _, err := runCLI(t, dir, "init"); err != nil {
		t.Fatal(err)
	}
	cast := filepath.Join("..", "..", "testdata", "recordings", "sample.cast")
	out, stderr, err := runCLI(t, dir, "replay", cast, "--cat", "--at", "1.9")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "alice@web1:~$ l") || !strings.HasPrefix(out, "\r\n") || !strings.HasSuffix(out, "exit\r\n") {
		t.Errorf("--cat --at 1.9 = %q", out)
	}
	// The wall clock of that moment, from the recording's timestamp
	// (1700000000 = 2023-11-14T22:13:20Z), on stderr apart from the output.
	if stderr != "replay: 1.9s into the session is 2023-11-14T22:13:21Z\n" {
		t.Errorf("--cat --at 1.9: stderr %q, want the moment's wall-clock time", stderr)
	}
	if _, stderr, _ := runCLI(t, dir, "replay", cast, "--cat"); stderr != "" {
		t.Errorf("--cat without --at: stderr %q", stderr)
	}
	// Playing from 9 s draws the screen as it was, then plays on.
	out, _, err = runCLI(t, dir, "replay", cast, "--at", "0:09", "--speed", "100")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "notes.txt") || !strings.HasSuffix(out, "exit\r\n") {
		t.Errorf("replay --at 0:09 = %q", out)
	}
	if _, _, err := runCLI(t, dir, "replay", cast, "--at", "1h"); err == nil || !strings.Contains(err.Error(), "the recording lasts 9.6s") {
		t.Errorf("--at past the end: %v", err)
	}
}
