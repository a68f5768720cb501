package store

import (
	"context"
	"testing"
	"time"
)

func TestSourceKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"2001:db8:1:2::/64", "2001:db8:1:2::/64"}, // a key is its own key
		{AnySource, AnySource},
		{"", ""},
	} {
		if got := SourceKey(tc.in); got != tc.want {
			t.Errorf("SourceKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestFailuresPerIPv6Network: addresses of one /64 count and lock as
// one source; another /64 is another source.
func TestFailuresPerIPv6Network(t *testing.T) {
	ctx := WithActor(context.Background(), "test")
	s := newTestStore(t)
	t0 := time.Now().UTC().Truncate(time.Second)
	reasons := []string{"wrong password"}
	for i, src := range []string{"2001:db8:0:1::1", "2001:db8:0:1::2", "2001:db8:0:1:ffff::3", "2001:db8:0:2::1"} {
		e := LoginEvent{At: t0.Add(time.Duration(i) * time.Second), User: "alice", Source: src, Method: "password",
			Result: LoginFailure, Reason: "wrong password", Count: 2}
		if err := s.AddLoginEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	fc, err := s.CountFailures(ctx, "alice", "2001:db8:0:1::9", t0.Add(-time.Minute), reasons)
	if err != nil {
		t.Fatal(err)
	}
	if fc.UserSource != 6 || fc.User != 8 || fc.Names != 1 {
		t.Fatalf("counts %+v, want 6 from the /64, 8 in all, 1 name", fc)
	}
	if err := s.LockLogin(ctx, "alice", "2001:db8:0:1::1", t0.Add(time.Hour), "test"); err != nil {
		t.Fatal(err)
	}
	if _, locked, _ := s.LoginLockedUntil(ctx, "alice", "2001:db8:0:1:abcd::5", t0); !locked {
		t.Error("another address of the locked /64 is not locked")
	}
	if _, locked, _ := s.LoginLockedUntil(ctx, "alice", "2001:db8:0:2::1", t0); locked {
		t.Error("another /64 is locked")
	}
	if n, err := s.UnlockLogins(ctx, "", "2001:db8:0:1::77"); err != nil || n != 0 {
		t.Errorf("unlocking an address that is not throttled lifted %d, %v", n, err)
	}
	if err := s.LockLogin(ctx, "", "2001:db8:0:1::1", t0.Add(time.Hour), "test"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.UnlockLogins(ctx, "", "2001:db8:0:1::77"); err != nil || n != 1 {
		t.Errorf("unlocking by any address of the /64 lifted %d, %v", n, err)
	}
}

// FuzzSourceKey: any string, an address or not, gives a key that is its
// own key, and never panics.
func FuzzSourceKey(f *testing.F) {
	for _, s := range []string{"192.0.2.7", "2001:db8::1", "fe80::1%eth0", "::ffff:10.0.0.1", "*", "2001:db8::/64", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := SourceKey(s)
		if SourceKey(k) != k {
			t.Fatalf("SourceKey(%q) = %q, whose key is %q", s, k, SourceKey(k))
		}
	})
}
