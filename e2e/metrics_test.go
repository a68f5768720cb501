package e2e

// The metrics endpoint of a real jmsctl serve, scraped over HTTP after
// real logins and sessions with the OpenSSH client; /readyz fails once
// the server drains.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// httpGet returns the status and body of GET url.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// metricValue returns the value of the sample named by series (name
// and labels as exposed), or -1.
func metricValue(body, series string) float64 {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return -1
	}
	return v
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	b, login := newKeyEnv(t, fmt.Sprintf("metrics_listen: 127.0.0.1:%d\n", port))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	b.MustRun(t, "", "filter", "add", "no-reboot", "--action", "deny", "--command", "reboot")

	if code, body := httpGet(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	if code, body := httpGet(t, base+"/readyz"); code != 200 || body != "ready\n" {
		t.Fatalf("/readyz: %d %q", code, body)
	}
	if r := runSSH(t, login, nil, "web1", "head -c 100000 /dev/zero | tr '\\0' x; echo; echo done"); r.ExitCode != 0 || !strings.Contains(r.Stdout, "done") {
		t.Fatalf("ssh: %+v", r)
	}
	if r := runSSH(t, login, nil, "web1", "reboot"); r.ExitCode == 0 {
		t.Fatalf("a denied command ran: %+v", r)
	}
	bad := login
	bad.KeyFile = ClientKey(t).Path
	if r := runSSH(t, bad, nil, "web1", "true"); r.ExitCode != 255 {
		t.Fatalf("an unknown key logged in: %+v", r)
	}

	// The refused key is counted when the server sees the connection
	// end, which may come after the client has exited.
	var body string
	waitEvery(10*time.Second, 50*time.Millisecond, func() bool {
		_, body = httpGet(t, base+"/metrics")
		return metricValue(body, `jms_logins_total{method="publickey",result="failure"}`) >= 1
	})
	checks := []struct {
		series string
		min    float64
	}{
		{`jms_logins_total{method="publickey",result="success"}`, 2},
		{`jms_logins_total{method="publickey",result="failure"}`, 1},
		{`jms_relayed_bytes_total{direction="out"}`, 100000},
		{`jms_recording_bytes_total`, 100000},
		{`jms_filter_verdicts_total{verdict="deny"}`, 1},
		{`jms_authorization_seconds_count{query="authorize"}`, 2},
		{`jms_live_sessions{kind="exec"}`, 0},
		{`jms_recording_queue_chunks`, 0},
		{`jms_draining`, 0},
		{`jms_db_open_connections`, 1},
	}
	for _, c := range checks {
		if v := metricValue(body, c.series); v < c.min {
			t.Errorf("%s = %v, want at least %v", c.series, v, c.min)
		}
	}
	if !regexp.MustCompile(`(?m)^jms_build_info\{goversion="go[^"]+",version="[^"]+"\} 1$`).MatchString(body) {
		t.Errorf("no jms_build_info in /metrics")
	}
	for _, leak := range []string{"alice", "web1", "127.0.0.1"} {
		if strings.Contains(body, leak) {
			t.Errorf("/metrics names %q: no per-user, per-asset or per-address labels", leak)
		}
	}

	// A live session shows by kind; draining makes /readyz fail.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := login.Command(ctx, "web1", "echo started; sleep 60")
	var out syncBuffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !waitUntil(15*time.Second, func() bool { return strings.Contains(out.String(), "started") }) {
		t.Fatal("the command did not start")
	}
	if _, body := httpGet(t, base+"/metrics"); metricValue(body, `jms_live_sessions{kind="exec"}`) != 1 {
		t.Errorf("jms_live_sessions{kind=\"exec\"} is not 1 with one command running")
	}
	b.Signal(syscall.SIGTERM)
	if !waitUntil(10*time.Second, func() bool { code, _ := httpGet(t, base+"/readyz"); return code == 503 }) {
		t.Fatal("/readyz did not fail while draining")
	}
	if code, body := httpGet(t, base+"/readyz"); code != 503 || body != "not ready: draining\n" {
		t.Errorf("/readyz while draining: %d %q", code, body)
	}
	if _, body := httpGet(t, base+"/metrics"); metricValue(body, "jms_draining") != 1 {
		t.Errorf("jms_draining is not 1 while draining")
	}
	b.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	b.WaitExit(45 * time.Second)
}

// TestMetricsTransfers: SFTP downloads and uploads count as relayed
// bytes, each way.
func TestMetricsTransfers(t *testing.T) {
	t.Parallel()
	e := newTransferEnv(t)
	e.b.MustRun(t, "", "grant", "add", "files", "--user", "alice", "--asset", "web1", "--actions", "upload,download")
	port := freePort(t)
	e.b.Stop()
	writeFile(t, filepath.Join(e.b.DataDir, "jms.yaml"), fmt.Sprintf("metrics_listen: 127.0.0.1:%d\n", port))
	e.b.Start()
	writeFile(t, filepath.Join(e.dir, "down.bin"), strings.Repeat("d", 300000))
	up := filepath.Join(t.TempDir(), "up.bin")
	writeFile(t, up, strings.Repeat("u", 200000))
	got := filepath.Join(t.TempDir(), "got.bin")
	if out, stderr, code := e.sftp(t, "alice", fmt.Sprintf("get /web1%s/down.bin %s\nput %s /web1%s/up.bin\n", e.dir, got, up, e.dir)); code != 0 {
		t.Fatalf("sftp (exit %d): %q %q", code, out, stderr)
	}
	_, body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if v := metricValue(body, `jms_relayed_bytes_total{direction="out"}`); v < 300000 {
		t.Errorf("relayed out %v after a 300000-byte download", v)
	}
	if v := metricValue(body, `jms_relayed_bytes_total{direction="in"}`); v < 200000 {
		t.Errorf("relayed in %v after a 200000-byte upload", v)
	}
}
