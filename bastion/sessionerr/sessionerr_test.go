package sessionerr

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestUserError(t *testing.T) {
	e := Userf(io.EOF, "jms: no asset %q", "web1")
	if e.Error() != `jms: no asset "web1"` || !errors.Is(e, io.EOF) || e.AuditReason() != e.Msg {
		t.Errorf("Userf: %q, is EOF %v, reason %q", e.Error(), errors.Is(e, io.EOF), e.AuditReason())
	}
	e.Reason = "no asset"
	if e.AuditReason() != "no asset" {
		t.Errorf("reason %q", e.AuditReason())
	}
	var ue *UserError
	if err := fmt.Errorf("wrapped: %w", e); !errors.As(err, &ue) || ue != e {
		t.Error("errors.As does not find the UserError")
	}
	if k := fmt.Errorf("%w by admin", ErrKilled); !errors.Is(k, ErrKilled) {
		t.Error("a kill cause is not ErrKilled")
	}
}
