package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// notifyConfig makes serve look for new events and retry quickly, for tests.
const notifyConfig = "notify_retry: 500ms\nnotify_poll: 500ms\nnotify_public_address: bastion.example.com:2222\n"

// useNotifyConfig restarts the bastion with notifyConfig in its jms.yaml.
func useNotifyConfig(t *testing.T, b *Bastion) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(b.DataDir, "jms.yaml"), []byte(notifyConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	b.Stop()
	b.Start()
}

// TestReviewTicketMailApproveLine: alice runs a command a review filter holds, through the real
// OpenSSH client; the admin gets a mail (through a real mailpit) naming the ticket and the
// command with the exact approve line; running that line lets the command run, and alice gets
// a mail saying it was approved.
func TestReviewTicketMailApproveLine(t *testing.T) {
	mp := startMailpit(t, MailpitOptions{})
	e := newFilterEnv(t)
	useNotifyConfig(t, e.b)
	e.b.MustRun(t, "", "user", "set", "admin", "--email", "admin@example.com")
	e.b.MustRun(t, "", "user", "set", "alice", "--email", "alice@example.com")
	mailSet(t, e.b, "", "--host", "127.0.0.1", "--port", fmt.Sprint(mp.SMTPPort), "--no-tls", "--from", "jms@example.com")

	env := fmt.Sprintf("cd %s && MARK=%s PATH=%s:$PATH ", e.bin, e.mark, e.bin)
	done := make(chan SSHResult, 1)
	go func() { done <- runSSH(t, e.keyLogin("alice"), nil, "web1", env+"boom") }()
	tk := e.pendingTicket(t, env+"boom")

	msg := mp.WaitMessage(t, "admin@example.com", fmt.Sprintf("ticket %d", tk.ID), 60*time.Second)
	if !strings.Contains(msg.Text, env+"boom") || !strings.Contains(msg.Text, "boom-review") {
		t.Errorf("the ticket mail does not show the command and the filter:\n%s", msg.Text)
	}
	line := regexp.MustCompile(`(?m)^\s*(jmsctl ticket approve \d+)\s*$`).FindStringSubmatch(msg.Text)
	if line == nil {
		t.Fatalf("no approve line in the mail:\n%s", msg.Text)
	}
	if want := fmt.Sprintf("jmsctl ticket approve %d", tk.ID); line[1] != want {
		t.Fatalf("approve line %q, want %q", line[1], want)
	}
	if !strings.Contains(msg.Text, "bastion.example.com:2222") {
		t.Errorf("the mail does not give the bastion's address:\n%s", msg.Text)
	}
	// Run the line as the admin would (jmsctl on the bastion's host, its data dir).
	e.b.MustRun(t, "", strings.Fields(line[1])[1:]...)
	select {
	case r := <-done:
		if r.ExitCode != 0 || !e.marked("boom") {
			t.Errorf("approved boom: %+v, marker %v", r, e.marked("boom"))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the command was still held 30 s after the approve line ran")
	}
	decided := mp.WaitMessage(t, "alice@example.com", fmt.Sprintf("ticket %d approved", tk.ID), 60*time.Second)
	if !strings.Contains(decided.Text, env+"boom") {
		t.Errorf("the decision mail does not show the command:\n%s", decided.Text)
	}
	// alice (not an admin) got no ticket mail; the admin got exactly one.
	n := 0
	for _, m := range mp.Messages(t) {
		for _, to := range m.To {
			if strings.Contains(m.Subject, "waits for approval") {
				if to.Address != "admin@example.com" {
					t.Errorf("a ticket mail went to %s", to.Address)
				}
				n++
			}
		}
	}
	if n != 1 {
		t.Errorf("%d ticket mails, want 1", n)
	}
}

// TestRotationFailureMailsTheAdmins: a rotation that fails on a real
// asset (its sshd, through the privileged account: the account is not on
// the machine, so setting its password fails) is mailed, through a real
// mailpit, to the admin with the asset, the account, the failing step and
// the line to run again; the people who are not admins get nothing.
func TestRotationFailureMailsTheAdmins(t *testing.T) {
	mp := startMailpit(t, MailpitOptions{})
	e := newAutoEnv(t)
	b := e.b
	useNotifyConfig(t, b)
	b.MustRun(t, "", "user", "set", "admin", "--email", "admin@example.com")
	b.MustRun(t, "", "user", "add", "alice", "--email", "alice@example.com")
	mailSet(t, b, "", "--host", "127.0.0.1", "--port", fmt.Sprint(mp.SMTPPort), "--no-tls", "--from", "jms@example.com")

	name := autoUser(t) // never created: the rotation's set step fails
	b.MustRun(t, "an-old-password-1\n", "account", "add", "web1", name, "--password-stdin")
	out, _, err := b.Run(t, "account", "rotate", "web1", name)
	if err == nil || !strings.Contains(out, "failed: set: ") {
		t.Fatalf("rotating an account the asset lacks: err %v\n%s", err, out)
	}
	msg := mp.WaitMessage(t, "admin@example.com", "rotation failed for "+name+" on web1", 60*time.Second)
	for _, want := range []string{"What failed: failed: set: ", "old secret stays valid", "jmsctl account rotate web1 " + name} {
		if !strings.Contains(msg.Text, want) {
			t.Errorf("the mail lacks %q:\n%s", want, msg.Text)
		}
	}
	if strings.Contains(msg.Text, "an-old-password-1") {
		t.Errorf("the mail holds the account's secret:\n%s", msg.Text)
	}
	for _, m := range mp.Messages(t) {
		for _, to := range m.To {
			if to.Address != "admin@example.com" {
				t.Errorf("%q went to %s", m.Subject, to.Address)
			}
		}
	}
}
