package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jms-bastion/jms/store"
)

// PumpStore is what a Pump needs of the store.
type PumpStore interface {
	NotifyCursor(ctx context.Context, name string) (int64, error)
	OperationsAfter(ctx context.Context, after int64, actions []string, limit int) ([]store.Operation, error)
	AdvanceNotifyCursor(ctx context.Context, name string, from, to int64, msgs []store.NewOutboxMessage) error
	UsersWithRole(ctx context.Context, role string) ([]store.Recipient, error)
	GetRecipient(ctx context.Context, name string) (store.Recipient, error)
	GetTicket(ctx context.Context, id int64) (store.Ticket, error)
	ListNotifyRules(ctx context.Context) ([]store.NotifyRule, error)
	ListWebhooks(ctx context.Context) ([]store.Webhook, error)
	LoginsAfter(ctx context.Context, after int64, limit int) ([]store.SourceLogin, error)
	GrantsExpiring(ctx context.Context, within time.Duration) ([]store.ExpiringGrant, error)
	EnqueueOnce(ctx context.Context, key string, msgs []store.NewOutboxMessage) (bool, error)
	GetOrgByID(ctx context.Context, id int64) (store.Org, error)
}

// PumpConfig tunes a Pump.
type PumpConfig struct {
	Poll      time.Duration
	Templates Templates
	// Bastion is how people reach the bastion ("bastion.example.com:2222"),
	// for the lines mails tell them to type; "" leaves it out.
	Bastion string
	// Wake is called after messages were queued (the Worker's Wake).
	Wake func()
	// Digest is the period of digest mails (rule mode digest).
	Digest time.Duration
}

// The cursors of the pump: the operations audit and the logins.
const (
	pumpCursor   = "operations"
	loginsCursor = "logins"
)

// pumpBatch operations are turned into messages per transaction.
const pumpBatch = 50

// Pump turns what happened (the operations audit: a command held for
// review, a ticket decided, a user locked, MFA disabled, a session
// killed, an account push or rotation failed, recording uploads failing
// or behind, a node gone) into mails and webhook posts in the outbox. It reads the audit
// rather than being called by the bastion, so that changes made by
// jmsctl, over SSH or on another node are notified alike, each once.
type Pump struct {
	st     PumpStore
	cfg    PumpConfig
	logger *slog.Logger
}

// NewPump returns a pump over st; Run starts it.
func NewPump(st PumpStore, cfg PumpConfig, logger *slog.Logger) *Pump {
	if cfg.Poll <= 0 {
		cfg.Poll = 10 * time.Second
	}
	if cfg.Wake == nil {
		cfg.Wake = func() {}
	}
	if cfg.Digest <= 0 {
		cfg.Digest = time.Hour
	}
	return &Pump{st: st, cfg: cfg, logger: logger}
}

