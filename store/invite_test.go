package store

import (
	"context"
	"testing"
	"time"
)

func TestInviteExpires(t *testing.T) {
	ctx := context.Background()
	s, now := clockStore(t)
	if _, err := s.AddUser(ctx, NewUser{Name: "dave", Email: "dave@example.com"}); err != nil {
		t.Fatal(err)
	}
	msg := NewOutboxMessage{Channel: ChannelMail, Recipient: "dave@example.com", Event: "invite", Payload: Secret("pw")}
	if err := s.InviteUser(ctx, "dave", "HASH", now.Add(72*time.Hour), []NewOutboxMessage{msg}); err != nil {
		t.Fatal(err)
	}
	if err := s.InviteUser(ctx, "nobody", "HASH", now.Add(time.Hour), nil); err == nil {
		t.Error("invited a user who does not exist")
	}
	u, h, err := s.PasswordHash(ctx, "dave")
	if err != nil || h != "HASH" || !u.MustChangePassword {
		t.Fatalf("%v %q %+v", err, h, u)
	}
	if q, _ := s.ListOutbox(ctx, ""); len(q) != 1 || q[0].Event != "invite" {
		t.Errorf("outbox %+v", q)
	}
	*now = now.Add(72 * time.Hour)
	if _, h, _ := s.PasswordHash(ctx, "dave"); h != "" {
		t.Error("the invitation's password works after invite_ttl")
	}
	// Her own password, set at first login, has no end.
	if err := s.SetPasswordHash(ctx, "dave", "OWN", false); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(1000 * time.Hour)
	if _, h, _ := s.PasswordHash(ctx, "dave"); h != "OWN" {
		t.Errorf("her own password: %q", h)
	}
}
