package notify

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jms-bastion/jms/store"
)

func testStore(t *testing.T) *store.Store {
	t.Helper()
	raw, err := store.GenerateKeyBytes()
	if err != nil {
		t.Fatal(err)
	}
	k, err := store.NewKey(raw, "test")
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "jms.db"), store.Options{Sealer: store.NewSealer(k)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// queuedMails returns the pending outbox rows by channel, with the mails opened.
func queued(t *testing.T, s *store.Store) (mails []Mail, posts []Event) {
	t.Helper()
	msgs, err := s.ClaimOutbox(context.Background(), time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		switch m.Channel {
		case store.ChannelMail:
			var mail Mail
			if err := json.Unmarshal(m.Payload, &mail); err != nil {
				t.Fatal(err)
			}
			mails = append(mails, mail)
		case store.ChannelWebhook:
			var ev Event
			if err := json.Unmarshal(m.Payload, &ev); err != nil {
				t.Fatal(err)
			}
			posts = append(posts, ev)
		}
		if err := s.OutboxSent(context.Background(), m.ID); err != nil {
			t.Fatal(err)
		}
	}
	return mails, posts
}

func TestPumpTicketMails(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	for _, u := range []store.NewUser{
		{Name: "boss", Email: "boss@example.com", Role: store.RoleAdmin},
		{Name: "root2", Email: "root2@example.com", Role: store.RoleAdmin},
		{Name: "noaddr", Role: store.RoleAdmin},
		{Name: "alice", Email: "alice@example.com"},
		{Name: "audrey", Email: "audrey@example.com", Role: store.RoleAuditor},
	} {
		if _, err := s.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddWebhook(ctx, store.Webhook{Name: "chat", URL: "https://chat.example/x", Events: []string{EventTicketOpen}}); err != nil {
		t.Fatal(err)
	}
	// root2 opts out of tickets; auditors opt in.
	for _, r := range []store.NotifyRule{
		{Event: EventTicketOpen, SubjectKind: "user", Subject: "root2", Mode: store.NotifyOff},
		{Event: "*", SubjectKind: "role", Subject: store.RoleAuditor, Mode: store.NotifyOn},
	} {
		if _, err := s.SetNotifyRule(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	p := NewPump(s, PumpConfig{Templates: Templates{}, Bastion: "bastion.example.com:2222"}, slog.New(slog.NewTextHandler(io.Discard, nil)))

	tk, err := s.AddTicket(ctx, store.NewTicket{SessionID: "s1", User: "alice", Asset: "web1", Account: "root",
		Command: "rm -rf /tmp/x", Filter: "careful"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Once(ctx); err != nil {
		t.Fatal(err)
	}
	mails, posts := queued(t, s)
	var to []string
	for _, m := range mails {
		to = append(to, m.To)
	}
	if strings.Join(to, ",") != "audrey@example.com,boss@example.com" {
		t.Errorf("ticket mail to %v, want audrey and boss", to)
	}
	approve := "jmsctl ticket approve " + strconv.FormatInt(tk.ID, 10)
	for _, m := range mails {
		if !strings.Contains(m.Text, approve) || !strings.Contains(m.Text, "rm -rf /tmp/x") || !strings.Contains(m.HTML, approve) {
			t.Errorf("ticket mail lacks the approve line or the command:\n%s", m.Text)
		}
	}
	if len(posts) != 1 || posts[0].Event != EventTicketOpen || posts[0].Data["Command"] != "rm -rf /tmp/x" {
		t.Errorf("webhook posts %+v", posts)
	}

	// Each operation once: a second pass queues nothing.
	if _, err := p.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if m, p := queued(t, s); len(m)+len(p) != 0 {
		t.Errorf("queued again: %v %v", m, p)
	}

	if _, err := s.DecideTicket(ctx, tk.ID, false, "boss", "not now"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Once(ctx); err != nil {
		t.Fatal(err)
	}
	mails, _ = queued(t, s)
	var alice *Mail
	for i := range mails {
		if mails[i].To == "alice@example.com" {
			alice = &mails[i]
		}
	}
	if alice == nil || !strings.Contains(alice.Subject, "rejected") || !strings.Contains(alice.Text, "Reason: not now") {
		t.Errorf("decision mails %+v", mails)
	}
}

// TestEveryTemplateRenders: each event's template renders in each language with the data the
// pump gives it, subject on one line.
func TestEveryTemplateRenders(t *testing.T) {
	data := map[string]any{"Ticket": "7", "User": "alice", "Asset": "web1", "Account": "root", "Command": "ls",
		"Filter": "f", "Session": "s", "Approve": "jmsctl ticket approve 7", "Reject": "jmsctl ticket reject 7",
		"Status": "approved", "DecidedBy": "boss", "Reason": "", "Until": "", "Bastion": "", "At": "now", "Actor": "os:root",
		"Name": "alice", "To": "a@example.com", "Source": "192.0.2.1", "Method": "password",
		"Action": "rotation", "Template": "", "Result": "failed: set: x", "Retry": "jmsctl account rotate web1 root",
		"Node": "node-a", "Sessions": "2", "Store": "s3://rec", "Error": "", "Waiting": "16m0s", "SpoolBytes": "1"}
	for _, lang := range Languages {
		for _, name := range []string{"test", "ticket_open", "ticket_decided", "user_locked", "mfa_reset", "session_killed", "login_new_source",
			"account_failed", "node_gone", "upload_failing", "upload_behind"} {
			m, err := Templates{Language: lang}.Render(name, "a@example.com", data)
			if err != nil {
				t.Errorf("%s/%s: %v", lang, name, err)
				continue
			}
			if strings.Contains(strings.TrimSpace(m.Subject), "\n") || m.Text == "" || m.HTML == "" {
				t.Errorf("%s/%s: %+v", lang, name, m)
			}
		}
	}
}

func TestPumpNewSourceLogin(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	if _, err := s.AddUser(ctx, store.NewUser{Name: "alice", Email: "alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	p := NewPump(s, PumpConfig{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	login := func(source, result string) {
		t.Helper()
		if err := s.AddLoginEvent(ctx, store.LoginEvent{User: "alice", Source: source, Method: "password", Result: result}); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Once(ctx); err != nil {
			t.Fatal(err)
		}
	}
	login("192.0.2.1", store.LoginSuccess) // her first login: no mail
	login("192.0.2.1", store.LoginSuccess) // the same address
	login("198.51.100.7", store.LoginFailure)
	login("2001:db8::1", store.LoginSuccess) // new
	login("2001:db8::2", store.LoginSuccess) // the same /64
	mails, _ := queued(t, s)
	if len(mails) != 1 || !strings.Contains(mails[0].Subject, "2001:db8::1") || mails[0].To != "alice@example.com" {
		t.Fatalf("new-source mails %+v", mails)
	}
}

func TestPumpGrantExpiring(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	for _, u := range []store.NewUser{
		{Name: "alice", Email: "alice@example.com"},
		{Name: "boss", Email: "boss@example.com", Role: store.RoleAdmin},
	} {
		if _, err := s.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddAsset(ctx, store.NewAsset{Name: "web1", Address: "10.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	soon, later := time.Now().Add(3*24*time.Hour), time.Now().Add(30*24*time.Hour)
	for name, until := range map[string]time.Time{"soon": soon, "later": later} {
		if _, err := s.AddGrant(ctx, store.NewGrant{Name: name, Users: []string{"alice"}, Assets: []string{"web1"},
			Accounts: []string{"@all"}, ValidUntil: &until}); err != nil {
			t.Fatal(err)
		}
	}
	p := NewPump(s, PumpConfig{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for range 2 { // told once
		if _, err := p.Once(ctx); err != nil {
			t.Fatal(err)
		}
	}
	mails, _ := queued(t, s)
	var to []string
	for _, m := range mails {
		to = append(to, m.To)
		if !strings.Contains(m.Subject, "grant soon ends") || !strings.Contains(m.Text, "alice") {
			t.Errorf("mail %+v", m)
		}
	}
	if strings.Join(to, ",") != "alice@example.com,boss@example.com" {
		t.Errorf("grant mails to %v", to)
	}
}

func TestResetterLimits(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	if _, err := s.AddUser(ctx, store.NewUser{Name: "alice", Email: "alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddUser(ctx, store.NewUser{Name: "noaddr"}); err != nil {
		t.Fatal(err)
	}
	r := NewResetter(s, Templates{}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for range ResetCodesPerUser + 2 {
		r.Request(ctx, "alice", "192.0.2.1")
	}
	r.Request(ctx, "noaddr", "192.0.2.2")
	r.Request(ctx, "ghost", "192.0.2.2")
	mails, _ := queued(t, s)
	if len(mails) != ResetCodesPerUser {
		t.Fatalf("%d codes mailed, want %d", len(mails), ResetCodesPerUser)
	}
	last := resetCodeOf(t, mails[len(mails)-1])
	if !r.Verify(ctx, "alice", last) || r.Verify(ctx, "alice", last) {
		t.Error("the last code must work once")
	}
	// Per source: another user from a busy address gets no code.
	if _, err := s.AddUser(ctx, store.NewUser{Name: "bob", Email: "bob@example.com"}); err != nil {
		t.Fatal(err)
	}
	for range ResetPerSource {
		r.Request(ctx, "ghost", "198.51.100.9")
	}
	r.Request(ctx, "bob", "198.51.100.9")
	if mails, _ := queued(t, s); len(mails) != 0 {
		t.Errorf("a code went out from a source over its limit: %+v", mails)
	}
}

func resetCodeOf(t *testing.T, m Mail) string {
	t.Helper()
	for _, f := range strings.Fields(m.Text) {
		if len(f) == 8 && strings.Trim(f, "0123456789") == "" {
			return f
		}
	}
	t.Fatalf("no code in %q", m.Text)
	return ""
}

func TestPumpAutomaticLock(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	for _, u := range []store.NewUser{
		{Name: "alice", Email: "alice@example.com"},
		{Name: "boss", Email: "boss@example.com", Role: store.RoleAdmin},
	} {
		if _, err := s.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	p := NewPump(s, PumpConfig{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	until := time.Now().Add(30 * time.Minute)
	if err := s.LockLogin(ctx, "alice", "192.0.2.1", until, "5 failed logins"); err != nil {
		t.Fatal(err)
	}
	if err := s.LockLogin(ctx, "guessed-name", "192.0.2.1", until, "5 failed logins"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Once(ctx); err != nil {
		t.Fatal(err)
	}
	mails, _ := queued(t, s)
	var to []string
	for _, m := range mails {
		to = append(to, m.To)
		if !strings.Contains(m.Subject, "alice is locked") || !strings.Contains(m.Text, "from 192.0.2.1") {
			t.Errorf("lock mail %+v", m)
		}
	}
	if strings.Join(to, ",") != "alice@example.com,boss@example.com" {
		t.Errorf("lock mails to %v (a name nobody has must not be told)", to)
	}
}

// TestDigest: a digest rule holds the mails until the period ends; the worker then sends them
// as one mail per recipient.
func TestDigest(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	for _, u := range []store.NewUser{
		{Name: "alice", Email: "alice@example.com"},
		{Name: "boss", Email: "boss@example.com", Role: store.RoleAdmin},
	} {
		if _, err := s.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.SetNotifyRule(ctx, store.NotifyRule{Event: "*", SubjectKind: "user", Subject: "boss", Mode: store.NotifyDigest}); err != nil {
		t.Fatal(err)
	}
	p := NewPump(s, PumpConfig{Digest: time.Hour}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, cmd := range []string{"reboot", "halt"} {
		if _, err := s.AddTicket(ctx, store.NewTicket{SessionID: "s", User: "alice", Asset: "web1", Account: "root", Command: cmd}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.ClaimOutbox(ctx, time.Minute, 10); len(due) != 0 {
		t.Fatalf("digest mails were due at once: %+v", due)
	}
	list, _ := s.ListOutbox(ctx, "")
	if len(list) != 2 || !list[0].Digest || !list[0].NextAt.After(time.Now()) {
		t.Fatalf("outbox %+v", list)
	}

	// The worker, at the end of the period, sends both as one mail.
	var sent []Mail
	f := &fakeOutbox{failed: map[int64]string{}, retry: map[int64]time.Time{}}
	for i, cmd := range []string{"reboot", "halt"} {
		b, _ := json.Marshal(Mail{To: "boss@example.com", Subject: "ticket " + cmd, Text: cmd + "\n", HTML: "<p>" + cmd + "</p>"})
		f.msgs = append(f.msgs, store.OutboxMessage{ID: int64(i + 1), Channel: store.ChannelMail, Recipient: "boss@example.com", Digest: true, Payload: b})
	}
	w := NewWorker(f, WorkerConfig{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.sendMail = func(ctx context.Context, _ store.MailSettings, m Mail) (string, error) {
		sent = append(sent, m)
		return "250 ok", nil
	}
	w.drainOnce(ctx)
	if len(sent) != 1 || sent[0].Subject != "jms: 2 notifications" || !strings.Contains(sent[0].Text, "== ticket reboot") ||
		!strings.Contains(sent[0].Text, "halt") || !strings.Contains(sent[0].HTML, "<h3>ticket halt</h3>") {
		t.Fatalf("digest %+v", sent)
	}
	if len(f.sent) != 2 {
		t.Errorf("marked sent: %v", f.sent)
	}
}