// Run pumps until ctx ends.
func (p *Pump) Run(ctx context.Context) {
	t := time.NewTicker(p.cfg.Poll)
	defer t.Stop()
	for {
		for {
			more, err := p.Once(ctx)
			if err != nil && ctx.Err() == nil {
				p.logger.Error("notify: turning events into messages", "err", err)
			}
			if !more || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Once turns one batch of operations and of logins into messages and
// reports whether there may be more.
func (p *Pump) Once(ctx context.Context) (bool, error) {
	moreOps, err := p.opsOnce(ctx)
	if err != nil {
		return false, err
	}
	moreLogins, err := p.loginsOnce(ctx)
	if err != nil {
		return false, err
	}
	return moreOps || moreLogins, p.grantsOnce(ctx)
}

// GrantExpiryNotice is how long before a grant's end its people and the
// admins are told.
const GrantExpiryNotice = 7 * 24 * time.Hour

// grantsOnce tells the people of grants that end within a week, and the
// admins, once per grant and end.
func (p *Pump) grantsOnce(ctx context.Context) error {
	grants, err := p.st.GrantsExpiring(ctx, GrantExpiryNotice)
	if err != nil || len(grants) == 0 {
		return err
	}
	hooks, err := p.st.ListWebhooks(ctx)
	if err != nil {
		return err
	}
	rules, err := p.st.ListNotifyRules(ctx)
	if err != nil {
		return err
	}
	for _, g := range grants {
		n := notice{event: EventGrantExpiring, template: "grant_expiring", users: g.Users, roles: []string{store.RoleAdmin},
			data: map[string]any{"Grant": g.Name, "Until": g.Until.UTC().Format(time.RFC3339), "Users": g.Users}}
		msgs, err := p.build(ctx, n, store.Operation{At: time.Now(), Actor: "jms"}, hooks, rules)
		if err != nil {
			p.logger.Error("notify: cannot notify an expiring grant", "grant", g.Name, "err", err)
			continue
		}
		first, err := p.st.EnqueueOnce(ctx, g.Key, msgs)
		for _, m := range msgs {
			clear(m.Payload)
		}
		if err != nil {
			return err
		}
		if first && len(msgs) > 0 {
			p.cfg.Wake()
		}
	}
	return nil
}

func (p *Pump) opsOnce(ctx context.Context) (bool, error) {
	from, err := p.st.NotifyCursor(ctx, pumpCursor)
	if err != nil {
		return false, err
	}
	ops, err := p.st.OperationsAfter(ctx, from, notifiedActions, pumpBatch)
	if err != nil || len(ops) == 0 {
		return false, err
	}
	hooks, err := p.st.ListWebhooks(ctx)
	if err != nil {
		return false, err
	}
	rules, err := p.st.ListNotifyRules(ctx)
	if err != nil {
		return false, err
	}
	var msgs []store.NewOutboxMessage
	for _, op := range ops {
		m, err := p.messages(ctx, op, hooks, rules)
		if err != nil {
			// One bad operation must not stop the others: say so, go on.
			p.logger.Error("notify: cannot notify an operation", "operation", op.ID, "action", op.Action, "err", err)
			continue
		}
		msgs = append(msgs, m...)
	}
	more, err := p.advance(ctx, pumpCursor, from, ops[len(ops)-1].ID, msgs)
	return more && len(ops) == pumpBatch, err
}

// loginsOnce tells users of logins from addresses new for them.
func (p *Pump) loginsOnce(ctx context.Context) (bool, error) {
	from, err := p.st.NotifyCursor(ctx, loginsCursor)
	if err != nil {
		return false, err
	}
	logins, err := p.st.LoginsAfter(ctx, from, pumpBatch)
	if err != nil || len(logins) == 0 {
		return false, err
	}
	var msgs []store.NewOutboxMessage
	var hooks []store.Webhook
	var rules []store.NotifyRule
	for i, l := range logins {
		if !l.NewSource {
			continue
		}
		if hooks == nil {
			if hooks, err = p.st.ListWebhooks(ctx); err != nil {
				return false, err
			}
			if rules, err = p.st.ListNotifyRules(ctx); err != nil {
				return false, err
			}
		}
		n := notice{event: EventNewSource, template: "login_new_source", users: []string{l.User},
			data: map[string]any{"User": l.User, "Source": l.Source, "Method": l.Method}}
		m, err := p.build(ctx, n, store.Operation{ID: l.ID, At: l.At, Actor: "ssh:" + l.User}, hooks, rules)
		if err != nil {
			p.logger.Error("notify: cannot notify a login", "login", logins[i].ID, "err", err)
			continue
		}
		msgs = append(msgs, m...)
	}
	more, err := p.advance(ctx, loginsCursor, from, logins[len(logins)-1].ID, msgs)
	return more && len(logins) == pumpBatch, err
}

// advance queues msgs and moves cursor name from from to to; it reports
// whether to read on.
func (p *Pump) advance(ctx context.Context, name string, from, to int64, msgs []store.NewOutboxMessage) (bool, error) {
	err := p.st.AdvanceNotifyCursor(ctx, name, from, to, msgs)
	for _, m := range msgs {
		clear(m.Payload)
	}
	if errors.Is(err, store.ErrCursorMoved) {
		return true, nil // another server queued them: read on from where it is
	}
	if err != nil {
		return false, err
	}
	if len(msgs) > 0 {
		p.cfg.Wake()
	}
	return true, nil
}

// notice is an event made of an operation: who gets it by default, and
// what its templates and webhooks see.
type notice struct {
	event    string
	users    []string // by name
	roles    []string // everyone of these roles with an address
	data     map[string]any
	template string
}

func (p *Pump) messages(ctx context.Context, op store.Operation, hooks []store.Webhook, rules []store.NotifyRule) ([]store.NewOutboxMessage, error) {
	n, err := p.notice(ctx, op)
	if err != nil || n.event == "" {
		return nil, err
	}
	if n, err = p.inOrg(ctx, op, n); err != nil {
		return nil, err
	}
	return p.build(ctx, n, op, hooks, rules)
}

// build renders n's mails for its recipients and its webhook posts.
func (p *Pump) build(ctx context.Context, n notice, op store.Operation, hooks []store.Webhook, rules []store.NotifyRule) ([]store.NewOutboxMessage, error) {
	n.data["Bastion"] = p.cfg.Bastion
	n.data["At"] = op.At.UTC().Format(time.RFC3339)
	n.data["Actor"] = op.Actor
	recipients, err := p.recipients(ctx, n, rules)
	if err != nil {
		return nil, err
	}
	var msgs []store.NewOutboxMessage
	for _, r := range recipients {
		data := cloneData(n.data)
		data["Name"] = r.Name
		m, err := mailMessage(p.cfg.Templates, n.template, r.Email, data)
		if err != nil {
			return nil, err
		}
		m.Event = n.event
		if r.digest {
			// Due at the end of the current period: every digest mail
			// of the period leaves together.
			m.Digest, m.DueAt = true, time.Now().Truncate(p.cfg.Digest).Add(p.cfg.Digest)
		}
		msgs = append(msgs, m)
	}
	// Webhooks get the event with the subject line of the English mail.
	subject := n.event
	if m, err := (Templates{Dir: p.cfg.Templates.Dir}).Render(n.template, "", n.data); err == nil {
		subject = m.Subject
	}
	posts, err := webhookMessages(hooks, Event{Event: n.event, At: op.At.UTC(), Text: subject, Data: n.data})
	if err != nil {
		return nil, err
	}
	return append(msgs, posts...), nil
}

func cloneData(d map[string]any) map[string]any {
	out := make(map[string]any, len(d)+1)
	for k, v := range d {
		out[k] = v
	}
	return out
}

// notifiedActions are the operations a Pump reads.
var notifiedActions = []string{"ticket.open", "ticket.approve", "ticket.reject", "user.lock", "login.lock",
	"user.mfa.disable", "session.kill", "account.push", "account.rotate", "server.gone",
	"recording.upload.failing", "recording.upload.behind"}

func (p *Pump) notice(ctx context.Context, op store.Operation) (notice, error) {
	detail := map[string]any{}
	if op.Detail != "" {
		if err := json.Unmarshal([]byte(op.Detail), &detail); err != nil {
			return notice{}, fmt.Errorf("operation %d: %w", op.ID, err)
		}
	}
	str := func(k string) string { s, _ := detail[k].(string); return s }
	switch op.Action {
	case "ticket.open":
		return notice{event: EventTicketOpen, template: "ticket_open", roles: []string{store.RoleAdmin}, data: map[string]any{
			"Ticket": op.Target, "User": str("user"), "Asset": str("asset"), "Account": str("account"),
			"Command": str("command"), "Filter": str("filter"), "Session": str("session"),
			"Approve": "jmsctl ticket approve " + op.Target, "Reject": "jmsctl ticket reject " + op.Target}}, nil
	case "ticket.approve", "ticket.reject":
		id, err := strconv.ParseInt(op.Target, 10, 64)
		if err != nil {
			return notice{}, fmt.Errorf("ticket %q: %w", op.Target, err)
		}
		t, err := p.st.GetTicket(ctx, id)
		if err != nil {
			return notice{}, err
		}
		return notice{event: EventTicketDecided, template: "ticket_decided", users: []string{t.User}, data: map[string]any{
			"Ticket": op.Target, "User": t.User, "Asset": t.Asset, "Account": t.Account, "Command": t.Command,
			"Status": t.Status, "DecidedBy": t.DecidedBy, "Reason": str("reason")}}, nil
	case "user.lock":
		return notice{event: EventUserLocked, template: "user_locked", users: []string{op.Target}, roles: []string{store.RoleAdmin},
			data: map[string]any{"User": op.Target, "Until": str("until"), "Reason": str("reason")}}, nil
	case "login.lock":
		// Failed logins locked a name (from an address, or her password
		// everywhere): told when the name is a person's, not for every
		// name a guesser tried.
		if _, err := p.st.GetRecipient(ctx, op.Target); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return notice{}, nil
			}
			return notice{}, err
		}
		return notice{event: EventUserLocked, template: "user_locked", users: []string{op.Target}, roles: []string{store.RoleAdmin},
			data: map[string]any{"User": op.Target, "Until": str("until"), "Reason": str("reason") + sourceNote(str("source"))}}, nil
	case "user.mfa.disable":
		return notice{event: EventMFAReset, template: "mfa_reset", users: []string{op.Target},
			data: map[string]any{"User": op.Target}}, nil
	case "session.kill":
		return notice{event: EventSessionKilled, template: "session_killed", users: []string{str("user")},
			data: map[string]any{"User": str("user"), "Session": op.Target, "Asset": str("asset"), "Reason": str("reason")}}, nil
	case "account.push", "account.rotate":
		return accountNotice(op, str), nil
	case "server.gone":
		return notice{event: EventNodeGone, template: "node_gone", roles: []string{store.RoleAdmin},
			data: map[string]any{"Node": op.Target, "Reason": str("reason"), "Sessions": num(detail["sessions"])}}, nil
	case "recording.upload.failing", "recording.upload.behind":
		return uploadNotice(op, str, detail), nil
	}
	return notice{}, nil
}

// sourceNote says which address a lock is for ("" for every address).
func sourceNote(source string) string {
	if source == "" || source == "*" {
		return ""
	}
	return " (from " + source + ")"
}
