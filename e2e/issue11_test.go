package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// TestSFTPRootMkdirAndAssetFolder: in the virtual root, mkdir says why it
// cannot (the root holds one folder per asset) where the sftp client
// shows it, and `ls /web1` lists the asset's / when she has one account
// there.
func TestSFTPRootMkdirAndAssetFolder(t *testing.T) {
	t.Parallel()
	e := newTransferEnv(t)
	e.b.MustRun(t, "", "grant", "add", "files", "--user", "alice", "--asset", "web1", "--actions", "upload,download,delete")

	out, stderr, code := e.sftp(t, "alice", "ls -1 /web1\n")
	if code != 0 || !strings.Contains(out, "tmp") || !strings.Contains(out, "etc") {
		t.Errorf("ls /web1 (exit %d): %q %q; want the asset's /", code, out, stderr)
	}
	out, stderr, code = e.sftp(t, "alice", "cd /web1\nls -1\n")
	if code != 0 || !strings.Contains(out, "tmp") {
		t.Errorf("cd /web1; ls (exit %d): %q %q; want the asset's /", code, out, stderr)
	}
	for _, dir := range []string{"/newdir", "newdir", "/web1"} {
		out, stderr, code = e.sftp(t, "alice", fmt.Sprintf("mkdir %s\n", dir))
		if code == 0 || !strings.Contains(stderr, "the root holds one folder per asset: mkdir inside /web1") {
			t.Errorf("mkdir %s at the root (exit %d): %q %q", dir, code, out, stderr)
		}
	}
	// Inside a folder, mkdir works.
	if out, stderr, code = e.sftp(t, "alice", fmt.Sprintf("mkdir /web1%s/made\n", e.dir)); code != 0 {
		t.Errorf("mkdir inside /web1 (exit %d): %q %q", code, out, stderr)
	}
	// put at the root says the same.
	out, stderr, code = e.sftp(t, "alice", fmt.Sprintf("put %s /x.txt\n", e.key.PubPath))
	if code == 0 || !strings.Contains(stderr, "the root holds one folder per asset: put inside /web1") {
		t.Errorf("put at the root (exit %d): %q %q", code, out, stderr)
	}

	// Several accounts on web1: one folder each, and /web1 says so.
	e.b.MustRun(t, "", "account", "add", "web1", "deploy", "--key", e.s.KeyFile)
	e.b.MustRun(t, "", "grant", "add", "files2", "--user", "alice", "--asset", "web1", "--account", "@all", "--actions", "download")
	out, stderr, code = e.sftp(t, "alice", "ls -1 /\n")
	if code != 0 || !strings.Contains(out, "web1@deploy") || !strings.Contains(out, "web1@"+e.acct) {
		t.Fatalf("ls / with two accounts on web1 (exit %d): %q %q", code, out, stderr)
	}
	out, stderr, code = e.sftp(t, "alice", "ls /web1\n")
	if want := "jms: web1 has one folder per account: /web1@deploy, /web1@" + e.acct; code == 0 || strings.Count(stderr, want) != 1 {
		t.Errorf("ls /web1 with two accounts (exit %d): %q %q; want %q once", code, out, stderr, want)
	}
}

// TestAmbiguousAddress: an address that two of her assets have names
// neither, and the bastion says which they are, for ssh and sftp alike.
func TestAmbiguousAddress(t *testing.T) {
	t.Parallel()
	e := newTransferEnv(t)
	e.b.MustRun(t, "", "grant", "add", "both", "--user", "alice", "--asset", "web1", "--asset", "web2")
	l := e.b.Login("alice")
	l.KeyFile = e.key.Path
	want := "jms: 127.0.0.1 is the address of web1 and web2: name one"
	res := runSSH(t, l, nil, "127.0.0.1", "echo ran")
	if res.ExitCode != 1 || res.Stdout != "" || strings.TrimSpace(res.Stderr) != want {
		t.Errorf("ssh alice@bastion 127.0.0.1: %+v; want %q", res, want)
	}
	if res := runSSH(t, l, nil, "web2", "echo ran"); res.ExitCode != 0 || res.Stdout != "ran\n" {
		t.Errorf("ssh alice@bastion web2: %+v", res)
	}
	_, stderr, code := e.sftp(t, "alice@127.0.0.1", "ls\n")
	if code == 0 || !strings.Contains(stderr, want) {
		t.Errorf("sftp alice@127.0.0.1 (exit %d): %q; want %q", code, stderr, want)
	}
	logins := e.b.MustRun(t, "", "audit", "logins", "--user", "alice")
	if !strings.Contains(logins, `address "127.0.0.1" of several assets`) {
		t.Errorf("the refusal is not in the login audit:\n%s", logins)
	}
}
