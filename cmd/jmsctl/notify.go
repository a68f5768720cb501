package main

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/notify"
	"github.com/jms-bastion/jms/store"
)

func newNotifyCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "Notifications: webhooks, a test event, the outbox",
		Long: `Every mail and webhook post jms sends is queued in the outbox first and
delivered by 'jmsctl serve' in the background, retried with backoff
(notify_retry, notify_max_attempts) while the server or endpoint is down.
'notify outbox' shows what is pending and what failed, with the last error.`,
		Example: `  jmsctl notify outbox
  printf '%s\n' "$HOOK_SECRET" | jmsctl notify webhook add ops --url https://chat.example.com/hook --secret-stdin
  jmsctl notify test --to alice@example.com --webhook ops`,
	}
	cmd.AddCommand(newNotifyOutboxCmd(a), newNotifyTestCmd(a), newWebhookCmd(a), newNotifyRuleCmd(a))
	return cmd
}

func outboxColumns() []column[store.OutboxMessage] {
	return []column[store.OutboxMessage]{
		{"id", func(m store.OutboxMessage) string { return strconv.FormatInt(m.ID, 10) }},
		{"created", func(m store.OutboxMessage) string { return fmtTime(m.CreatedAt) }},
		{"channel", func(m store.OutboxMessage) string { return m.Channel }},
		{"recipient", func(m store.OutboxMessage) string { return m.Recipient }},
		{"event", func(m store.OutboxMessage) string { return m.Event }},
		{"status", func(m store.OutboxMessage) string { return m.Status }},
		{"attempts", func(m store.OutboxMessage) string { return strconv.Itoa(m.Attempts) }},
		{"next", func(m store.OutboxMessage) string {
			if m.Status != store.OutboxPending {
				return ""
			}
			return fmtTime(m.NextAt)
		}},
		{"last_error", func(m store.OutboxMessage) string { return m.LastError }},
		{"subject", func(m store.OutboxMessage) string { return m.Subject }},
	}
}

func newNotifyOutboxCmd(a *app) *cobra.Command {
	var status string
	cmd := &cobra.Command{
		Use:   "outbox",
		Short: "Messages waiting to be sent and those that failed, with the last error",
		Example: `  jmsctl notify outbox
  jmsctl notify outbox --status all -o json
  jmsctl notify outbox retry        # every failed message, now
  jmsctl notify outbox retry 12`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			if status == "pending,failed" {
				status = ""
			}
			ms, err := s.ListOutbox(cmd.Context(), status)
			if err != nil {
				return fmt.Errorf("--status %q: want pending, sent, failed, all or pending,failed", status)
			}
			return render(a.listing(), ms, outboxColumns())
		},
	}
	cmd.Flags().StringVar(&status, "status", "pending,failed", "pending, sent, failed, all or pending,failed")
	retry := &cobra.Command{
		Use:   "retry [ID]",
		Short: "Send failed messages again now (all of them, or one)",
		Example: `  jmsctl notify outbox retry
  jmsctl notify outbox retry 12`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var id int64
			if len(args) == 1 {
				n, err := strconv.ParseInt(args[0], 10, 64)
				if err != nil || n < 1 {
					return fmt.Errorf("message %q: want a number from 'jmsctl notify outbox'", args[0])
				}
				id = n
			}
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			n, err := s.RetryOutbox(cmd.Context(), id)
			if err != nil {
				return err
			}
			if id > 0 && n == 0 {
				return fmt.Errorf("message %d: %w (or already sent)", id, store.ErrNotFound)
			}
			fmt.Fprintf(a.stdout, "%d message(s) due now; serve sends them within notify_poll\n", n)
			return nil
		},
	}
	cmd.AddCommand(retry)
	return cmd
}

func newNotifyTestCmd(a *app) *cobra.Command {
	var to, hooks []string
	cmd := &cobra.Command{
		Use:   "test (--to ADDRESS | --webhook NAME | --all-webhooks)...",
		Short: "Queue a test event: mail to addresses, a post to webhooks",
		Long: `test queues a test message in the outbox, the way every event travels:
serve delivers it in the background (within notify_poll) and
'jmsctl notify outbox' shows it until it is sent, or why it failed.
To see an SMTP server's answer at once, use 'jmsctl settings mail test'.`,
		Example: `  jmsctl notify test --to alice@example.com
  jmsctl notify test --webhook ops
  jmsctl notify test --all-webhooks`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			all, _ := cmd.Flags().GetBool("all-webhooks")
			if len(to) == 0 && len(hooks) == 0 && !all {
				return errors.New("say where to: --to ADDRESS, --webhook NAME or --all-webhooks")
			}
			ctx := a.actorContext(cmd.Context())
			cfg, err := a.config()
			if err != nil {
				return err
			}
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			actor := osActor(a.getenv("SUDO_USER"))
			n := notify.NewNotifier(s, templates(cfg), nil)
			for _, addr := range to {
				if _, err := notify.ParseAddress(addr); err != nil {
					return fmt.Errorf("--to %q: %w", addr, err)
				}
				if err := n.Mail(ctx, "test", addr, map[string]any{
					"To": addr, "At": time.Now().UTC().Format(time.RFC3339), "Actor": actor}); err != nil {
					return err
				}
			}
			posted := 0
			if len(hooks) > 0 || all {
				if posted, err = queueTestEvent(cmd, s, n, hooks, actor); err != nil {
					return err
				}
			}
			fmt.Fprintf(a.stdout, "Queued %d mail(s) and %d webhook post(s); see 'jmsctl notify outbox'\n", len(to), posted)
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&to, "to", nil, "mail address (repeatable)")
	cmd.Flags().StringArrayVar(&hooks, "webhook", nil, "webhook name (repeatable)")
	cmd.Flags().Bool("all-webhooks", false, "every webhook, whatever events it takes")
	return cmd
}

