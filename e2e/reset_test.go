package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

var resetCodeRE = regexp.MustCompile(`(?m)^\s*(\d{8})\s*$`)

// resetLogin is `ssh reset@bastion`, keyboard-interactive as a stock client does it.
func resetLogin(b *Bastion) Login {
	l := b.Login("reset")
	l.Options = []string{"-o", "PreferredAuthentications=keyboard-interactive"}
	return l
}

// TestPasswordResetOverSSH: alice forgot her password. Through the real OpenSSH client she logs
// in as "reset", gives her name, reads the code from the mail (a real mailpit), types it and a
// new password; her old password stops working, the new one works, and her MFA still applies.
// A name that does not exist gets the same answer and no mail; a code works once; a wrong code
// is refused.
func TestPasswordResetOverSSH(t *testing.T) {
	mp := startMailpit(t, MailpitOptions{})
	e := newServerEnv(t)
	useNotifyConfig(t, e.b)
	mailSet(t, e.b, "", "--host", "127.0.0.1", "--port", fmt.Sprint(mp.SMTPPort), "--no-tls", "--from", "jms@example.com")
	e.b.MustRun(t, "", "user", "set", "alice", "--email", "alice@example.com")
	secret := enableMFA(t, e.b, "alice")

	const codePrompt = "If that name has an address on record, a code was mailed to it (valid 15 minutes). Code:"
	// Unknown name: the same prompt, no mail.
	got, _ := expectSSH(t, resetLogin(e.b), []Step{
		Type("login name", "nobody-here"),
		Type(codePrompt, "12345678"),
	})
	if strings.Contains(got, "New password") {
		t.Fatalf("a reset went on for a name that does not exist:\n%s", got)
	}

	got, rc := expectSSH(t, resetLogin(e.b), []Step{
		Type("login name", "alice"),
		{Prompt: codePrompt, Answer: func(string) string {
			msg := mp.WaitMessage(t, "alice@example.com", "password reset code", 60*time.Second)
			m := resetCodeRE.FindStringSubmatch(msg.Text)
			if m == nil {
				t.Fatalf("no code in the mail:\n%s", msg.Text)
			}
			return m[1]
		}},
		Type("New password:", "alice-reset-"+"Qz81"),
		Type("Retype new password:", "alice-reset-"+"Qz81"),
		Type("Password changed. Log in again as alice", ""),
	})
	t.Logf("the reset dialogue:\n%s", got)
	if !strings.Contains(got, "Password changed") {
		t.Fatalf("reset: exit %d\n%s", rc, got)
	}
	msgs := mp.Messages(t)
	for _, m := range msgs {
		for _, to := range m.To {
			if to.Address != "alice@example.com" {
				t.Errorf("a reset mail went to %s", to.Address)
			}
		}
	}

	// The old password no longer works; the new one does, and MFA still applies.
	l := e.b.Login("alice")
	l.Password = e.password
	if res := runSSH(t, l, nil, "web1", "true"); res.ExitCode != 255 {
		t.Errorf("the old password still works: %+v", res)
	}
	got, rc = expectSSH(t, e.b.Login("alice"), []Step{
		Type("password:", "alice-reset-Qz81"),
		{Prompt: "OTP code:", Answer: code(t, secret, 0)},
	}, "web1", "echo reset-ok")
	if rc != 0 || !strings.Contains(got, "reset-ok") {
		t.Fatalf("login with the new password and OTP: exit %d\n%s", rc, got)
	}

	// The code worked once; a wrong one is refused.
	msg := mp.WaitMessage(t, "alice@example.com", "password reset code", time.Second)
	used := resetCodeRE.FindStringSubmatch(msg.Text)[1]
	got, _ = expectSSH(t, resetLogin(e.b), []Step{
		Type("login name", "alice"),
		Type(codePrompt, used),
	})
	if strings.Contains(got, "New password") {
		t.Errorf("a used code worked again:\n%s", got)
	}
	ops := e.b.MustRun(t, "", "audit", "logins", "--user", "alice")
	for _, want := range []string{"password reset requested", "wrong password reset code", "password reset"} {
		if !strings.Contains(ops, want) {
			t.Errorf("the login audit lacks %q:\n%s", want, ops)
		}
	}
}
