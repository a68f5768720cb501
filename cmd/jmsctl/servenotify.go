package main

import (
	"context"
	"log/slog"
	"sync"

	"github.com/jms-bastion/jms/config"
	"github.com/jms-bastion/jms/notify"
	"github.com/jms-bastion/jms/store"
)

// startNotify starts serve's notification goroutines: the pump that
// turns the operations audit into messages and the worker that delivers
// the outbox. It returns the password resetter (it queues codes for the
// worker), and a stop that waits for both to end (a delivery in flight is cut short:
// its message stays pending and is retried once its lease runs out).
func startNotify(ctx context.Context, cfg config.Config, st *store.Store, logger *slog.Logger) (*notify.Resetter, func()) {
	w := notify.NewWorker(st, notify.WorkerConfig{
		Poll: cfg.NotifyPoll, RetryBase: cfg.NotifyRetry, MaxAttempts: cfg.NotifyMaxAttempts,
	}, logger)
	// The pump tells of every organization's changes, tickets and grants.
	p := notify.NewPump(st.AllOrgs(), notify.PumpConfig{
		Poll: cfg.NotifyPoll, Templates: templates(cfg), Bastion: cfg.NotifyPublicAddress, Wake: w.Wake,
		Digest: cfg.NotifyDigest,
	}, logger)
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { w.Run(ctx) })
	wg.Go(func() { p.Run(ctx) })
	return notify.NewResetter(st, templates(cfg), w.Wake, logger), func() { cancel(); wg.Wait() }
}
