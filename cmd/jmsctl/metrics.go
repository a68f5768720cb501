package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jms-bastion/jms/bastion"
	"github.com/jms-bastion/jms/bastion/proxy"
	"github.com/jms-bastion/jms/bastion/transfer"
	"github.com/jms-bastion/jms/config"
	"github.com/jms-bastion/jms/metrics"
	"github.com/jms-bastion/jms/recorder/storage"
	"github.com/jms-bastion/jms/store"
)

// newMetrics returns serve's metrics when metrics_listen is set, else
// nil (nothing is counted). srv returns the server once it is built.
func newMetrics(cfg config.Config, st *store.Store, srv func() *bastion.Server) *metrics.Metrics {
	if cfg.MetricsListen == "" {
		return nil
	}
	return metrics.New(metrics.Sources{
		Version: version,
		LiveSessions: func() map[string]int {
			if s := srv(); s != nil {
				return s.LiveSessions()
			}
			return nil
		},
		Connections: func() int {
			if s := srv(); s != nil {
				return s.Connections()
			}
			return 0
		},
		DBStats:  st.PoolStats,
		Draining: func() bool { s := srv(); return s != nil && s.Draining() },
	})
}

// uploadObserver returns what tells m how the recording spool and
// uploads go; nil when m is (nothing is counted).
func uploadObserver(m *metrics.Metrics) storage.Observer {
	if m == nil {
		return nil
	}
	return spoolMetrics{m}
}

// spoolMetrics is the metrics as recording storage's observer.
type spoolMetrics struct{ *metrics.Metrics }

func (s spoolMetrics) SpoolMeasured(st storage.SpoolStatus) {
	s.Metrics.SpoolMeasured(metrics.Spool{Files: st.Files, Failed: st.Failed, Oldest: st.Oldest, Bytes: st.Bytes})
}

// serveMetrics serves /metrics, /healthz and /readyz on addr: ready
// while srv does not drain and the database answers.
func serveMetrics(mx *metrics.Metrics, addr string, st *store.Store, srv *bastion.Server, logger *slog.Logger) (*metrics.Server, error) {
	ready := func(ctx context.Context) error {
		if srv.Draining() {
			return errors.New("draining")
		}
		return st.Ping(ctx)
	}
	ms, err := mx.Listen(addr, ready, logger.With("component", "metrics"))
	if err != nil {
		return nil, err
	}
	go func() {
		if err := ms.Serve(); err != nil {
			logger.Error("metrics endpoint stopped", "err", err)
		}
	}()
	return ms, nil
}

// timedStore is the store with its authorization queries timed.
type timedStore struct {
	*store.Store
	m *metrics.Metrics
}

// servedStore is what serve's packages need of the store.
type servedStore interface {
	bastion.Store
	proxy.Store
	transfer.Store
}

// instrument returns st, with its authorization queries timed when m
// is not nil.
func instrument(st *store.Store, m *metrics.Metrics) servedStore {
	if m == nil {
		return st
	}
	return timedStore{Store: st, m: m}
}

func (t timedStore) Authorize(ctx context.Context, q store.AuthzQuery) (store.Access, error) {
	defer t.m.Authorization("authorize", time.Now())
	return t.Store.Authorize(ctx, q)
}

func (t timedStore) AuthorizedAssets(ctx context.Context, user string, at time.Time) ([]store.Access, error) {
	defer t.m.Authorization("authorized_assets", time.Now())
	return t.Store.AuthorizedAssets(ctx, user, at)
}
