package store

import (
	"context"
	"errors"
	"testing"
)

// TestEnrolMFARefusesAReplacement: a person's own enrolment saves her
// secret (sealed) and codes when she has no MFA, and changes nothing
// when she has one already; the administrator's EnableMFA still resets.
func TestEnrolMFARefusesAReplacement(t *testing.T) {
	ctx := WithActor(context.Background(), "ssh:alice")
	s := newTestStore(t)
	if _, err := s.AddUser(ctx, NewUser{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	codes := []string{"aaaaa-bbbbb", "ccccc-ddddd"}
	if err := s.EnrolMFA(ctx, "alice", Secret("JBSWY3DPEHPK3PXP"), 42, codes); err != nil {
		t.Fatalf("a first enrolment: %v", err)
	}
	m, err := s.GetUserMFA(ctx, "alice")
	if err != nil || string(m.Seed) != "JBSWY3DPEHPK3PXP" || m.LastStep != 42 {
		t.Fatalf("after enrolment: %+v, %v", m, err)
	}
	var stored string
	if err := s.db.QueryRowContext(ctx, `SELECT mfa_seed FROM users WHERE name = 'alice'`).Scan(&stored); err != nil || stored == "JBSWY3DPEHPK3PXP" {
		t.Fatalf("the seed is not sealed: %q, %v", stored, err)
	}
	err = s.EnrolMFA(ctx, "alice", Secret("GEZDGNBVGY3TQOJQ"), 50, []string{"eeeee-fffff"})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("a second enrolment: %v, want ErrConflict", err)
	}
	if m2, _ := s.GetUserMFA(ctx, "alice"); string(m2.Seed) != "JBSWY3DPEHPK3PXP" || m2.LastStep != 42 {
		t.Fatalf("a refused enrolment changed the secret: %+v", m2)
	}
	if n, _ := s.RecoveryCodesLeft(ctx, "alice"); n != len(codes) {
		t.Fatalf("a refused enrolment changed the codes: %d left", n)
	}
	if err := s.EnrolMFA(ctx, "nobody", Secret("GEZDGNBVGY3TQOJQ"), 0, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an unknown user: %v", err)
	}
	if err := s.EnableMFA(ctx, "alice", Secret("GEZDGNBVGY3TQOJQ"), 0, nil); err != nil {
		t.Fatalf("an administrator's reset: %v", err)
	}
}
