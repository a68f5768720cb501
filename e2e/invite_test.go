package e2e

import (
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

var invitePasswordRE = regexp.MustCompile(`(?m)^\s*one-time password:\s+(\S+)\s*$`)

// TestInvitationFirstLogin: `user add --invite` mails (through a real mailpit) a one-time
// password, how to log in and the bastion's host key fingerprint; dave reads it from the mail,
// logs in with the real OpenSSH client and must choose his own password. `user invite` resends
// a new one and the old one stops working.
func TestInvitationFirstLogin(t *testing.T) {
	mp := startMailpit(t, MailpitOptions{})
	e := newServerEnv(t)
	useNotifyConfig(t, e.b)
	mailSet(t, e.b, "", "--host", "127.0.0.1", "--port", fmt.Sprint(mp.SMTPPort), "--no-tls", "--from", "jms <jms@example.com>")

	out := e.b.MustRun(t, "", "user", "add", "dave", "--email", "dave@example.com", "--invite")
	if !strings.Contains(out, "Invited dave") || invitePasswordRE.MatchString(out) {
		t.Fatalf("user add --invite printed %q", out)
	}
	e.b.MustRun(t, "", "grant", "add", "dave-web1", "--user", "dave", "--asset", "web1", "--account", "@all")
	msg := mp.WaitMessage(t, "dave@example.com", "your account dave", 60*time.Second)
	m := invitePasswordRE.FindStringSubmatch(msg.Text)
	if m == nil {
		t.Fatalf("no one-time password in the invitation:\n%s", msg.Text)
	}
	// The HTML part is read as a mail client shows it: html/template writes a
	// fingerprint's "+" as "&#43;".
	if fp := ssh.FingerprintSHA256(e.b.HostKey()); !strings.Contains(msg.Text, fp) || !strings.Contains(html.UnescapeString(msg.HTML), fp) {
		t.Errorf("the invitation does not give the host key fingerprint %s:\n%s", fp, msg.Text)
	}
	if !strings.Contains(msg.Text, "ssh -p 2222 dave@bastion.example.com") {
		t.Errorf("the invitation does not say how to log in:\n%s", msg.Text)
	}
	// The one-time password is sealed in the outbox and dropped once sent.
	if strings.Contains(readFile(t, e.b.DataDir+"/jms.db"), m[1]) {
		t.Error("the one-time password is in the database in clear")
	}

	newPw := "dave-own-" + randomToken(5)
	cl := e.b.Login("dave")
	got, rc := expectSSH(t, cl, []Step{
		Type("password:", m[1]),
		Type("New password:", newPw),
		Type("Retype new password:", newPw),
	}, "web1", "echo invited-ok")
	if rc != 0 || !strings.Contains(got, "invited-ok") {
		t.Fatalf("first login with the invitation: exit %d\n%s", rc, got)
	}
	l := e.b.Login("dave")
	l.Password = m[1]
	if res := runSSH(t, l, nil, "web1", "true"); res.ExitCode != 255 {
		t.Errorf("the one-time password still works after the change: %+v", res)
	}

	// Resend: a new password; the previous one no longer works.
	e.b.MustRun(t, "", "user", "invite", "dave")
	var second string
	if !waitEvery(60*time.Second, 250*time.Millisecond, func() bool {
		for _, msg := range mp.Messages(t) {
			if full := mp.Message(t, msg.ID); strings.Contains(full.Subject, "your account dave") {
				if p := invitePasswordRE.FindStringSubmatch(full.Text); p != nil && p[1] != m[1] {
					second = p[1]
					return true
				}
			}
		}
		return false
	}) {
		t.Fatal("the second invitation did not arrive")
	}
	l.Password = newPw
	if res := runSSH(t, l, nil, "web1", "true"); res.ExitCode != 255 {
		t.Errorf("the password dave chose still works after a new invitation: %+v", res)
	}
	got, rc = expectSSH(t, e.b.Login("dave"), []Step{
		Type("password:", second),
		Type("New password:", newPw+"2"),
		Type("Retype new password:", newPw+"2"),
	}, "web1", "echo again-ok")
	if rc != 0 || !strings.Contains(got, "again-ok") {
		t.Fatalf("login with the second invitation: exit %d\n%s", rc, got)
	}
}
