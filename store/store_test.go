package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// newTestStore opens a migrated SQLite store in a temp dir, with a key
// and a fixed clock.
func newTestStore(t testing.TB) *Store {
	t.Helper()
	raw, err := GenerateKeyBytes()
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewKey(raw, "test")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	s, err := Open(context.Background(), testDatabase(t, t.TempDir()), Options{
		Sealer: NewSealer(k),
		Now:    func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestOpenMigratesOnceAndReopens(t *testing.T) {
	ctx := context.Background()
	path := testDatabase(t, t.TempDir())
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil || v < 1 {
		t.Fatalf("schema version %d, %v", v, err)
	}
	s.Close()
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if v2, _ := s.SchemaVersion(ctx); v2 != v {
		t.Fatalf("version changed on reopen: %d -> %d", v, v2)
	}
}

func TestUsers(t *testing.T) {
	ctx := WithActor(context.Background(), "os:tester")
	s := newTestStore(t)
	hash, err := HashPassword(Secret("correct horse"), Argon2Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
	if err != nil {
		t.Fatal(err)
	}
	const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop"
	u, err := s.AddUser(ctx, NewUser{Name: "alice", Email: "a@example.com", PasswordHash: hash, Keys: []string{key}})
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != RoleUser || !u.HasPassword || u.Keys != 1 {
		t.Fatalf("unexpected user %+v", u)
	}
	if _, err := s.AddUser(ctx, NewUser{Name: "alice"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate add: got %v, want ErrConflict", err)
	}
	if _, err := s.AddUser(ctx, NewUser{Name: "bob", Keys: []string{key}}); !errors.Is(err, ErrConflict) {
		t.Fatalf("shared key: got %v, want ErrConflict", err)
	}
	if _, err := s.GetUser(ctx, "bob"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("bob must not exist after the failed add (one transaction): %v", err)
	}
	for _, bad := range []string{"Alice", "-x", "a b", "", "x@y", "ünï"} {
		if _, err := s.AddUser(ctx, NewUser{Name: bad}); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
	_, h, err := s.PasswordHash(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyPassword(Secret("correct horse"), h, DefaultArgon2); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if _, err := VerifyPassword(Secret("wrong"), h, DefaultArgon2); !errors.Is(err, ErrPasswordMismatch) {
		t.Fatalf("wrong password: %v", err)
	}
	if weak, _ := VerifyPassword(Secret("correct horse"), h, DefaultArgon2); !weak {
		t.Fatal("a 1 MiB hash must be reported as needing a rehash")
	}
	if err := s.SetUserDisabled(ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.GetUser(ctx, "alice"); !u.Disabled {
		t.Fatal("not disabled")
	}
	ops, err := s.ListOperations(ctx, AuditQuery{})
	if err != nil || len(ops) != 2 || ops[0].Action != "user.add" || ops[0].Actor != "os:tester" {
		t.Fatalf("operations %+v %v", ops, err)
	}
	if err := s.RemoveUserKey(ctx, "alice", "alice@laptop"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveUser(ctx, "alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rm twice: %v", err)
	}
}

func TestSealer(t *testing.T) {
	raw1, _ := GenerateKeyBytes()
	raw2, _ := GenerateKeyBytes()
	k1, _ := NewKey(raw1, "k1")
	k2, _ := NewKey(raw2, "k2")
	s1 := NewSealer(k1)
	env, err := s1.Seal(Secret("hunter2"), "accounts:1:secret")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s1.Open(env, "accounts:1:secret")
	if err != nil || string(got) != "hunter2" {
		t.Fatalf("open: %q %v", got, err)
	}
	tampered := []byte(env)
	tampered[len(tampered)-3] ^= 1
	cases := []struct {
		name   string
		sealer *Sealer
		env    string
		aad    string
	}{
		{"wrong key", NewSealer(k2), env, "accounts:1:secret"},
		{"other row", s1, env, "accounts:2:secret"},
		{"tampered", s1, string(tampered), "accounts:1:secret"},
		{"garbage", s1, "hello", "accounts:1:secret"},
		{"no key", nil, env, "accounts:1:secret"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := c.sealer.Open(c.env, c.aad)
			if err == nil || p != nil {
				t.Fatalf("opened: %q", p)
			}
		})
	}
	// a rekey in progress opens both
	both := NewSealer(k2, k1)
	if _, err := both.Open(env, "accounts:1:secret"); err != nil {
		t.Fatal(err)
	}
	if Secret("x").String() != "[redacted]" {
		t.Fatal("Secret.String must redact")
	}
}
