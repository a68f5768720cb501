//go:build jmspprof

package main

// A build for profiling only (go build -tags jmspprof): with JMS_PPROF set
// to an address, serve also answers net/http/pprof there. Normal builds
// leave this file out, so no release binary carries a profiling listener.

import (
	"log/slog"
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	addr := os.Getenv("JMS_PPROF")
	if addr == "" {
		return
	}
	go func() {
		if err := http.ListenAndServe(addr, nil); err != nil {
			slog.Error("pprof listener", "err", err)
		}
	}()
}
