package notify

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jms-bastion/jms/store"
)

// TestPumpAdminEvents: the automation's, the recording uploads' and the
// cluster's events mail the admins, in each language, with what to do.
func TestPumpAdminEvents(t *testing.T) {
	tests := []struct {
		name    string
		action  string
		target  string
		detail  map[string]any
		event   string // "" when nothing is told
		subject []string
		text    []string
	}{
		{name: "push failed", action: "account.push", target: "deploy@web1",
			detail: map[string]any{"result": "failed: verify the login: permission denied", "template": "deploy"},
			event:  EventPushFailed, subject: []string{"push failed", "deploy", "web1"},
			text: []string{"failed: verify the login: permission denied", "Template: deploy", "jmsctl account push web1"}},
		{name: "push unreachable", action: "account.push", target: "deploy@web2",
			detail: map[string]any{"result": "unreachable", "detail": "dial tcp 10.0.0.2:22: connection refused"},
			event:  EventPushFailed, subject: []string{"web2"},
			text: []string{"unreachable: dial tcp 10.0.0.2:22: connection refused"}},
		{name: "push worked", action: "account.push", target: "deploy@web1", detail: map[string]any{"result": "changed"}},
		{name: "rotation failed", action: "account.rotate", target: "app@db1",
			detail: map[string]any{"result": "failed: set: chpasswd: exit status 1 (rolled back)"},
			event:  EventRotateFailed, subject: []string{"rotation failed", "app", "db1"},
			text: []string{"set: chpasswd", "old secret stays valid", "jmsctl account rotate db1 app"}},
		{name: "rotation worked", action: "account.rotate", target: "app@db1", detail: map[string]any{"result": "changed"}},
		{name: "uploads failing", action: "recording.upload.failing", target: "node-a",
			detail: map[string]any{"error": "s3://rec: connection refused", "store": "s3://rec", "session": "s1"},
			event:  EventUploadFailing, subject: []string{"node-a", "failing"},
			text: []string{"s3://rec: connection refused", "jmsctl recording status"}},
		{name: "uploads behind", action: "recording.upload.behind", target: "node-a",
			detail: map[string]any{"oldest_waiting": "16m0s", "store": "s3://rec", "spool_bytes": 123456, "error": "timeout"},
			event:  EventUploadBehind, subject: []string{"node-a", "falling behind"},
			text: []string{"waited 16m0s", "123456 bytes", "timeout"}},
		{name: "node gone", action: "server.gone", target: "node-b",
			detail: map[string]any{"reason": "missed its heartbeats since 2026-11-30T08:00:00Z", "sessions": 3},
			event:  EventNodeGone, subject: []string{"node-b is gone"},
			text: []string{"missed its heartbeats since 2026-11-30T08:00:00Z", "interrupted: 3", "jmsctl server list"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := testStore(t)
			for _, u := range []store.NewUser{
				{Name: "boss", Email: "boss@example.com", Role: store.RoleAdmin},
				{Name: "alice", Email: "alice@example.com"},
			} {
				if _, err := s.AddUser(ctx, u); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.AddWebhook(ctx, store.Webhook{Name: "siem", URL: "https://siem.example/x"}); err != nil {
				t.Fatal(err)
			}
			if err := s.RecordOperation(store.WithActor(ctx, "job:rotate"), tt.action, tt.target, tt.detail); err != nil {
				t.Fatal(err)
			}
			p := NewPump(s, PumpConfig{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if _, err := p.Once(ctx); err != nil {
				t.Fatal(err)
			}
			mails, posts := queued(t, s)
			if tt.event == "" {
				if len(mails)+len(posts) != 0 {
					t.Fatalf("a success was told: %+v %+v", mails, posts)
				}
				return
			}
			if len(mails) != 1 || mails[0].To != "boss@example.com" {
				t.Fatalf("mails %+v, want one to the admin", mails)
			}
			for _, want := range tt.subject {
				if !strings.Contains(mails[0].Subject, want) {
					t.Errorf("subject %q lacks %q", mails[0].Subject, want)
				}
			}
			for _, want := range tt.text {
				if !strings.Contains(mails[0].Text, want) || !strings.Contains(mails[0].HTML, want) {
					t.Errorf("mail lacks %q:\n%s\n%s", want, mails[0].Text, mails[0].HTML)
				}
			}
			if len(posts) != 1 || posts[0].Event != tt.event {
				t.Errorf("webhook posts %+v, want one %s", posts, tt.event)
			}
		})
	}
}

// TestPumpAdminEventsRuleOff: an admin turns an event off with a rule.
func TestPumpAdminEventsRuleOff(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	for _, u := range []store.NewUser{
		{Name: "boss", Email: "boss@example.com", Role: store.RoleAdmin},
		{Name: "root2", Email: "root2@example.com", Role: store.RoleAdmin},
	} {
		if _, err := s.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.SetNotifyRule(ctx, store.NotifyRule{Event: EventNodeGone, SubjectKind: "user", Subject: "root2", Mode: store.NotifyOff}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordOperation(ctx, "server.gone", "node-b", map[string]any{"reason": "missed", "sessions": 0}); err != nil {
		t.Fatal(err)
	}
	if _, err := NewPump(s, PumpConfig{}, slog.New(slog.NewTextHandler(io.Discard, nil))).Once(ctx); err != nil {
		t.Fatal(err)
	}
	if mails, _ := queued(t, s); len(mails) != 1 || mails[0].To != "boss@example.com" {
		t.Fatalf("mails %+v, want only boss's", mails)
	}
}

// TestPumpNodeGoneFromTheCluster: a node the store reaps is told, once.
func TestPumpNodeGoneFromTheCluster(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	if _, err := s.AddUser(ctx, store.NewUser{Name: "boss", Email: "boss@example.com", Role: store.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RegisterServer(ctx, store.ServerRegistration{Name: "node-b", Instance: "i-b"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	p := NewPump(s, PumpConfig{Templates: Templates{Language: "zh-CN"}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for range 2 {
		if _, err := s.ReapServers(ctx, time.Now().Add(time.Hour), time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Once(ctx); err != nil {
			t.Fatal(err)
		}
	}
	mails, _ := queued(t, s)
	if len(mails) != 1 || !strings.Contains(mails[0].Subject, "node-b 已失联") || !strings.Contains(mails[0].Text, "jmsctl server list") {
		t.Fatalf("mails %+v, want one in Chinese", mails)
	}
}
