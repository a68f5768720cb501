package store

import (
	"context"
	"testing"
	"time"
)

func TestResetCodes(t *testing.T) {
	ctx := context.Background()
	s, now := clockStore(t)
	mail := &NewOutboxMessage{Channel: ChannelMail, Recipient: "a@example.com", Event: "reset", Payload: Secret("c")}
	req := func(user, code string) {
		t.Helper()
		r := ResetRequest{User: user, Source: "192.0.2.1"}
		if code != "" {
			r.Code, r.Mail = Secret(code), mail
		}
		if err := s.AddResetRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	use := func(user, code string) bool {
		t.Helper()
		ok, err := s.UseResetCode(ctx, user, Secret(code))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	req("alice", "11111111")
	req("nobody", "")
	req("alice", "") // a limited request must not hide her code
	if use("alice", "22222222") || !use("alice", "11111111") || use("alice", "11111111") {
		t.Error("a code must work once, and a wrong one never")
	}
	if use("nobody", "") || use("nobody", "00000000") {
		t.Error("a request without a code gave one")
	}
	req("alice", "33333333")
	req("alice", "44444444") // ends the previous code
	if use("alice", "33333333") {
		t.Error("an earlier code still works after a new one")
	}
	for range MaxResetAttempts {
		use("alice", "99999999")
	}
	if use("alice", "44444444") {
		t.Error("the code works after too many wrong attempts")
	}
	req("alice", "55555555")
	*now = now.Add(ResetCodeTTL)
	if use("alice", "55555555") {
		t.Error("the code works after 15 minutes")
	}
	u, src, err := s.ResetRequestsSince(ctx, "alice", "192.0.2.1", now.Add(-time.Hour))
	if err != nil || u != 5 || src != 6 {
		t.Errorf("counts %d %d %v, want 5 and 6", u, src, err)
	}
	if q, _ := s.ListOutbox(ctx, ""); len(q) != 4 {
		t.Errorf("%d mails queued, want 4", len(q))
	}
}
