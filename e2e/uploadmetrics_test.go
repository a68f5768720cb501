package e2e

// The recording spool and upload metrics, with a real S3 gateway: the
// metrics say when uploads fall behind (the store down) and when they have
// caught up (the store back).

import (
	"fmt"
	"testing"
	"time"
)

func TestRecordingUploadMetrics(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	e := newRecEnv(t, fmt.Sprintf("metrics_listen: 127.0.0.1:%d\n", port))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	scrape := func() string {
		_, body := httpGet(t, base+"/metrics")
		return body
	}
	waitMetrics := func(what string, cond func(body string) bool) {
		t.Helper()
		var body string
		if !pollUntil(120*time.Second, 300*time.Millisecond, func() bool { body = scrape(); return cond(body) }) {
			t.Fatalf("/metrics never showed %s:\n%s", what, body)
		}
	}

	e.s3.Stop()
	r := e.run(t, "marker-metrics-"+randomToken(4))
	waitMetrics("the upload falling behind", func(b string) bool {
		// A command's recording is two files: its cast and its raw stream.
		return metricValue(b, "jms_recording_spool_files") >= 1 && metricValue(b, "jms_recording_spool_failed_files") >= 1 &&
			metricValue(b, `jms_recording_uploads_total{result="failed"}`) >= 1 &&
			metricValue(b, "jms_recording_spool_oldest_seconds") > 0 && metricValue(b, "jms_recording_spool_bytes") > 0
	})

	e.s3.Start()
	e.waitState(t, r.ID, "stored", 120*time.Second)
	waitMetrics("the upload caught up", func(b string) bool {
		return metricValue(b, "jms_recording_spool_files") == 0 && metricValue(b, "jms_recording_spool_oldest_seconds") == 0 &&
			metricValue(b, `jms_recording_uploads_total{result="stored"}`) >= 1 &&
			metricValue(b, "jms_recording_uploaded_bytes_total") > 0
	})
}
