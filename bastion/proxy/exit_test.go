package proxy

import (
	"io"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

// TestExecExitStatusBeforeEOF: the proxy does not end the person's
// channel itself: the exit status (sent by the server after Run) comes
// before EOF, as sshd sends them; OpenSSH's ControlMaster drops a status
// that comes after EOF (e2e TestControlMasterExitStatus).
func TestExecExitStatusBeforeEOF(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	c := h.dial()
	defer c.Close()
	ch, reqs, err := c.OpenChannel("session", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	if ok, err := ch.SendRequest("exec", true, gossh.Marshal(struct{ Command string }{"exit 3"})); !ok || err != nil {
		t.Fatalf("exec: %v %v", ok, err)
	}
	if _, err := io.ReadAll(ch); err != nil {
		t.Fatal(err)
	}
	// The channel's messages are handled in order: by the time a read
	// sees EOF, a status sent before it is queued.
	select {
	case r := <-reqs:
		var st struct{ Status uint32 }
		if r.Type != "exit-status" || gossh.Unmarshal(r.Payload, &st) != nil || st.Status != 3 {
			t.Fatalf("first request %q %v", r.Type, r.Payload)
		}
	default:
		t.Fatal("EOF came before the exit status")
	}
}
