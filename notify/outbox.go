package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"log/slog"
	"strings"
	"time"

	"github.com/jms-bastion/jms/store"
)

// OutboxStore is what the Worker needs of the store.
type OutboxStore interface {
	ClaimOutbox(ctx context.Context, lease time.Duration, limit int) ([]store.OutboxMessage, error)
	OutboxSent(ctx context.Context, id int64) error
	OutboxFailed(ctx context.Context, id int64, lastError string, retryAt time.Time) error
	GetMailSettings(ctx context.Context) (store.MailSettings, error)
	GetWebhook(ctx context.Context, name string) (store.Webhook, error)
	Now() time.Time
}

// WorkerConfig tunes a Worker.
type WorkerConfig struct {
	// Poll is how often the outbox is read when nothing woke the worker.
	Poll time.Duration
	// RetryBase is the wait before the first retry; it doubles with each
	// attempt, up to maxBackoff.
	RetryBase time.Duration
	// MaxAttempts attempts make a message failed.
	MaxAttempts int
}

const (
	maxBackoff = time.Hour
	// claimLease is how long a claimed message is kept from other
	// workers: more than a delivery's timeouts.
	claimLease = 2 * time.Minute
	claimBatch = 20
)

// Worker delivers the outbox: run by serve in the background.
type Worker struct {
	store  OutboxStore
	cfg    WorkerConfig
	logger *slog.Logger
	wake   chan struct{}

	sendMail func(context.Context, store.MailSettings, Mail) (string, error)
	post     func(context.Context, store.Webhook, []byte) error
}

// NewWorker returns a worker over st; Run starts it.
func NewWorker(st OutboxStore, cfg WorkerConfig, logger *slog.Logger) *Worker {
	if cfg.Poll <= 0 {
		cfg.Poll = 10 * time.Second
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 30 * time.Second
	}
	if cfg.MaxAttempts < 1 {
		cfg.MaxAttempts = 10
	}
	return &Worker{store: st, cfg: cfg, logger: logger, wake: make(chan struct{}, 1), sendMail: SendMail, post: Post}
}

// Wake makes the worker read the outbox now: a message was just queued.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-t.C:
		}
		for w.drainOnce(ctx) {
		}
		t.Reset(w.cfg.Poll)
	}
}

// drainOnce delivers one batch of due messages and reports whether
// there may be more.
func (w *Worker) drainOnce(ctx context.Context) bool {
	msgs, err := w.store.ClaimOutbox(ctx, claimLease, claimBatch)
	if err != nil {
		if ctx.Err() == nil {
			w.logger.Error("notify: reading the outbox", "err", err)
		}
		return false
	}
	digests := map[string][]store.OutboxMessage{}
	for _, m := range msgs {
		if m.Digest && m.Channel == store.ChannelMail {
			digests[m.Recipient] = append(digests[m.Recipient], m)
			continue
		}
		if ctx.Err() != nil {
			return false
		}
		w.deliverOne(ctx, m)
	}
	for _, group := range digests {
		if ctx.Err() != nil {
			return false
		}
		w.deliverDigest(ctx, group)
	}
	return len(msgs) == claimBatch
}

// deliverDigest sends a recipient's due digest mails as one mail, and
// records the outcome on each.
func (w *Worker) deliverDigest(ctx context.Context, group []store.OutboxMessage) {
	var parts []Mail
	for _, m := range group {
		var mail Mail
		if err := json.Unmarshal(m.Payload, &mail); err != nil {
			w.record(ctx, m, fmt.Errorf("the queued mail is damaged: %w", err))
			continue
		}
		clear(m.Payload)
		parts = append(parts, mail)
	}
	if len(parts) == 0 {
		return
	}
	digest := Digest(parts)
	err := w.sendWithSettings(ctx, digest)
	for _, m := range group {
		w.record(ctx, m, err)
	}
}

// Digest gathers mails to one recipient into one: each part's subject
// as a heading over its text.
func Digest(parts []Mail) Mail {
	if len(parts) == 1 {
		return parts[0]
	}
	d := Mail{To: parts[0].To, Subject: fmt.Sprintf("jms: %d notifications", len(parts))}
	var text, html strings.Builder
	allHTML := true
	for _, p := range parts {
		fmt.Fprintf(&text, "== %s\n\n%s\n", p.Subject, p.Text)
		fmt.Fprintf(&html, "<h3>%s</h3>\n%s\n<hr>\n", htmltemplate.HTMLEscapeString(p.Subject), p.HTML)
		allHTML = allHTML && p.HTML != ""
	}
	d.Text = text.String()
	if allHTML {
		d.HTML = html.String()
	}
	return d
}

func (w *Worker) deliverOne(ctx context.Context, m store.OutboxMessage) {
	defer clear(m.Payload)
	w.record(ctx, m, w.deliver(ctx, m))
}

// record records the outcome of a delivery of m: sent, to retry, or
// failed for good.
func (w *Worker) record(ctx context.Context, m store.OutboxMessage, err error) {
	log := w.logger.With("outbox", m.ID, "channel", m.Channel, "recipient", m.Recipient, "event", m.Event)
	if err == nil {
		if err := w.store.OutboxSent(ctx, m.ID); err != nil {
			log.Error("notify: recording a delivery", "err", err)
		}
		log.Info("notify: delivered")
		return
	}
	var retryAt time.Time
	if m.Attempts+1 < w.cfg.MaxAttempts {
		retryAt = w.store.Now().Add(Backoff(w.cfg.RetryBase, m.Attempts))
	}
	if ferr := w.store.OutboxFailed(ctx, m.ID, err.Error(), retryAt); ferr != nil {
		log.Error("notify: recording a failed delivery", "err", ferr)
	}
	if retryAt.IsZero() {
		log.Error("notify: giving up", "attempts", m.Attempts+1, "err", err)
		return
	}
	log.Warn("notify: delivery failed, will retry", "attempt", m.Attempts+1, "retry_at", retryAt, "err", err)
}

func (w *Worker) deliver(ctx context.Context, m store.OutboxMessage) error {
	switch m.Channel {
	case store.ChannelMail:
		var mail Mail
		if err := json.Unmarshal(m.Payload, &mail); err != nil {
			return fmt.Errorf("the queued mail is damaged: %w", err)
		}
		return w.sendWithSettings(ctx, mail)
	case store.ChannelWebhook:
		hook, err := w.store.GetWebhook(ctx, m.Recipient)
		if err != nil {
			return &DeliveryError{StepConfig, err}
		}
		defer clear(hook.Secret)
		return w.post(ctx, hook, m.Payload)
	}
	return errors.New("unknown channel " + m.Channel)
}

// sendWithSettings sends mail with the mail settings of now.
func (w *Worker) sendWithSettings(ctx context.Context, mail Mail) error {
	settings, err := w.store.GetMailSettings(ctx)
	if err != nil {
		return &DeliveryError{StepConfig, err}
	}
	defer clear(settings.Password)
	_, err = w.sendMail(ctx, settings, mail)
	return err
}

// Backoff is the wait after attempt n (0 for the first) failed: base
// doubled n times, at most an hour.
func Backoff(base time.Duration, n int) time.Duration {
	d := base
	for i := 0; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}
