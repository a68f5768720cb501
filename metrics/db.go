package metrics

import (
	"database/sql"

	"github.com/prometheus/client_golang/prometheus"
)

// dbCollector reads the database pool's statistics at each scrape.
type dbCollector struct{ stats func() sql.DBStats }

var (
	dbMaxOpen  = dbDesc("max_open_connections", "Maximum number of open connections to the database (0: unlimited).")
	dbOpen     = dbDesc("open_connections", "Connections to the database, in use and idle.")
	dbInUse    = dbDesc("in_use_connections", "Connections to the database in use now.")
	dbIdle     = dbDesc("idle_connections", "Idle connections to the database.")
	dbWaits    = dbDesc("wait_count_total", "Times a query waited for a free connection.")
	dbWaitTime = dbDesc("wait_duration_seconds_total", "Time queries waited for a free connection.")
	dbClosed   = dbDesc("closed_connections_total", "Connections closed for being idle or too old.")
)

func dbDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc(Namespace+"_db_"+name, help, nil, nil)
}

func (c dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dbMaxOpen, dbOpen, dbInUse, dbIdle, dbWaits, dbWaitTime, dbClosed} {
		ch <- d
	}
}

func (c dbCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(dbMaxOpen, float64(s.MaxOpenConnections))
	gauge(dbOpen, float64(s.OpenConnections))
	gauge(dbInUse, float64(s.InUse))
	gauge(dbIdle, float64(s.Idle))
	counter(dbWaits, float64(s.WaitCount))
	counter(dbWaitTime, s.WaitDuration.Seconds())
	counter(dbClosed, float64(s.MaxIdleClosed+s.MaxIdleTimeClosed+s.MaxLifetimeClosed))
}