func queueTestEvent(cmd *cobra.Command, s *store.Store, n *notify.Notifier, hooks []string, actor string) (int, error) {
	ctx := cmd.Context()
	only := hooks
	if len(only) == 0 {
		all, err := s.ListWebhooks(ctx)
		if err != nil {
			return 0, err
		}
		for _, h := range all {
			only = append(only, h.Name)
		}
	}
	for _, name := range hooks {
		if _, _, err := webhookExists(cmd, s, name); err != nil {
			return 0, err
		}
	}
	if len(only) == 0 {
		return 0, errors.New("no webhooks: add one with 'jmsctl notify webhook add'")
	}
	return n.Webhooks(ctx, notify.Event{Event: notify.EventTest, Text: "jms test event from " + actor,
		Data: map[string]any{"actor": actor}}, only...)
}

func webhookExists(cmd *cobra.Command, s *store.Store, name string) (store.Webhook, bool, error) {
	hooks, err := s.ListWebhooks(cmd.Context())
	if err != nil {
		return store.Webhook{}, false, err
	}
	for _, h := range hooks {
		if h.Name == name {
			return h, true, nil
		}
	}
	return store.Webhook{}, false, fmt.Errorf("webhook %q: %w (see 'jmsctl notify webhook list')", name, store.ErrNotFound)
}

func newWebhookCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "webhook",
		Short: "HTTP endpoints that receive events as signed JSON: add, list, rm",
		Example: `  printf '%s\n' "$SECRET" | jmsctl notify webhook add ops --url https://chat.example.com/hook --secret-stdin
  jmsctl notify webhook list
  jmsctl notify webhook rm ops`,
	}
	cmd.AddCommand(newWebhookAddCmd(a), newWebhookListCmd(a), newWebhookRmCmd(a))
	return cmd
}

func newWebhookAddCmd(a *app) *cobra.Command {
	var rawURL string
	var secretStdin bool
	var events []string
	cmd := &cobra.Command{
		Use:   "add NAME --url URL [--secret-stdin] [--events E,…]",
		Short: "Add a webhook",
		Long: `add registers an endpoint that serve posts events to, as JSON
({"event", "at", "text", "data"}). With --secret-stdin each post carries
X-Jms-Timestamp (Unix seconds) and X-Jms-Signature: "sha256=" and the hex
HMAC-SHA256, under the secret, of the timestamp, a dot and the body. The
secret is sealed with the data directory's key. --events limits the events
posted (all by default); see docs/notifications.md for their names.`,
		Example: `  printf '%s\n' "$SECRET" | jmsctl notify webhook add ops --url https://chat.example.com/hook --secret-stdin
  jmsctl notify webhook add siem --url https://siem.corp/jms --events user.locked,session.killed`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			u, err := url.Parse(rawURL)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return fmt.Errorf("--url %q: want an http:// or https:// URL", rawURL)
			}
			for _, e := range events {
				if !notify.KnownEvent(e) {
					return fmt.Errorf("--events: unknown event %q (want some of %s)", e, strings.Join(notify.EventNames(), ", "))
				}
			}
			h := store.Webhook{Name: args[0], URL: u.String(), Events: events}
			if secretStdin {
				if h.Secret, err = readSecret(a.stdin, "webhook secret"); err != nil {
					return err
				}
				defer clear(h.Secret)
			}
			ctx := a.actorContext(cmd.Context())
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			if _, err := s.AddWebhook(ctx, h); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Added webhook %s; try it with 'jmsctl notify test --webhook %s'\n", h.Name, h.Name)
			return nil
		},
	}
	cmd.Flags().StringVar(&rawURL, "url", "", "where to post (https:// unless on a trusted network)")
	cmd.Flags().BoolVar(&secretStdin, "secret-stdin", false, "read the signing secret from stdin")
	cmd.Flags().StringSliceVar(&events, "events", nil, "events to post, comma-separated (default: all)")
	_ = cmd.MarkFlagRequired("url")
	return cmd
}

func newWebhookListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List webhooks",
		Example: `  jmsctl notify webhook list
  jmsctl notify webhook list -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			hooks, err := s.ListWebhooks(cmd.Context())
			if err != nil {
				return err
			}
			return render(a.listing(), hooks, []column[store.Webhook]{
				{"name", func(h store.Webhook) string { return h.Name }},
				{"url", func(h store.Webhook) string { return redactValue("url", h.URL) }},
				{"events", func(h store.Webhook) string {
					if len(h.Events) == 0 {
						return "all"
					}
					return strings.Join(h.Events, ",")
				}},
				{"signed", func(h store.Webhook) string { return strconv.FormatBool(h.Signed) }},
				{"created", func(h store.Webhook) string { return fmtTime(h.CreatedAt) }},
			})
		},
	}
}

func newWebhookRmCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "rm NAME",
		Short:   "Remove a webhook (posts still queued for it fail)",
		Example: `  jmsctl notify webhook rm ops`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			if err := s.RemoveWebhook(ctx, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Removed webhook %s\n", args[0])
			return nil
		},
	}
}
