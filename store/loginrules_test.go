package store

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseTimeRange(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		bad      bool
	}{
		{in: "Mon-Fri 08:00-20:00", want: "Mon-Fri 08:00-20:00"},
		{in: "sat,sun 10:00-12:00", want: "Sun,Sat 10:00-12:00"},
		{in: "22:00-06:00", want: "Sun-Sat 22:00-06:00"},
		{in: "Fri-Mon", want: "Sun-Mon,Fri-Sat 00:00-24:00"},
		{in: "Monday 09:00-17:30", want: "Mon 09:00-17:30"},
		{in: "Mon 25:00-26:00", bad: true},
		{in: "Mon 08:00-08:00", bad: true},
		{in: "Someday", bad: true},
		{in: "", bad: true},
		{in: "Mon 8-9", bad: true},
	} {
		tr, err := ParseTimeRange(tc.in)
		if (err != nil) != tc.bad {
			t.Errorf("%q: err %v, want bad=%v", tc.in, err, tc.bad)
			continue
		}
		if err == nil && tr.String() != tc.want {
			t.Errorf("%q: %q, want %q", tc.in, tr.String(), tc.want)
		}
	}
}

func TestLoginRuleDecide(t *testing.T) {
	utc := func(s string) time.Time { tm, _ := time.Parse(time.RFC3339, s); return tm }
	mon10 := utc("2026-11-30T10:00:00Z") // a Monday
	sat10 := utc("2026-11-28T10:00:00Z")
	mon23 := utc("2026-11-30T23:30:00Z")
	tue03 := utc("2026-12-01T03:00:00Z")
	rules := []LoginRule{
		{ID: 1, Name: "office", Action: "allow", Priority: 10, Groups: []string{"ops"}, Sources: []string{"10.0.0.0/8"}, TZ: "UTC", Active: true},
		{ID: 2, Name: "hours", Action: "deny", Priority: 20, Users: []string{"alice"}, Times: []string{"Sat,Sun"}, TZ: "UTC", Active: true},
		{ID: 3, Name: "night", Action: "deny", Priority: 30, Times: []string{"Mon-Fri 22:00-06:00"}, TZ: "UTC", Active: true},
		{ID: 4, Name: "off", Action: "deny", Priority: 1, Active: false},
		{ID: 5, Name: "v6", Action: "deny", Priority: 40, Sources: []string{"2001:db8::/32"}, Active: true},
	}
	ip := netip.MustParseAddr
	for _, tc := range []struct {
		name string
		a    LoginAttempt
		want string // rule name, "" for no match
	}{
		{"ops from office on saturday", LoginAttempt{User: "alice", Groups: []string{"ops"}, Source: ip("10.1.2.3"), At: sat10}, "office"},
		{"alice from home on saturday", LoginAttempt{User: "alice", Source: ip("192.0.2.1"), At: sat10}, "hours"},
		{"alice on monday", LoginAttempt{User: "alice", Source: ip("192.0.2.1"), At: mon10}, ""},
		{"bob monday night", LoginAttempt{User: "bob", Source: ip("192.0.2.1"), At: mon23}, "night"},
		{"bob past midnight", LoginAttempt{User: "bob", Source: ip("192.0.2.1"), At: tue03}, "night"},
		{"ipv6", LoginAttempt{User: "bob", Source: ip("2001:db8::1"), At: mon10}, "v6"},
		{"v4-mapped office", LoginAttempt{User: "x", Groups: []string{"ops"}, Source: ip("::ffff:10.0.0.1"), At: mon10}, "office"},
		{"no source", LoginAttempt{User: "x", Groups: []string{"ops"}, At: mon10}, ""},
	} {
		r, ok := DecideLogin(rules, tc.a)
		got := ""
		if ok {
			got = r.Name
		}
		if got != tc.want {
			t.Errorf("%s: rule %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestLoginRulesStore(t *testing.T) {
	ctx := WithActor(context.Background(), "test")
	s := newTestStore(t)
	if _, err := s.AddUser(ctx, NewUser{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	r, err := s.AddLoginRule(ctx, LoginRule{Name: "lan", Action: "deny", Users: []string{"alice"},
		Sources: []string{"10.0.0.1", "192.168.0.0/16"}, Times: []string{"mon-fri 08:00-20:00"}, TZ: "Europe/Paris"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Sources[0] != "10.0.0.1/32" || r.Sources[1] != "192.168.0.0/16" || r.Times[0] != "Mon-Fri 08:00-20:00" || !r.Active {
		t.Fatalf("stored %+v", r)
	}
	for _, bad := range []LoginRule{
		{Name: "x", Users: []string{"nobody"}},
		{Name: "y", Sources: []string{"10.0.0.300"}},
		{Name: "w", Sources: []string{"192.168.1.7/16"}},
		{Name: "z", TZ: "Mars/Olympus"},
		{Name: "lan"},
	} {
		if _, err := s.AddLoginRule(ctx, bad); err == nil {
			t.Errorf("added %+v", bad)
		}
	}
	if err := s.RemoveLoginRule(ctx, "lan"); err != nil {
		t.Fatal(err)
	}
	if rs, _ := s.ListLoginRules(ctx); len(rs) != 0 {
		t.Fatalf("left %+v", rs)
	}
}

func TestMFAStepsAndRecoveryCodes(t *testing.T) {
	ctx := WithActor(context.Background(), "test")
	s := newTestStore(t)
	u, err := s.AddUser(ctx, NewUser{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.UseMFAStep(ctx, u.ID, 5); ok {
		t.Fatal("a step accepted without MFA")
	}
	codes, _ := GenerateRecoveryCodes()
	if err := s.EnableMFA(ctx, "alice", Secret("JBSWY3DPEHPK3PXP"), 0, codes); err != nil {
		t.Fatal(err)
	}
	m, err := s.GetUserMFA(ctx, "alice")
	if err != nil || string(m.Seed) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("seed %v", err)
	}
	// Racing logins with one code: exactly one wins.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, err := s.UseMFAStep(ctx, u.ID, 100); err == nil && ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d logins won with one code", wins.Load())
	}
	if ok, _ := s.UseMFAStep(ctx, u.ID, 99); ok {
		t.Fatal("an older step accepted")
	}
	if ok, _ := s.UseRecoveryCode(ctx, u.ID, codes[3]); !ok {
		t.Fatal("recovery code refused")
	}
	if ok, _ := s.UseRecoveryCode(ctx, u.ID, codes[3]); ok {
		t.Fatal("recovery code used twice")
	}
	if n, _ := s.RecoveryCodesLeft(ctx, "alice"); n != RecoveryCodeCount-1 {
		t.Fatalf("%d codes left", n)
	}
	if err := s.DisableMFA(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.GetUserMFA(ctx, "alice"); m.Seed != nil {
		t.Fatal("seed left")
	}
	if n, _ := s.RecoveryCodesLeft(ctx, "alice"); n != 0 {
		t.Fatalf("%d codes left after disable", n)
	}
}
