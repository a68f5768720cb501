package store

import (
	"context"
	"testing"
	"time"
)

// TestMFAGraceWindow: a grace is valid from its code's use for grace
// and no longer, for that user and that address only, bound to the
// secret it was proven with; disable, lock, a lock after failed logins
// and MFA changes end it, and it does not come back after the unlock.
func TestMFAGraceWindow(t *testing.T) {
	ctx := WithActor(context.Background(), "test")
	s := newTestStore(t)
	for _, n := range []string{"alice", "bob"} {
		if _, err := s.AddUser(ctx, NewUser{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	enable := func() UserMFA {
		t.Helper()
		if err := s.EnableMFA(ctx, "alice", Secret("JBSWY3DPEHPK3PXP"), 0, nil); err != nil {
			t.Fatal(err)
		}
		m, err := s.GetUserMFA(ctx, "alice")
		if err != nil || m.SeedRef == "" {
			t.Fatalf("mfa %+v, %v", m, err)
		}
		return m
	}
	bob, _ := s.GetUser(ctx, "bob")
	at := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
	valid := func(id int64, source string, now time.Time, grace time.Duration) bool {
		t.Helper()
		ok, err := s.MFAGraceValid(ctx, id, source, now, grace)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	m := enable()
	if err := s.StartMFAGrace(ctx, m.UserID, "192.0.2.7", m.SeedRef, at); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		id     int64
		source string
		now    time.Time
		grace  time.Duration
		want   bool
	}{
		{"within", m.UserID, "192.0.2.7", at.Add(59 * time.Second), time.Minute, true},
		{"at the end", m.UserID, "192.0.2.7", at.Add(time.Minute), time.Minute, false},
		{"after", m.UserID, "192.0.2.7", at.Add(2 * time.Minute), time.Minute, false},
		{"grace lowered", m.UserID, "192.0.2.7", at.Add(20 * time.Second), 10 * time.Second, false},
		{"grace off", m.UserID, "192.0.2.7", at.Add(time.Second), 0, false},
		{"before its use", m.UserID, "192.0.2.7", at.Add(-time.Second), time.Minute, false},
		{"another address", m.UserID, "192.0.2.8", at.Add(time.Second), time.Minute, false},
		{"same /64 is not the address", m.UserID, "192.0.2.7/32", at.Add(time.Second), time.Minute, false},
		{"another user", bob.ID, "192.0.2.7", at.Add(time.Second), time.Minute, false},
		{"no source", m.UserID, "", at.Add(time.Second), time.Minute, false},
	} {
		if got := valid(tc.id, tc.source, tc.now, tc.grace); got != tc.want {
			t.Errorf("%s: valid %v, want %v", tc.name, got, tc.want)
		}
	}

	now := at.Add(time.Second)
	for _, end := range []struct {
		name string
		do   func() error
	}{
		{"disable", func() error {
			if err := s.SetUserDisabled(ctx, "alice", true); err != nil {
				return err
			}
			return s.SetUserDisabled(ctx, "alice", false)
		}},
		{"lock", func() error {
			if err := s.LockUser(ctx, "alice", at.Add(time.Hour), "test"); err != nil {
				return err
			}
			return s.UnlockUser(ctx, "alice")
		}},
		{"login lock", func() error {
			if err := s.LockLogin(ctx, "alice", AnySource, at.Add(time.Hour), "test"); err != nil {
				return err
			}
			_, err := s.UnlockLogins(ctx, "alice", "")
			return err
		}},
		{"mfa disable", func() error { return s.DisableMFA(ctx, "alice") }},
		{"mfa reset", func() error { m = enable(); return nil }},
	} {
		m = enable()
		if err := s.StartMFAGrace(ctx, m.UserID, "192.0.2.7", m.SeedRef, at); err != nil {
			t.Fatal(err)
		}
		if !valid(m.UserID, "192.0.2.7", now, time.Minute) {
			t.Fatalf("%s: no grace to end", end.name)
		}
		if err := end.do(); err != nil {
			t.Fatal(err)
		}
		if valid(m.UserID, "192.0.2.7", now, time.Minute) {
			t.Errorf("the grace outlived %s", end.name)
		}
	}

	// A grace recorded with a secret replaced meanwhile (a reset racing
	// with the login) is not valid.
	old := enable()
	m = enable()
	if err := s.StartMFAGrace(ctx, m.UserID, "192.0.2.7", old.SeedRef, at); err != nil {
		t.Fatal(err)
	}
	if valid(m.UserID, "192.0.2.7", now, time.Minute) {
		t.Error("a grace of a replaced secret is valid")
	}
	// A disabled or locked user has none, even before the store ends it.
	if err := s.StartMFAGrace(ctx, m.UserID, "192.0.2.7", m.SeedRef, at); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE users SET disabled = TRUE WHERE id = ?`, m.UserID); err != nil {
		t.Fatal(err)
	}
	if valid(m.UserID, "192.0.2.7", now, time.Minute) {
		t.Error("a disabled user has a grace")
	}
	// Removing the user removes her graces.
	if err := s.RemoveUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM mfa_grace`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d graces left after the user was removed: %v", n, err)
	}
}
