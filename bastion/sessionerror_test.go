package bastion

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/jms-bastion/jms/bastion/sessionerr"
)

func TestSessionError(t *testing.T) {
	kill := fmt.Errorf("%w by os:root: disk full", sessionerr.ErrKilled)
	tests := []struct {
		name   string
		err    error
		tell   string
		log    string // in the log line
		notLog string
	}{
		{"killed by an admin", sessionerr.Userf(kill, "jms: session ended: %s", kill), "jms: session ended: killed by os:root: disk full",
			`msg="session killed" cause="killed by os:root: disk full"`, "refused"},
		{"idle timeout", sessionerr.Userf(errIdle, "jms: session ended: %s", errIdle), "jms: session ended: idle timeout",
			`msg="session killed" cause="idle timeout"`, "refused"},
		{"refused", sessionerr.Userf(nil, "jms: web1 refused a session"), "jms: web1 refused a session",
			`msg="session refused or cut short"`, "killed"},
		{"internal", errors.New("disk I/O"), "jms: internal error (the bastion's log has the details)", `level=ERROR`, "killed"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		got := sessionError(slog.New(slog.NewTextHandler(&buf, nil)), tt.err)
		if got != tt.tell || !strings.Contains(buf.String(), tt.log) || strings.Contains(buf.String(), tt.notLog) {
			t.Errorf("%s: told %q, logged %q", tt.name, got, buf.String())
		}
	}
}
