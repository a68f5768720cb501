package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// readyTimeout bounds /readyz's database check.
const readyTimeout = 2 * time.Second

// Ready says whether the server may take new connections: nil, or why
// not in one line (draining, the database down).
type Ready func(ctx context.Context) error

// Handler serves /metrics, /healthz (the process is up: always 200) and
// /readyz (200 when ready, else 503 and why, for a load balancer).
func (m *Metrics) Handler(ready Ready) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := ready(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready: "+err.Error())
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}

// Server is the metrics and health endpoint.
type Server struct {
	srv *http.Server
	l   net.Listener
}

// Listen listens on addr for the endpoints of m; Serve then serves them.
func (m *Metrics) Listen(addr string, ready Ready, log *slog.Logger) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics_listen %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           m.Handler(ready),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return &Server{srv: srv, l: l}, nil
}

// Addr is the address the endpoints listen on.
func (s *Server) Addr() net.Addr { return s.l.Addr() }

// Serve serves until Close; it returns nil after Close.
func (s *Server) Serve() error {
	if err := s.srv.Serve(s.l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

// Close stops the endpoints.
func (s *Server) Close() error { return s.srv.Close() }
