package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/jms-bastion/jms/automation"
	"github.com/jms-bastion/jms/config"
	"github.com/jms-bastion/jms/store"
)

// testJobTickEnv makes serve look for due jobs more often than every 30 s.
// It is for the end-to-end tests only (a rotation job with the shortest
// period, 1 min, runs then within a minute rather than a minute and a
// half); it changes nothing but how often one indexed query runs, and is
// bounded to 50 ms–30 s.
const testJobTickEnv = "JMS_TEST_JOB_TICK"

// startAutomationJobs runs the account automation's scheduled jobs
// (rotations, pushes to new assets) until the returned stop is called,
// which waits for a running job to notice.
func startAutomationJobs(ctx context.Context, cfg config.Config, st *store.Store, logger *slog.Logger) (stop func()) {
	log := logger.With("component", "automation")
	r := automation.New(st, automation.Config{HostKeyPolicy: cfg.HostKeyPolicy, ConnectTimeout: cfg.ConnectTimeout, Log: log})
	sched := automation.NewScheduler(r)
	if tick, ok := testJobTick(log); ok {
		sched.Tick = tick
	}
	jctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sched.Run(jctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// testJobTick reads JMS_TEST_JOB_TICK; a value that is not a duration
// between 50 ms and 30 s is ignored with a warning.
func testJobTick(log *slog.Logger) (time.Duration, bool) {
	v := os.Getenv(testJobTickEnv)
	if v == "" {
		return 0, false
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 50*time.Millisecond || d > 30*time.Second {
		log.Warn(testJobTickEnv+" ignored: want a duration from 50ms to 30s", "value", v)
		return 0, false
	}
	log.Warn(testJobTickEnv + " is set (a test setting): due jobs are looked for every " + d.String())
	return d, true
}
