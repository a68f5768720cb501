// Package metrics holds the bastion's Prometheus metrics and serves them
// with the health endpoints. Its labels are bounded sets (session
// kinds, login methods and results, verdicts, directions): never a
// person, an asset or an address. A nil *Metrics counts nothing, so the
// packages that count need no check.
package metrics

import (
	"database/sql"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace prefixes every metric of jms.
const Namespace = "jms"

// Metrics are one server's metrics, in a registry of their own.
type Metrics struct {
	reg *prometheus.Registry

	logins         *prometheus.CounterVec
	relayed        *prometheus.CounterVec
	bytesIn        prometheus.Counter // the person to the asset
	bytesOut       prometheus.Counter // the asset to the person
	recordingBytes prometheus.Counter
	recordingQueue prometheus.Gauge
	verdicts       *prometheus.CounterVec
	authz          *prometheus.HistogramVec
	uploads        uploads
}

// Sources are what the metrics read at each scrape.
type Sources struct {
	Version string
	// LiveSessions returns the sessions running now, by kind.
	LiveSessions func() map[string]int
	// Connections returns the logged-in connections (in the menu or
	// not).
	Connections func() int
	// DBStats returns the database pool's statistics; nil: none.
	DBStats func() sql.DBStats
	// Draining reports whether the server drains (not ready).
	Draining func() bool
}

// Session kinds, so that each shows (as 0) before its first session.
var sessionKinds = []string{"shell", "exec", "sftp", "forward"}

// New returns the metrics, with the collectors that read src at each
// scrape, the Go runtime's and the process's.
func New(src Sources) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "logins_total",
			Help: "Login attempts and pre-auth refusals, by method (password, publickey, keyboard-interactive, connect, sftp, proxy, …) and result (success, failure)."},
			[]string{"method", "result"}),
		relayed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "relayed_bytes_total",
			Help: "Bytes relayed between people and assets (shells, commands, SFTP reads and writes, forwarded ports): in is the person to the asset, out the asset to the person."},
			[]string{"direction"}),
		recordingBytes: prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "recording_bytes_total",
			Help: "Session bytes written to recordings (output, and input when record_input is on)."}),
		recordingQueue: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "recording_queue_chunks",
			Help: "Output chunks waiting to be written to recordings, all sessions together (at most 8 per session)."}),
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "filter_verdicts_total",
			Help: "Command lines judged by the command filters, by verdict as the audit records it."},
			[]string{"verdict"}),
		authz: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "authorization_seconds",
			Help:    "Time the store takes to answer an authorization question: one asset (authorize) or the menu's list (authorized_assets).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}},
			[]string{"query"}),
		uploads: newUploads(),
	}
	m.bytesIn = m.relayed.WithLabelValues("in")
	m.bytesOut = m.relayed.WithLabelValues("out")
	m.reg.MustRegister(m.logins, m.relayed, m.recordingBytes, m.recordingQueue, m.verdicts, m.authz,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo(src.Version), &liveCollector{src: src})
	m.reg.MustRegister(m.uploads.collectors()...)
	if src.DBStats != nil {
		m.reg.MustRegister(dbCollector{src.DBStats})
	}
	return m
}

func buildInfo(version string) prometheus.Collector {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "build_info",
		Help: "Always 1: the jms version and the Go version it was built with."}, []string{"version", "goversion"})
	g.WithLabelValues(version, runtime.Version()).Set(1)
	return g
}

// Registry is the registry the metrics are in (for tests and /metrics).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Login counts n login events of method and result.
func (m *Metrics) Login(method, result string, n int) {
	if m == nil {
		return
	}
	m.logins.WithLabelValues(method, result).Add(float64(max(n, 1)))
}

// RelayedIn counts n bytes from a person to an asset.
func (m *Metrics) RelayedIn(n int) {
	if m != nil {
		m.bytesIn.Add(float64(n))
	}
}

// RelayedOut counts n bytes from an asset to a person.
func (m *Metrics) RelayedOut(n int) {
	if m != nil {
		m.bytesOut.Add(float64(n))
	}
}

// Recorded counts n bytes written to a recording.
func (m *Metrics) Recorded(n int) {
	if m != nil {
		m.recordingBytes.Add(float64(n))
	}
}

// Queued counts a chunk into (+1) or out of (-1) a recording queue.
func (m *Metrics) Queued(delta int) {
	if m != nil {
		m.recordingQueue.Add(float64(delta))
	}
}

// Verdict counts a command line judged with verdict.
func (m *Metrics) Verdict(verdict string) {
	if m != nil {
		m.verdicts.WithLabelValues(verdict).Inc()
	}
}

// Authorization observes how long an authorization query took since
// start.
func (m *Metrics) Authorization(query string, start time.Time) {
	if m != nil {
		m.authz.WithLabelValues(query).Observe(time.Since(start).Seconds())
	}
}

// liveCollector reads the live sessions and the drain at each scrape.
type liveCollector struct{ src Sources }

var (
	liveDesc = prometheus.NewDesc(Namespace+"_live_sessions", "Sessions running now on this server, by kind.", []string{"kind"}, nil)
	connDesc = prometheus.NewDesc(Namespace+"_connections",
		"Logged-in SSH connections on this server, with or without a session (the menu).", nil, nil)
	drainDesc = prometheus.NewDesc(Namespace+"_draining",
		"1 while the server drains (SIGTERM: it accepts no connection and /readyz fails), else 0.", nil, nil)
)

func (c *liveCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- liveDesc
	ch <- connDesc
	ch <- drainDesc
}

func (c *liveCollector) Collect(ch chan<- prometheus.Metric) {
	if c.src.LiveSessions != nil {
		byKind := c.src.LiveSessions()
		for _, k := range sessionKinds {
			ch <- prometheus.MustNewConstMetric(liveDesc, prometheus.GaugeValue, float64(byKind[k]), k)
		}
	}
	if c.src.Connections != nil {
		ch <- prometheus.MustNewConstMetric(connDesc, prometheus.GaugeValue, float64(c.src.Connections()))
	}
	draining := 0.0
	if c.src.Draining != nil && c.src.Draining() {
		draining = 1
	}
	ch <- prometheus.MustNewConstMetric(drainDesc, prometheus.GaugeValue, draining)
}
