package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// BenchmarkSFTPDownloadRatio downloads one file (JMS_BENCH_SFTP_MB megabytes, 500 by default)
// with OpenSSH sftp straight from the sshd asset and then through the bastion, and prints the
// ratio of the two speeds (goal: at least 0.8). scripts/bench-sftp.sh runs it with -benchtime 1x.
func BenchmarkSFTPDownloadRatio(tb *testing.B) {
	var t testing.TB = tb
	mb := 500
	if v, err := strconv.Atoi(os.Getenv("JMS_BENCH_SFTP_MB")); err == nil && v > 0 {
		mb = v
	}
	e := newTransferEnv(t)
	var cipher []string
	if c := os.Getenv("JMS_BENCH_SFTP_CIPHER"); c != "" {
		cipher = []string{"-c", c}
	}
	e.b.MustRun(t, "", "grant", "add", "files", "--user", "alice", "--asset", "web1", "--actions", "download")
	src, sum := bigFile(t, e.dir, int64(mb)<<20)
	dst := filepath.Join(t.TempDir(), "dst.bin")
	batch := filepath.Join(t.TempDir(), "batch")
	if err := os.WriteFile(batch, []byte(fmt.Sprintf("get %s %s\n", src, dst)), 0o600); err != nil {
		t.Fatal(err)
	}
	direct := func() time.Duration {
		args := append(append(append([]string{}, cipher...), sshBaseOptions...), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
			"-i", e.s.KeyFile, "-b", batch, "-P", strconv.Itoa(e.s.Port), "-o", "User="+e.acct, "127.0.0.1")
		os.Remove(dst)
		start := time.Now()
		if _, stderr, code := run(t, 10*time.Minute, "sftp", args...); code != 0 {
			t.Fatalf("direct sftp: exit %d, %s", code, stderr)
		}
		return time.Since(start)
	}
	bastion := func() time.Duration {
		os.Remove(dst)
		start := time.Now()
		if _, stderr, code := e.sftpWith(t, cipher, "alice@web1", fmt.Sprintf("get %s %s\n", src, dst)); code != 0 {
			t.Fatalf("sftp through the bastion: exit %d, %s", code, stderr)
		}
		return time.Since(start)
	}
	// Warm the page cache and the host key pin, then take the best of three of each.
	direct()
	bastion()
	best := func(f func() time.Duration) time.Duration {
		b := time.Duration(1<<63 - 1)
		for range 3 {
			b = min(b, f())
		}
		return b
	}
	d, b := best(direct), best(bastion)
	if got := fileSHA(t, dst); got != sum {
		t.Fatalf("downloaded sha256 %s, want %s", got, sum)
	}
	size := float64(int64(mb) << 20)
	ratio := d.Seconds() / b.Seconds()
	tb.ReportMetric(ratio, "ratio")
	fmt.Printf("sftp download of %d MB: direct %s (%.0f MB/s), through the bastion %s (%.0f MB/s): ratio %.2f\n",
		mb, d.Round(time.Millisecond), size/1e6/d.Seconds(), b.Round(time.Millisecond), size/1e6/b.Seconds(), ratio)
}
