package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// mailSet runs `jmsctl settings mail set` with args (and the password on stdin when not "").
func mailSet(t *testing.T, b *Bastion, password string, args ...string) {
	t.Helper()
	if password != "" {
		args = append(args, "--password-stdin")
	}
	b.MustRun(t, password+"\n", append([]string{"settings", "mail", "set"}, args...)...)
}

// mailTest runs `jmsctl settings mail test ADDRESS`: its stdout on success, or its stderr.
func mailTest(t *testing.T, b *Bastion, addr string) (string, bool) {
	t.Helper()
	stdout, stderr, err := b.Run(t, "settings", "mail", "test", addr)
	t.Logf("jmsctl settings mail test %s: %s%s", addr, stdout, stderr)
	if err != nil {
		if n := strings.Count(strings.TrimSpace(stderr), "\n"); n != 0 {
			t.Errorf("mail test error is %d lines, want one:\n%s", n+1, stderr)
		}
		return stderr, false
	}
	return stdout, true
}

// TestMailSTARTTLSAuthAndCA: the real mailpit requires STARTTLS with a certificate of a CA made
// by the test, and AUTH. Without the CA the test mail fails naming TLS and the certificate; with
// --ca-file it goes through; a wrong password fails naming AUTH; a refused recipient is named.
func TestMailSTARTTLSAuthAndCA(t *testing.T) {
	ca := newTestCA(t)
	mp := startMailpit(t, MailpitOptions{TLS: &ca, RequireSTARTTLS: true,
		Users: map[string]string{"jms": "smtp-pass-1"}, AllowedRcpt: `@example\.com$`})
	b := startBastion(t, BastionOptions{})
	port := fmt.Sprint(mp.SMTPPort)

	mailSet(t, b, "smtp-pass-1", "--host", "127.0.0.1", "--port", port, "--starttls", "--user", "jms",
		"--from", "jms <jms@example.com>")
	out, ok := mailTest(t, b, "alice@example.com")
	if ok || !strings.Contains(out, "TLS:") || !strings.Contains(out, "certificate") {
		t.Fatalf("mail test without the CA: want a TLS certificate error, got ok=%v %q", ok, out)
	}

	mailSet(t, b, "", "--ca-file", ca.CAFile)
	out, ok = mailTest(t, b, "alice@example.com")
	if !ok || !strings.Contains(out, "queued") {
		t.Fatalf("mail test with the CA: want the server's answer, got ok=%v %q", ok, out)
	}
	msg := mp.WaitMessage(t, "alice@example.com", "jms test message", 30*time.Second)
	if msg.From.Address != "jms@example.com" || !strings.Contains(msg.Text, "test message from jms") || msg.HTML == "" {
		t.Errorf("test mail: from %q, text %q, html %q", msg.From.Address, msg.Text, msg.HTML)
	}

	out, ok = mailTest(t, b, "mallory@elsewhere.test")
	if ok || !strings.Contains(out, "recipient rejected") {
		t.Errorf("mail test to a refused recipient: want 'recipient rejected', got ok=%v %q", ok, out)
	}

	mailSet(t, b, "wrong-pass", "--user", "jms")
	out, ok = mailTest(t, b, "alice@example.com")
	if ok || !strings.Contains(out, "AUTH:") {
		t.Errorf("mail test with a wrong password: want an AUTH error, got ok=%v %q", ok, out)
	}

	// The password is sealed: not in the database in clear, not in settings show.
	show := b.MustRun(t, "", "settings", "show")
	if strings.Contains(show, "wrong-pass") || !strings.Contains(show, "[redacted]") {
		t.Errorf("settings show leaks or does not redact the SMTP password:\n%s", show)
	}
	if db := readFile(t, b.DataDir+"/jms.db"); strings.Contains(db, "wrong-pass") || strings.Contains(db, "smtp-pass-1") {
		t.Error("the SMTP password is in the database in clear")
	}
}

// TestMailImplicitTLS: SMTPS (--ssl) against a mailpit that requires TLS from the first byte.
func TestMailImplicitTLS(t *testing.T) {
	ca := newTestCA(t)
	mp := startMailpit(t, MailpitOptions{TLS: &ca, RequireTLS: true, Users: map[string]string{"jms": "pw-ssl-2"}})
	b := startBastion(t, BastionOptions{})
	mailSet(t, b, "pw-ssl-2", "--host", "127.0.0.1", "--port", fmt.Sprint(mp.SMTPPort), "--ssl", "--user", "jms",
		"--from", "jms@example.com", "--ca-file", ca.CAFile)
	if out, ok := mailTest(t, b, "bob@example.com"); !ok {
		t.Fatalf("mail test over SMTPS: %s", out)
	}
	mp.WaitMessage(t, "bob@example.com", "jms test message", 30*time.Second)

	// The same server told to use STARTTLS: the error says TLS, in one line.
	mailSet(t, b, "", "--starttls", "--port", fmt.Sprint(mp.SMTPPort))
	if out, ok := mailTest(t, b, "bob@example.com"); ok || !strings.Contains(out, "Error: ") {
		t.Errorf("STARTTLS to an SMTPS port: want an error, got ok=%v %q", ok, out)
	}
}

// outboxRow is a row of `jmsctl notify outbox -o json`.
type outboxRow struct {
	ID        int64  `json:"id"`
	Recipient string `json:"recipient"`
	Status    string `json:"status"`
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error"`
}

func outbox(t *testing.T, b *Bastion, status string) []outboxRow {
	t.Helper()
	var rows []outboxRow
	out := b.MustRun(t, "", "notify", "outbox", "--status", status, "-o", "json")
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("notify outbox -o json: %v\n%s", err, out)
	}
	return rows
}

// TestMailOutboxServerDown: with the SMTP server down, a queued mail stays in the outbox with
// the last error (TCP) while serve retries; once the server is up, serve delivers it.
func TestMailOutboxServerDown(t *testing.T) {
	mailpitPath(t)
	port := freePort(t)
	b := startBastion(t, BastionOptions{Config: "notify_retry: 500ms\nnotify_poll: 500ms\n"})
	mailSet(t, b, "", "--host", "127.0.0.1", "--port", fmt.Sprint(port), "--no-tls", "--from", "jms@example.com")
	b.MustRun(t, "", "notify", "test", "--to", "carol@example.com")

	var rows []outboxRow
	if !waitEvery(60*time.Second, 250*time.Millisecond, func() bool {
		rows = outbox(t, b, "pending")
		return len(rows) == 1 && rows[0].Attempts >= 1
	}) {
		t.Fatalf("the mail was not tried while the server is down: %+v", rows)
	}
	if !strings.Contains(rows[0].LastError, "TCP:") || rows[0].Recipient != "carol@example.com" {
		t.Errorf("outbox row: %+v, want a TCP error for carol@example.com", rows[0])
	}
	table := b.MustRun(t, "", "notify", "outbox")
	if !strings.Contains(table, "connection refused") {
		t.Errorf("notify outbox does not show the last error:\n%s", table)
	}

	mp := startMailpit(t, MailpitOptions{SMTPPort: port})
	mp.WaitMessage(t, "carol@example.com", "jms test message", 60*time.Second)
	if !waitEvery(30*time.Second, 250*time.Millisecond, func() bool { return len(outbox(t, b, "pending,failed")) == 0 }) {
		t.Errorf("outbox still holds messages after delivery: %+v", outbox(t, b, "all"))
	}
	if sent := outbox(t, b, "sent"); len(sent) != 1 {
		t.Errorf("want one sent message, have %+v", sent)
	}
}
