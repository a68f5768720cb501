package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jms-bastion/jms/store"
)

// Queue is what a Notifier needs of the store.
type Queue interface {
	Enqueue(ctx context.Context, msgs ...store.NewOutboxMessage) error
	ListWebhooks(ctx context.Context) ([]store.Webhook, error)
}

// Notifier renders messages and queues them in the outbox; a Worker
// delivers them. Its methods return once the messages are queued.
type Notifier struct {
	queue     Queue
	templates Templates
	wake      func()
	now       func() time.Time
}

// NewNotifier returns a notifier queueing into q. wake, when not nil, is
// called after each queueing (a Worker's Wake).
func NewNotifier(q Queue, t Templates, wake func()) *Notifier {
	if wake == nil {
		wake = func() {}
	}
	return &Notifier{queue: q, templates: t, wake: wake, now: time.Now}
}

// Mail renders the template of event for to with data and queues it.
func (n *Notifier) Mail(ctx context.Context, event, to string, data any) error {
	msg, err := mailMessage(n.templates, event, to, data)
	if err != nil {
		return err
	}
	defer clear(msg.Payload)
	if err := n.queue.Enqueue(ctx, msg); err != nil {
		return fmt.Errorf("queue the %s mail to %s: %w", event, to, err)
	}
	n.wake()
	return nil
}

// mailMessage renders the template of event for to into an outbox row.
func mailMessage(t Templates, event, to string, data any) (store.NewOutboxMessage, error) {
	m, err := t.Render(event, to, data)
	if err != nil {
		return store.NewOutboxMessage{}, err
	}
	payload, err := json.Marshal(m)
	if err != nil {
		return store.NewOutboxMessage{}, err
	}
	return store.NewOutboxMessage{Channel: store.ChannelMail, Recipient: to, Event: event,
		Subject: strings.TrimSpace(m.Subject), Payload: payload}, nil
}

// Event is what a webhook receives, as JSON.
type Event struct {
	Event string         `json:"event"`
	At    time.Time      `json:"at"`
	Text  string         `json:"text"`
	Data  map[string]any `json:"data,omitempty"`
}

func eventOf(body []byte) string {
	var e struct {
		Event string `json:"event"`
	}
	_ = json.Unmarshal(body, &e)
	return e.Event
}

// Webhooks queues ev for every webhook that takes its event (all of them
// when only is empty, else only those named). It returns how many.
func (n *Notifier) Webhooks(ctx context.Context, ev Event, only ...string) (int, error) {
	hooks, err := n.queue.ListWebhooks(ctx)
	if err != nil {
		return 0, err
	}
	if ev.At.IsZero() {
		ev.At = n.now().UTC()
	}
	msgs, err := webhookMessages(hooks, ev, only...)
	if err != nil || len(msgs) == 0 {
		return 0, err
	}
	if len(msgs) == 0 {
		return 0, nil
	}
	if err := n.queue.Enqueue(ctx, msgs...); err != nil {
		return 0, fmt.Errorf("queue the %s event: %w", ev.Event, err)
	}
	n.wake()
	return len(msgs), nil
}

// webhookMessages makes the outbox rows that post ev to the hooks that
// take it (to those named in only, whatever they take, when given).
func webhookMessages(hooks []store.Webhook, ev Event, only ...string) ([]store.NewOutboxMessage, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	var msgs []store.NewOutboxMessage
	for _, h := range hooks {
		if len(only) > 0 && !slices.Contains(only, h.Name) {
			continue
		}
		if len(only) == 0 && len(h.Events) > 0 && !slices.Contains(h.Events, ev.Event) {
			continue
		}
		msgs = append(msgs, store.NewOutboxMessage{Channel: store.ChannelWebhook, Recipient: h.Name, Event: ev.Event,
			Subject: ev.Text, Payload: body})
	}
	return msgs, nil
}
