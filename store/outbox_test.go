package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clockStore is a test store whose clock the test moves.
func clockStore(t *testing.T) (*Store, *time.Time) {
	t.Helper()
	raw, err := GenerateKeyBytes()
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewKey(raw, "test")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "jms.db"), Options{
		Sealer: NewSealer(k), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, &now
}

func TestOutboxLifecycle(t *testing.T) {
	ctx := context.Background()
	s, now := clockStore(t)
	secret := "one-time-password-Zq81"
	if err := s.Enqueue(ctx,
		NewOutboxMessage{Channel: ChannelMail, Recipient: "a@example.com", Event: "invite", Subject: "Welcome", Payload: Secret(secret)},
		NewOutboxMessage{Channel: ChannelWebhook, Recipient: "ops", Event: "test", Payload: Secret(`{"event":"test"}`)},
	); err != nil {
		t.Fatal(err)
	}
	if err := s.Enqueue(ctx, NewOutboxMessage{Channel: "pigeon", Recipient: "x", Payload: Secret("x")}); err == nil {
		t.Error("an unknown channel was queued")
	}

	got, err := s.ClaimOutbox(ctx, time.Minute, 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("claim: %v, %d messages", err, len(got))
	}
	if string(got[0].Payload) != secret {
		t.Errorf("payload opened as %q", got[0].Payload)
	}
	// Claimed: leased, not handed out again until the lease ends.
	if again, _ := s.ClaimOutbox(ctx, time.Minute, 10); len(again) != 0 {
		t.Errorf("leased messages claimed again: %d", len(again))
	}

	if err := s.OutboxSent(ctx, got[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := s.OutboxFailed(ctx, got[1].ID, "HTTP: 502", now.Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.ClaimOutbox(ctx, time.Minute, 10); len(again) != 0 {
		t.Errorf("a message was claimed before its retry time: %d", len(again))
	}
	*now = now.Add(31 * time.Second)
	again, err := s.ClaimOutbox(ctx, time.Minute, 10)
	if err != nil || len(again) != 1 || again[0].Attempts != 1 || again[0].LastError != "HTTP: 502" {
		t.Fatalf("retry: %v %+v", err, again)
	}
	if err := s.OutboxFailed(ctx, again[0].ID, "HTTP: 502 again", time.Time{}); err != nil {
		t.Fatal(err)
	}

	list, err := s.ListOutbox(ctx, "")
	if err != nil || len(list) != 1 || list[0].Status != OutboxFailed || list[0].Attempts != 2 {
		t.Fatalf("pending and failed: %v %+v", err, list)
	}
	if all, _ := s.ListOutbox(ctx, "all"); len(all) != 2 || all[0].Status != OutboxSent || all[0].SentAt == nil {
		t.Errorf("all: %+v", all)
	}
	if _, err := s.ListOutbox(ctx, "bogus"); err == nil {
		t.Error("a bogus status was taken")
	}

	n, err := s.RetryOutbox(ctx, 0)
	if err != nil || n != 1 {
		t.Fatalf("retry: %v %d", err, n)
	}
	if again, _ := s.ClaimOutbox(ctx, time.Minute, 10); len(again) != 1 || again[0].Attempts != 0 {
		t.Errorf("a retried message: %+v", again)
	}

	// Secrets are sealed at rest, and a sent message's payload is gone.
	var seq int
	var name, path string
	if err := s.db.QueryRow(`PRAGMA database_list`).Scan(&seq, &name, &path); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(path + "-wal")
	if strings.Contains(string(db)+string(wal), secret) {
		t.Error("a queued payload is in the database in clear")
	}
}

func TestMailSettingsSealed(t *testing.T) {
	ctx := context.Background()
	s, _ := clockStore(t)
	if _, err := s.GetMailSettings(ctx); err == nil {
		t.Fatal("mail settings before any were set")
	}
	m := MailSettings{Host: "smtp.example.com", Port: 465, Security: MailSSL, Username: "jms", From: "jms@example.com"}
	if err := s.SetMailSettings(ctx, m, Secret("smtp-Pw-77")); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetMailSettings(ctx)
	if err != nil || string(got.Password) != "smtp-Pw-77" || !got.HasPassword || got.Host != m.Host {
		t.Fatalf("%v %+v", err, got)
	}
	// nil keeps the password, empty drops it.
	m.Port = 2465
	if err := s.SetMailSettings(ctx, m, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetMailSettings(ctx); string(got.Password) != "smtp-Pw-77" || got.Port != 2465 {
		t.Errorf("after a change without a password: %+v", got)
	}
	if err := s.SetMailSettings(ctx, m, Secret{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.MailSettingsRedacted(ctx); got.HasPassword {
		t.Error("the password was not dropped")
	}
	for _, bad := range []MailSettings{
		{Host: "", Port: 25, Security: MailNoTLS, From: "a@b"},
		{Host: "h", Port: 0, Security: MailNoTLS, From: "a@b"},
		{Host: "h", Port: 25, Security: "tls13", From: "a@b"},
		{Host: "h", Port: 25, Security: MailNoTLS},
	} {
		if err := s.SetMailSettings(ctx, bad, nil); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}

func TestWebhooks(t *testing.T) {
	ctx := context.Background()
	s, _ := clockStore(t)
	if _, err := s.AddWebhook(ctx, Webhook{Name: "ops", URL: "https://h.example/x", Secret: Secret("hook-secret"), Events: []string{"test"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddWebhook(ctx, Webhook{Name: "ops", URL: "https://h.example/y"}); err == nil {
		t.Error("a second webhook named ops")
	}
	if _, err := s.AddWebhook(ctx, Webhook{Name: "Bad Name", URL: "https://h.example/y"}); err == nil {
		t.Error("a bad webhook name was taken")
	}
	h, err := s.GetWebhook(ctx, "ops")
	if err != nil || string(h.Secret) != "hook-secret" || !h.Signed || len(h.Events) != 1 {
		t.Fatalf("%v %+v", err, h)
	}
	list, err := s.ListWebhooks(ctx)
	if err != nil || len(list) != 1 || list[0].Secret != nil {
		t.Fatalf("%v %+v", err, list)
	}
	if err := s.RemoveWebhook(ctx, "ops"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveWebhook(ctx, "ops"); err == nil {
		t.Error("removed twice")
	}
}

// TestRekeyReSealsNotifySecrets: the SMTP password, webhook secrets and queued payloads are
// re-sealed by a rekey, and open under the new key alone.
func TestRekeyReSealsNotifySecrets(t *testing.T) {
	ctx := context.Background()
	s, _ := clockStore(t)
	if err := s.SetMailSettings(ctx, MailSettings{Host: "h", Port: 25, Security: MailNoTLS, From: "a@b"}, Secret("smtp-pw")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddWebhook(ctx, Webhook{Name: "ops", URL: "https://x", Secret: Secret("hook")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Enqueue(ctx, NewOutboxMessage{Channel: ChannelMail, Recipient: "a@b", Event: "test", Payload: Secret("body")}); err != nil {
		t.Fatal(err)
	}
	raw, _ := GenerateKeyBytes()
	k, _ := NewKey(raw, "new")
	n, err := s.Rekey(ctx, NewSealer(k))
	if err != nil || n != 3 {
		t.Fatalf("rekey: %v, %d re-sealed, want 3", err, n)
	}
	s.setSealer(NewSealer(k)) // the new key only
	if m, err := s.GetMailSettings(ctx); err != nil || string(m.Password) != "smtp-pw" {
		t.Errorf("mail password after rekey: %v %q", err, m.Password)
	}
	if h, err := s.GetWebhook(ctx, "ops"); err != nil || string(h.Secret) != "hook" {
		t.Errorf("webhook secret after rekey: %v", err)
	}
	if got, err := s.ClaimOutbox(ctx, time.Minute, 10); err != nil || len(got) != 1 || string(got[0].Payload) != "body" {
		t.Errorf("payload after rekey: %v %+v", err, got)
	}
}
