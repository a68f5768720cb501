package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/jms-bastion/jms/store"
)

// hostile is a login name as an attacker sends it: set the window title,
// ring the bell, clear the screen, and a C1 CSI and a lone 0x9b byte for
// 8-bit terminals.
const hostile = "evil\x1b]0;owned\x07\x1b[2J\u009b6n\x9b5n"

// rawControl returns the first control character (C0 but \n, DEL, C1) or
// invalid byte in out, or "" when there is none.
func rawControl(out string) string {
	for i, r := range out {
		switch {
		case r == utf8.RuneError:
			return out[i : i+1]
		case r == '\n':
		case r < 0x20, r >= 0x7f && r <= 0x9f:
			return string(r)
		}
	}
	return ""
}

// TestListingsEscapeControls records a login, a command and a session
// with escape sequences in them, as an anonymous client or a person in a
// session can, and checks that no table, show or CSV/YAML/JSON listing
// puts one raw on the admin's terminal, while Chinese text stays as it is.
func TestListingsEscapeControls(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	ctx := context.Background()
	st := initStore(t, dir)
	if err := st.AddLoginEvent(ctx, store.LoginEvent{User: hostile, Source: "192.0.2.7", Method: "password",
		Result: store.LoginFailure, Reason: "unknown user\r\x1b[1Aforged line"}); err != nil {
		t.Fatal(err)
	}
	id := "cccc3333-0000-4000-8000-000000000003"
	if _, err := st.StartSession(ctx, store.NewSession{ID: id, Kind: store.SessionExec, User: "alice", Asset: "web1",
		Account: "root", Command: "echo 你好\x1b]52;c;cHduZWQ=\x07", Source: "192.0.2.7:5000"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddCommandEvent(ctx, store.CommandEvent{SessionID: id, User: "alice", Asset: "web1", Account: "root",
		Command: "printf '\x1b[21t' # 你好", Verdict: store.VerdictAllow}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	for _, args := range [][]string{
		{"audit", "logins"},
		{"audit", "logins", "-o", "csv"},
		{"audit", "logins", "-o", "yaml"},
		{"audit", "logins", "-o", "json"},
		{"audit", "commands"},
		{"audit", "commands", "-o", "csv"},
		{"audit", "commands", "-o", "yaml"},
		{"session", "list"},
		{"session", "show", id},
		{"session", "show", id, "-o", "csv"},
		{"session", "show", id, "-o", "yaml"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			out, errOut, err := runCLI(t, dir, args...)
			if err != nil {
				t.Fatalf("%v: %s", err, errOut)
			}
			if c := rawControl(out); c != "" {
				t.Fatalf("raw %q in the output:\n%q", c, out)
			}
			if args[0] == "audit" && args[1] == "commands" || args[0] == "session" && args[1] == "show" {
				if !strings.Contains(out, "你好") && !strings.Contains(out, `\u4f60\u597d`) {
					t.Fatalf("the Chinese text is lost:\n%s", out)
				}
			}
		})
	}

	out, _, err := runCLI(t, dir, "audit", "logins")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `evil\x1b]0;owned\x07\x1b[2J\u009b6n\x9b5n`) {
		t.Fatalf("the login name is not written out visibly:\n%s", out)
	}
	out, _, err = runCLI(t, dir, "session", "show", id)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `echo 你好\x1b]52;c;cHduZWQ=\x07`) {
		t.Fatalf("the command is not shown with its escapes written out:\n%s", out)
	}
}

func TestErrorLineEscapesControls(t *testing.T) {
	err := fmt.Errorf("line 3: comment: %s is too long\nsecond line", "x\x1b]0;owned\x07\u009b6n")
	want := `line 3: comment: x\x1b]0;owned\x07\u009b6n is too long; second line`
	if got := oneLine(err); got != want {
		t.Errorf("oneLine = %q, want %q", got, want)
	}
}
