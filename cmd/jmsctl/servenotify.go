package main

import (
	"context"
	"log/slog"

	"github.com/jms-bastion/jms/config"
	"github.com/jms-bastion/jms/notify"
	"github.com/jms-bastion/jms/store"
)

// startNotify starts the outbox worker of serve and returns the notifier
// that queues for it, and a stop that waits for the worker to end (a
// delivery in flight is cut short: its message stays pending and is
// retried once its lease runs out).
func startNotify(ctx context.Context, cfg config.Config, st *store.Store, logger *slog.Logger) (*notify.Notifier, func()) {
	w := notify.NewWorker(st, notify.WorkerConfig{
		Poll: cfg.NotifyPoll, RetryBase: cfg.NotifyRetry, MaxAttempts: cfg.NotifyMaxAttempts,
	}, logger)
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx)
	}()
	return notify.NewNotifier(st, templates(cfg), w.Wake), func() { cancel(); <-done }
}
