package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// uploads are the recording spool's and uploads' metrics (recording
// storage in an object store).
type uploads struct {
	attempts    *prometheus.CounterVec
	bytes       prometheus.Counter
	spoolFiles  prometheus.Gauge
	spoolFailed prometheus.Gauge
	spoolOldest prometheus.Gauge
	spoolBytes  prometheus.Gauge
}

func newUploads() uploads {
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help})
	}
	u := uploads{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "recording_uploads_total",
			Help: "Attempts to upload a recording file to the object store, by result (stored: verified and out of the spool; failed: retried later)."},
			[]string{"result"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "recording_uploaded_bytes_total",
			Help: "Bytes of recording files stored in the object store (compressed, as stored)."}),
		spoolFiles: gauge("recording_spool_files",
			"Recording files waiting in the spool for their upload (all nodes sharing the database)."),
		spoolFailed: gauge("recording_spool_failed_files",
			"Recording files waiting in the spool whose last upload attempt failed."),
		spoolOldest: gauge("recording_spool_oldest_seconds",
			"How long the longest-waiting recording file has waited for its upload (0: none waits)."),
		spoolBytes: gauge("recording_spool_bytes",
			"Size of this node's spool folder: recordings being written and files waiting for upload."),
	}
	u.attempts.WithLabelValues("stored")
	u.attempts.WithLabelValues("failed")
	return u
}

func (u uploads) collectors() []prometheus.Collector {
	return []prometheus.Collector{u.attempts, u.bytes, u.spoolFiles, u.spoolFailed, u.spoolOldest, u.spoolBytes}
}

// Spool is the recording spool at one look.
type Spool struct {
	// Files wait for their upload; Failed of them failed their last
	// attempt.
	Files, Failed int
	// Oldest is how long the longest-waiting file has waited.
	Oldest time.Duration
	// Bytes is the size of the node's spool folder.
	Bytes int64
}

// UploadStored counts a recording file stored in the object store as
// bytes.
func (m *Metrics) UploadStored(bytes int64) {
	if m != nil {
		m.uploads.attempts.WithLabelValues("stored").Inc()
		m.uploads.bytes.Add(float64(bytes))
	}
}

// UploadFailed counts a failed upload attempt.
func (m *Metrics) UploadFailed() {
	if m != nil {
		m.uploads.attempts.WithLabelValues("failed").Inc()
	}
}

// SpoolMeasured sets the spool's gauges.
func (m *Metrics) SpoolMeasured(s Spool) {
	if m == nil {
		return
	}
	m.uploads.spoolFiles.Set(float64(s.Files))
	m.uploads.spoolFailed.Set(float64(s.Failed))
	m.uploads.spoolOldest.Set(s.Oldest.Seconds())
	m.uploads.spoolBytes.Set(float64(s.Bytes))
}
