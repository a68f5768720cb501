package metrics

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestNilMetricsCountNothing(t *testing.T) {
	var m *Metrics
	m.Login("password", "success", 1)
	m.RelayedIn(1)
	m.RelayedOut(1)
	m.Recorded(1)
	m.Queued(1)
	m.Verdict("deny")
	m.Authorization("authorize", time.Now())
	m.UploadStored(1)
	m.UploadFailed()
	m.SpoolMeasured(Spool{Files: 1})
}

func TestCounts(t *testing.T) {
	draining := false
	m := New(Sources{Version: "v1.2.3",
		LiveSessions: func() map[string]int { return map[string]int{"shell": 2, "sftp": 1} },
		Connections:  func() int { return 4 },
		DBStats:      func() sql.DBStats { return sql.DBStats{OpenConnections: 3, InUse: 1, Idle: 2} },
		Draining:     func() bool { return draining },
	})
	m.Login("password", "failure", 5)
	m.Login("publickey", "success", 0)
	m.RelayedIn(10)
	m.RelayedOut(100)
	m.Recorded(100)
	m.Queued(1)
	m.Queued(1)
	m.Queued(-1)
	m.Verdict("deny")
	m.Authorization("authorize", time.Now().Add(-3*time.Millisecond))
	m.UploadFailed()
	m.UploadFailed()
	m.UploadStored(300)
	m.SpoolMeasured(Spool{Files: 3, Failed: 2, Oldest: 90 * time.Second, Bytes: 4096})
	tests := []struct {
		name string
		got  float64
		want float64
	}{
		{"password failures", testutil.ToFloat64(m.logins.WithLabelValues("password", "failure")), 5},
		{"an event without a count is one", testutil.ToFloat64(m.logins.WithLabelValues("publickey", "success")), 1},
		{"in", testutil.ToFloat64(m.bytesIn), 10},
		{"out", testutil.ToFloat64(m.bytesOut), 100},
		{"recorded", testutil.ToFloat64(m.recordingBytes), 100},
		{"queue", testutil.ToFloat64(m.recordingQueue), 1},
		{"deny", testutil.ToFloat64(m.verdicts.WithLabelValues("deny")), 1},
		{"uploads failed", testutil.ToFloat64(m.uploads.attempts.WithLabelValues("failed")), 2},
		{"uploads stored", testutil.ToFloat64(m.uploads.attempts.WithLabelValues("stored")), 1},
		{"uploaded bytes", testutil.ToFloat64(m.uploads.bytes), 300},
		{"spool files", testutil.ToFloat64(m.uploads.spoolFiles), 3},
		{"spool failed files", testutil.ToFloat64(m.uploads.spoolFailed), 2},
		{"spool oldest", testutil.ToFloat64(m.uploads.spoolOldest), 90},
		{"spool bytes", testutil.ToFloat64(m.uploads.spoolBytes), 4096},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	body := scrape(t, m.Handler(func(context.Context) error { return nil }), "/metrics", http.StatusOK)
	for _, want := range []string{
		`jms_live_sessions{kind="shell"} 2`, `jms_live_sessions{kind="exec"} 0`, `jms_live_sessions{kind="sftp"} 1`,
		`jms_draining 0`, `jms_connections 4`, `jms_db_open_connections 3`, `jms_db_in_use_connections 1`,
		`jms_build_info{goversion="go`, `version="v1.2.3"} 1`,
		`jms_authorization_seconds_count{query="authorize"} 1`,
		`jms_recording_uploads_total{result="failed"} 2`, `jms_recording_uploaded_bytes_total 300`,
		`jms_recording_spool_files 3`, `jms_recording_spool_oldest_seconds 90`,
		`go_goroutines`, `process_open_fds`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	draining = true
	if body := scrape(t, m.Handler(func(context.Context) error { return nil }), "/metrics", http.StatusOK); !strings.Contains(body, "jms_draining 1") {
		t.Error("jms_draining is not 1 while draining")
	}
	if n, err := testutil.GatherAndLint(m.reg); err != nil || len(n) > 0 {
		t.Errorf("lint: %v %v", n, err)
	}
}

func TestHealthEndpoints(t *testing.T) {
	m := New(Sources{Version: "dev"})
	ok := m.Handler(func(context.Context) error { return nil })
	down := m.Handler(func(context.Context) error { return errors.New("database unreachable: connection refused") })
	scrape(t, ok, "/healthz", http.StatusOK)
	scrape(t, down, "/healthz", http.StatusOK)
	if body := scrape(t, ok, "/readyz", http.StatusOK); body != "ready\n" {
		t.Errorf("/readyz: %q", body)
	}
	if body := scrape(t, down, "/readyz", http.StatusServiceUnavailable); body != "not ready: database unreachable: connection refused\n" {
		t.Errorf("/readyz: %q", body)
	}
	scrape(t, ok, "/nothing", http.StatusNotFound)
}

func scrape(t *testing.T, h http.Handler, path string, code int) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	if rec.Code != code {
		t.Fatalf("GET %s: %d, want %d", path, rec.Code, code)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}
