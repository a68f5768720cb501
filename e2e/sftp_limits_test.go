package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
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

// TestSFTPLargeRequestsUpstream: the bastion learns from the asset's sftp-server
// (limits@openssh.com) that it may read and write 255 KiB per request, and does, towards the
// asset as well: the sftp-server's own log (-l DEBUG1) shows READ and WRITE requests of 261120
// bytes, and a file of an odd size goes up and down byte-exact.
func TestSFTPLargeRequestsUpstream(t *testing.T) {
	t.Parallel()
	logDir, err := os.MkdirTemp("", "jms-e2e-sftp-log-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(logDir) })
	logFile := filepath.Join(logDir, "sftp-server.log")
	if err := os.WriteFile(logFile, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(logFile, 0o666); err != nil {
		t.Fatal(err)
	}
	server := "/usr/lib/openssh/sftp-server"
	if _, err := os.Stat(server); err != nil {
		t.Skipf("no %s: %v", server, err)
	}
	// The subsystem runs through the account's shell, which sends sftp-server's log (-e) to the file.
	e := newTransferEnvWith(t, sshdOptions{Subsystem: server + " -e -l DEBUG1 2>>" + logFile})
	e.b.MustRun(t, "", "grant", "add", "files", "--user", "alice", "--asset", "web1", "--actions", "upload,download")
	src, sum := bigFile(t, t.TempDir(), 12<<20+12345)
	remote := filepath.Join(e.dir, "big-upstream")
	back := filepath.Join(t.TempDir(), "back.bin")
	_, stderr, code := e.sftp(t, "alice@web1", fmt.Sprintf("put %s %s\nget %s %s\n", src, remote, remote, back))
	if code != 0 {
		t.Fatalf("sftp: exit %d\n%s", code, tail(stderr, 2000))
	}
	if got := fileSHA(t, remote); got != sum {
		t.Errorf("uploaded sha256 %s, want %s", got, sum)
	}
	if got := fileSHA(t, back); got != sum {
		t.Errorf("downloaded sha256 %s, want %s", got, sum)
	}
	log, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	sizes := requestSizes(string(log), remote)
	t.Logf("requests towards the asset: %v", sizes)
	for _, op := range []string{"read", "write"} {
		if sizes[op][261120] == 0 {
			t.Errorf("no %s request of 261120 bytes in the sftp-server's log: %v\n%s", op, sizes[op], tail(string(log), 3000))
		}
		for n := range sizes[op] {
			if n > 261120 {
				t.Errorf("a %s request of %d bytes, more than the asset's limits", op, n)
			}
		}
	}
	// 12 MiB in 255 KiB requests: 49 of them each way, and a few reads more past the end that
	// the read-ahead asks for before it knows where the file ends; in 32 KiB requests it would be
	// 385.
	for _, op := range []string{"read", "write"} {
		n := 0
		for _, c := range sizes[op] {
			n += c
		}
		if n > 120 {
			t.Errorf("%d %s requests for 12 MiB, want about 50", n, op)
		}
	}
}

var requestLine = regexp.MustCompile(`request \d+: (read|write) "([^"]*)" \(handle \d+\) off \d+ len (\d+)`)

// requestSizes counts the READ and WRITE requests on path in sftp-server's debug log, by
// operation and length.
func requestSizes(log, path string) map[string]map[int]int {
	out := map[string]map[int]int{"read": {}, "write": {}}
	for _, m := range requestLine.FindAllStringSubmatch(log, -1) {
		if m[2] != path {
			continue
		}
		n, _ := strconv.Atoi(m[3])
		out[m[1]][n]++
	}
	return out
}
