package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkSFTPRatio moves one file (JMS_BENCH_SFTP_MB megabytes, 500 by default) with OpenSSH
// sftp straight to and from the sshd asset and through the bastion, download and upload, and
// prints the ratio of the speeds each way (goal: at least 0.8). The runs are interleaved (direct
// download, bastion download, direct upload, bastion upload, three times) so that both paths see
// the same load, and each figure is the median of three. scripts/bench-sftp.sh runs it with
// -benchtime 1x.
func BenchmarkSFTPRatio(tb *testing.B) {
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
	// scripts/bench-sftp.sh with JMS_BENCH_SFTP_LINK: the client's packets
	// from and to this address cross a shaped link.
	if b := os.Getenv("JMS_BENCH_SFTP_BIND"); b != "" {
		cipher = append(cipher, "-o", "BindAddress="+b)
	}
	e.b.MustRun(t, "", "grant", "add", "files", "--user", "alice", "--asset", "web1", "--actions", "download,upload")
	src, sum := bigFile(t, e.dir, int64(mb)<<20)
	local := filepath.Join(t.TempDir(), "local.bin")
	remote := filepath.Join(e.dir, "up.bin")
	get := fmt.Sprintf("get %s %s\n", src, local)
	put := fmt.Sprintf("put %s %s\n", src, remote)
	mcpu := map[string][]time.Duration{} // the whole machine's busy CPU time per run
	acpu := map[string][]time.Duration{} // the asset's (sshd's and sftp-server's) CPU time per run
	// assetCPU returns the asset's CPU time once the run's sessions on it have ended.
	assetCPU := func() time.Duration { return e.s.CPU() }
	direct := func(batch string) time.Duration {
		f := filepath.Join(t.TempDir(), "batch")
		if err := os.WriteFile(f, []byte(batch), 0o600); err != nil {
			t.Fatal(err)
		}
		args := append(append(append([]string{}, cipher...), sshBaseOptions...), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
			"-i", e.s.KeyFile, "-b", f, "-P", strconv.Itoa(e.s.Port), "-o", "User="+e.acct, "127.0.0.1")
		os.Remove(local)
		asset0 := assetCPU()
		busy0 := machineBusy(t)
		start := time.Now()
		if _, stderr, code := run(t, 10*time.Minute, "sftp", args...); code != 0 {
			t.Fatalf("direct sftp: exit %d, %s", code, stderr)
		}
		d := time.Since(start)
		mcpu["direct "+batch] = append(mcpu["direct "+batch], machineBusy(t)-busy0)
		acpu["direct "+batch] = append(acpu["direct "+batch], assetCPU()-asset0)
		return d
	}
	cpu := map[string][]time.Duration{} // serve's CPU time per bastion run, by batch
	bastion := func(batch string) time.Duration {
		os.Remove(local)
		asset0 := assetCPU()
		cpu0, busy0 := e.b.CPU(), machineBusy(t)
		start := time.Now()
		if _, stderr, code := e.sftpWith(t, cipher, "alice@web1", batch); code != 0 {
			t.Fatalf("sftp through the bastion: exit %d, %s", code, stderr)
		}
		d := time.Since(start)
		cpu[batch] = append(cpu[batch], e.b.CPU()-cpu0)
		mcpu["bastion "+batch] = append(mcpu["bastion "+batch], machineBusy(t)-busy0)
		acpu["bastion "+batch] = append(acpu["bastion "+batch], assetCPU()-asset0)
		return d
	}
	// Warm the page cache and the host key pin.
	direct(get)
	bastion(get)
	clear(cpu)
	clear(mcpu)
	clear(acpu)
	var dd, bd, du, bu []time.Duration
	for range 3 {
		dd = append(dd, direct(get))
		bd = append(bd, bastion(get))
		if got := fileSHA(t, local); got != sum {
			t.Fatalf("downloaded sha256 %s, want %s", got, sum)
		}
		du = append(du, direct(put))
		bu = append(bu, bastion(put))
		if got := fileSHA(t, remote); got != sum {
			t.Fatalf("uploaded sha256 %s, want %s", got, sum)
		}
	}
	size := float64(int64(mb) << 20)
	report := func(what string, d, b []time.Duration) {
		md, mb2 := median(d), median(b)
		ratio := md.Seconds() / mb2.Seconds()
		tb.ReportMetric(ratio, what+"-ratio")
		fmt.Printf("sftp %s of %d MB, medians of 3: direct %s (%.0f MB/s; runs %s), through the bastion %s (%.0f MB/s; runs %s): ratio %.2f\n",
			what, mb, md.Round(time.Millisecond), size/1e6/md.Seconds(), durs(d), mb2.Round(time.Millisecond), size/1e6/mb2.Seconds(), durs(b), ratio)
	}
	report("download", dd, bd)
	report("upload", du, bu)
	// The CPU time of jmsctl serve per MB moved (the whole session: login, SFTP, both SSH
	// connections), which the load of the machine changes much less than the speeds.
	perMB := func(what string, d []time.Duration) {
		fmt.Printf("sftp %s: jmsctl serve CPU per MB, median of 3: %.2f ms (runs %s)\n",
			what, float64(median(d).Microseconds())/1000/float64(mb), durs(d))
	}
	perMB("download", cpu[get])
	perMB("upload", cpu[put])
	// The whole machine's busy CPU per MB each way (client, bastion, asset and anything else
	// running): on loopback, with every process on the same cores, a path that needs more CPU
	// per MB cannot go faster than the cores allow.
	machine := func(what, batch string) {
		d, b := median(mcpu["direct "+batch]), median(mcpu["bastion "+batch])
		fmt.Printf("sftp %s: the machine's busy CPU per MB, median of 3: direct %.2f ms, through the bastion %.2f ms (%.2f×)\n",
			what, float64(d.Microseconds())/1000/float64(mb), float64(b.Microseconds())/1000/float64(mb), b.Seconds()/d.Seconds())
	}
	machine("download", get)
	machine("upload", put)
	// The asset's share through the bastion (sshd and sftp-server, reaped when each run's
	// connection ends): what the size of the bastion's requests to it changes, and little else.
	// Only to compare trees: the direct runs' figure is left out, as their session processes'
	// CPU does not show in sshd's count (60–90 ms per run whatever the size, not understood).
	asset := func(what, batch string) {
		b := median(acpu["bastion "+batch])
		fmt.Printf("sftp %s: the asset's sshd and sftp-server CPU per MB through the bastion, median of 3: %.2f ms (runs %s)\n",
			what, float64(b.Microseconds())/1000/float64(mb), durs(acpu["bastion "+batch]))
	}
	asset("download", get)
	asset("upload", put)
	// The machine-readable summary (name value unit) for the bench table.
	fmt.Printf("sftp_download_ratio %.2f ratio\nsftp_upload_ratio %.2f ratio\n",
		median(dd).Seconds()/median(bd).Seconds(), median(du).Seconds()/median(bu).Seconds())
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func durs(d []time.Duration) string {
	out := ""
	for i, x := range d {
		if i > 0 {
			out += " "
		}
		out += x.Round(10 * time.Millisecond).String()
	}
	return out
}

// machineBusy is the time every CPU of the machine has spent busy since
// boot (/proc/stat: user, nice, system, irq and softirq; guest time is
// inside user), in clock ticks of 10 ms.
func machineBusy(t testing.TB) time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	var busy int64
	for i, f := range strings.Fields(line)[1:] {
		if i > 6 {
			break
		}
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			t.Fatalf("/proc/stat: %q: %v", line, err)
		}
		switch i {
		case 0, 1, 2, 5, 6:
			busy += v
		}
	}
	return time.Duration(busy) * 10 * time.Millisecond
}
