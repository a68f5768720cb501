package main

import (
	"context"
	"log/slog"

	"github.com/jms-bastion/jms/automation"
	"github.com/jms-bastion/jms/config"
	"github.com/jms-bastion/jms/store"
)

// startAutomationJobs runs the account automation's scheduled jobs
// (rotations, pushes to new assets) until the returned stop is called,
// which waits for a running job to notice.
func startAutomationJobs(ctx context.Context, cfg config.Config, st *store.Store, logger *slog.Logger) (stop func()) {
	log := logger.With("component", "automation")
	r := automation.New(st, automation.Config{HostKeyPolicy: cfg.HostKeyPolicy, ConnectTimeout: cfg.ConnectTimeout, Log: log})
	jctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		automation.NewScheduler(r).Run(jctx)
	}()
	return func() {
		cancel()
		<-done
	}
}
