package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jms-bastion/jms/bastion"
	"github.com/jms-bastion/jms/config"
	"github.com/jms-bastion/jms/store"
	gossh "golang.org/x/crypto/ssh"
)

// TestRunRemote runs commands as the bastion does for `ssh carol@bastion
// jmsctl …`: on serve's open store, which stays open; with none of the
// process's environment; refusing local commands, other data, bastion
// files in one line with status 1; changes
// audited as ssh:carol from her address.
func TestRunRemote(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, errOut, err := runCLI(t, dir, "init"); err != nil {
		t.Fatalf("init: %v\n%s", err, errOut)
	}
	t.Setenv("JMS_ORG", "no-such-org") // serve's environment: not the command's
	t.Setenv("JMS_DATA_DIR", "/nonexistent")
	ctx := context.Background()
	cfg, err := config.Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := store.LoadSealer(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, cfg.StoreLocation(), store.Options{Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	pub, pub2 := newPublicKey(t), newPublicKey(t)
	tests := []struct {
		args       []string
		stdin      string
		status     int
		out, inErr string
	}{
		{args: nil, status: 0, out: "Usage:"}, // never serve's own os.Args
		{args: []string{"--help"}, status: 0, out: "Usage:"},
		{args: []string{"version"}, status: 0, out: "jmsctl"},
		{args: []string{"serve"}, status: 1, inErr: "jmsctl serve runs on the bastion machine itself"},
		{args: []string{"server", "list"}, status: 1, inErr: "not over SSH"},
		{args: []string{"db", "status"}, status: 1, inErr: "not over SSH"},
		{args: []string{"--data-dir", "/tmp", "user", "list"}, status: 1, inErr: "--data-dir is not available over SSH"},
		{args: []string{"user", "list", "--database", "sqlite:///tmp/x.db"}, status: 1, inErr: "--database is not available over SSH"},
		{args: []string{"asset", "import", "/etc/passwd", "--format", "csv"}, status: 1, inErr: "reads no file on the bastion machine"},
		{args: []string{"asset", "import", "-", "--format", "csv"}, stdin: "name,address\nweb1,10.0.0.1\n", status: 0, out: "1 added"},
		{args: []string{"-o", "json", "asset", "list"}, status: 0, out: `"name": "web1"`},
		{args: []string{"audit", "operations", "--user", "carol"}, status: 0, out: "ssh:carol from 10.0.0.5"},
		// Public keys come over stdin ("-"), as nothing else can reach jmsctl over SSH.
		{args: []string{"user", "add", "dave"}, status: 0, out: "dave"},
		{args: []string{"user", "key", "add", "dave", "/root/.ssh/id_ed25519.pub"}, status: 1, inErr: "reads no file on the bastion machine"},
		{args: []string{"user", "key", "add", "dave", "-"}, stdin: "# dave's laptop\n" + pub + "\n", status: 0, out: "Added key SHA256:"},
		{args: []string{"user", "key", "add", "dave", "-"}, stdin: "not a key\n", status: 1, inErr: "stdin line 1:"},
		{args: []string{"user", "add", "erin", "--key", "-"}, stdin: pub2 + "\n", status: 0, out: "erin"},
		{args: []string{"user", "add", "frank", "--key", "-", "--password-stdin"}, stdin: pub + "\n", status: 1, inErr: "both read stdin"},
		{args: []string{"asset", "trust", "web1", "--key", "-"}, stdin: "10.0.0.1 " + pub + "\n", status: 0, out: "Pinned host key ssh-ed25519 SHA256:"},
		{args: []string{"asset", "trust", "web1", "--key", "-"}, stdin: strings.Repeat("#", 2<<20), status: 1, inErr: "too much for public keys"},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		status := runRemote(ctx, cfg, st, bastion.AdminRequest{User: "carol", Role: "admin", Source: "10.0.0.5",
			Args: tt.args, Stdin: strings.NewReader(tt.stdin), Stdout: &out, Stderr: &errOut})
		if status != tt.status || !strings.Contains(out.String(), tt.out) || !strings.Contains(errOut.String(), tt.inErr) {
			t.Errorf("jmsctl %q: status %d\nstdout: %s\nstderr: %s\nwant status %d, stdout with %q, stderr with %q",
				tt.args, status, out.String(), errOut.String(), tt.status, tt.out, tt.inErr)
		}
		if tt.status != 0 && strings.Count(strings.TrimSpace(errOut.String()), "\n") != 0 {
			t.Errorf("jmsctl %q: stderr is not one line: %q", tt.args, errOut.String())
		}
	}
	// serve runs the commands of several people at once.
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			var out, errOut bytes.Buffer
			args := []string{"-o", "json", "asset", "list"}
			if i%2 == 1 {
				args = []string{"asset", "add", fmt.Sprintf("app%d", i), "--address", "10.0.1.1"}
			}
			if status := runRemote(ctx, cfg, st, bastion.AdminRequest{User: "carol", Role: "admin", Source: "10.0.0.5",
				Args: args, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut}); status != 0 {
				t.Errorf("jmsctl %q at once: %d %s", args, status, errOut.String())
			}
		})
	}
	wg.Wait()
	if _, err := st.ListUsers(ctx); err != nil {
		t.Errorf("serve's store after the commands: %v", err)
	}
}

// newPublicKey makes an ed25519 key and returns its authorized_keys line.
func newPublicKey(t *testing.T) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(gossh.MarshalAuthorizedKey(signer.PublicKey())))
}
