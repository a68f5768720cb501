package e2e

// jmsctl asset test against a real sshd: every account is tried and named.

import (
	"strconv"
	"strings"
	"testing"
)

func TestAssetTestTriesEveryAccount(t *testing.T) {
	t.Parallel()
	s := startSSHD(t)
	b := startBastion(t, BastionOptions{})
	b.MustRun(t, "", "asset", "add", "web1", "--address", "127.0.0.1", "--port", strconv.Itoa(s.Port))
	b.MustRun(t, "", "account", "add", "web1", s.User, "--key", s.KeyFile)
	b.MustRun(t, "not-the-password\n", "account", "add", "web1", "ghost", "--password-stdin")

	out, errOut, err := b.Run(t, "asset", "test", "web1")
	if err == nil {
		t.Fatalf("asset test passed with an account that cannot log in:\n%s", out)
	}
	if !strings.Contains(out, "web1: logged in at 127.0.0.1:"+strconv.Itoa(s.Port)+" as "+s.User+" ") {
		t.Errorf("the working account is not named:\n%s", out)
	}
	if !strings.Contains(out, "web1: ghost: failed: ") {
		t.Errorf("the failing account is not named:\n%s", out)
	}
	if !strings.Contains(errOut, "Error: web1: 1 of 2 accounts did not log in") {
		t.Errorf("stderr: %q", errOut)
	}

	out = b.MustRun(t, "", "asset", "test", "web1", "--account", s.User)
	if !strings.Contains(out, "as "+s.User) {
		t.Errorf("--account: %s", out)
	}
	if _, errOut, err := b.Run(t, "asset", "test", "web1", "--account", "ghost"); err == nil || !strings.HasPrefix(errOut, "Error: ") {
		t.Errorf("--account ghost: err %v, stderr %q", err, errOut)
	}
}
