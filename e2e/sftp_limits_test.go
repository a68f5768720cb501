package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSFTPLargeRequests: OpenSSH's sftp learns from the bastion (limits@openssh.com) that it may
// read and write 255 KiB per request, as it does from sshd's sftp-server, and a file of an odd
// size goes up and down byte-exact with those requests, with small ones (-B 32768) and with one
// request in flight (-R 1).
func TestSFTPLargeRequests(t *testing.T) {
	t.Parallel()
	e := newTransferEnv(t)
	e.b.MustRun(t, "", "grant", "add", "files", "--user", "alice", "--asset", "web1", "--actions", "upload,download")
	src, sum := bigFile(t, t.TempDir(), 12<<20+12345)
	for _, tt := range []struct {
		name  string
		extra []string
		want  string // in sftp -vvv's output
	}{
		{"default", nil, "server upload/download buffer sizes 261120 / 261120; using 261120 / 261120"},
		{"small requests", []string{"-B", "32768"}, "Remote version: 3"},
		{"one in flight", []string{"-R", "1"}, "server upload/download buffer sizes 261120 / 261120; using 261120 / 261120"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			remote := filepath.Join(e.dir, "big-"+strings.ReplaceAll(tt.name, " ", "-"))
			back := filepath.Join(t.TempDir(), "back.bin")
			extra := append([]string{"-vvv"}, tt.extra...)
			_, stderr, code := e.sftpWith(t, extra, "alice@web1", fmt.Sprintf("put %s %s\nget %s %s\n", src, remote, remote, back))
			if code != 0 {
				t.Fatalf("sftp: exit %d\n%s", code, tail(stderr, 2000))
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("sftp -vvv does not say %q:\n%s", tt.want, tail(stderr, 4000))
			}
			if tt.extra != nil && tt.extra[0] == "-B" && strings.Contains(stderr, "using 261120") {
				t.Errorf("sftp -B 32768 uses large requests")
			}
			if got := fileSHA(t, remote); got != sum {
				t.Errorf("uploaded sha256 %s, want %s", got, sum)
			}
			if got := fileSHA(t, back); got != sum {
				t.Errorf("downloaded sha256 %s, want %s", got, sum)
			}
			os.Remove(remote)
		})
	}
}
