package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// testNow is newTestStore's clock.
var testNow = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func tp(t time.Time) *time.Time { return &t }

// accessFixture builds people, groups, assets, accounts and grants that
// exercise every rule of the authorization policy.
//
//	users:  alice (ops), bob, carol (ops, disabled), dave (locked for 1h), erin (dev), frank
//	assets: web1 /prod/web (root, deploy), web2 /prod/web (root), db1 /production (root, postgres),
//	        lone (no node; root), off1 /prod (inactive; root), bare /prod/empty (no account)
func accessFixture(t testing.TB) *Store {
	t.Helper()
	ctx := WithActor(context.Background(), "os:tester")
	s := newTestStore(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{"alice", "bob", "carol", "dave", "erin", "frank"} {
		_, err := s.AddUser(ctx, NewUser{Name: u})
		must(err)
	}
	for g, members := range map[string][]string{"ops": {"alice", "carol"}, "dev": {"erin"}} {
		_, err := s.AddGroup(ctx, g, "")
		must(err)
		_, err = s.AddMembers(ctx, g, members)
		must(err)
	}
	must(s.SetUserDisabled(ctx, "carol", true))
	must(s.LockUser(ctx, "dave", testNow.Add(time.Hour), "test"))
	assets := []struct {
		name, node string
		accounts   []string
	}{
		{"web1", "/prod/web", []string{"root", "deploy"}},
		{"web2", "/prod/web", []string{"root"}},
		{"db1", "/production", []string{"root", "postgres"}},
		{"lone", "", []string{"root"}},
		{"off1", "/prod", []string{"root"}},
		{"bare", "/prod/empty", nil},
	}
	for _, a := range assets {
		_, err := s.AddAsset(ctx, NewAsset{Name: a.name, Address: "10.0.0.1", Node: a.node})
		must(err)
		for _, u := range a.accounts {
			_, err := s.AddAccount(ctx, NewAccount{Asset: a.name, Username: u, Privileged: u == "root"})
			must(err)
		}
	}
	off := false
	must(s.UpdateAsset(ctx, "off1", AssetUpdate{Active: &off}))
	grants := []NewGrant{
		{Name: "ops", Groups: []string{"ops"}, Nodes: []string{"/prod"}, Actions: []string{"connect", "upload"}},
		{Name: "deploy", Users: []string{"alice"}, Assets: []string{"web1"}, Accounts: []string{"deploy"}, Actions: []string{"connect", "download"}},
		{Name: "prodonly", Users: []string{"bob"}, Nodes: []string{"/prod"}, Accounts: []string{"root"},
			ValidFrom: tp(testNow.Add(-24 * time.Hour)), ValidUntil: tp(testNow)},
		{Name: "future", Users: []string{"bob"}, Assets: []string{"db1"}, Accounts: []string{"postgres"}, ValidFrom: tp(testNow.Add(time.Hour))},
		{Name: "exact", Users: []string{"bob"}, Assets: []string{"lone"}, ValidFrom: tp(testNow)},
		{Name: "off", Users: []string{"erin"}, Assets: []string{"web2"}},
		{Name: "dev", Groups: []string{"dev"}, Nodes: []string{"/production"}, Accounts: []string{"postgres"}, Actions: []string{"connect"}},
		{Name: "nobody-acc", Users: []string{"erin"}, Assets: []string{"web1"}, Accounts: []string{"oracle"}},
		{Name: "carolg", Users: []string{"carol"}, Assets: []string{"web1"}},
		{Name: "daveg", Users: []string{"dave"}, Assets: []string{"web1"}, Accounts: []string{"@all"}},
	}
	for _, g := range grants {
		g.Force = true // prodonly has ended, nobody-acc gives an account web1 lacks
		_, err := s.AddGrant(ctx, g)
		must(err)
	}
	_, err := s.UpdateGrant(ctx, "off", GrantUpdate{Active: &off})
	must(err)
	return s
}

func TestExplainAccess(t *testing.T) {
	ctx := context.Background()
	s := accessFixture(t)
	tests := []struct {
		name, user, asset string
		at                time.Time
		allowed           bool
		verdict           string // a substring of the verdict (or the whole of it)
	}{
		{"two grants, two accounts", "alice", "web1", testNow, true,
			"alice can reach web1 as deploy (actions connect,upload,download), root (actions connect,upload) via grants deploy, ops"},
		{"group grant on an ancestor node", "alice", "web2", testNow, true,
			"alice can reach web2 as root (actions connect,upload) via grant ops"},
		{"/prod does not cover /production", "alice", "db1", testNow, false,
			"alice cannot reach db1: grants deploy, ops name alice but do not cover db1 (neither the asset nor its node /production or an ancestor)"},
		{"asset without accounts", "alice", "bare", testNow, false, "grant ops bare has no account"},
		{"inactive asset", "alice", "off1", testNow, false, "alice cannot reach off1: off1 is inactive"},
		{"no node", "alice", "lone", testNow, false, "lone is in no node"},
		{"expired exactly now", "bob", "web1", testNow, false, "grant prodonly expired at 2026-11-27T10:00:00Z"},
		{"just before expiry", "bob", "web1", testNow.Add(-time.Microsecond), true, "bob can reach web1 as root (actions connect,upload,download,delete) via grant prodonly"},
		{"not yet valid", "bob", "db1", testNow, false, "grant future is not valid until 2026-11-27T11:00:00Z"},
		{"valid from the start", "bob", "db1", testNow.Add(time.Hour), true, "as postgres"},
		{"valid from exactly now", "bob", "lone", testNow, true, "bob can reach lone as root"},
		{"a microsecond before from", "bob", "lone", testNow.Add(-time.Microsecond), false, "grant exact is not valid until"},
		{"disabled user", "carol", "web1", testNow, false, "carol cannot reach web1: carol is disabled"},
		{"locked user", "dave", "web1", testNow, false, "dave is locked until 2026-11-27T11:00:00Z"},
		{"lock has passed", "dave", "web1", testNow.Add(2 * time.Hour), true, "dave can reach web1 as deploy, root"},
		{"inactive grant", "erin", "web2", testNow, false, "erin cannot reach web2: grant off is inactive"},
		{"named account missing", "erin", "web1", testNow, false, "grant nobody-acc gives account oracle, none of which exists on web1"},
		{"named account via group", "erin", "db1", testNow, true, "erin can reach db1 as postgres (actions connect) via grant dev"},
		{"no grant at all", "frank", "web1", testNow, false, "frank cannot reach web1: no grant names frank"},
		{"no grant, with groups", "erin", "bare", testNow, false, "grants dev, nobody-acc, off name erin but do not cover bare"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := s.ExplainAccess(ctx, tt.user, tt.asset, tt.at)
			if err != nil {
				t.Fatal(err)
			}
			if e.Allowed != tt.allowed || !strings.Contains(e.Verdict, tt.verdict) {
				t.Errorf("got allowed=%v %q\nwant allowed=%v %q", e.Allowed, e.Verdict, tt.allowed, tt.verdict)
			}
			if !e.Allowed && len(e.Reasons) == 0 {
				t.Errorf("denied without a reason: %+v", e)
			}
		})
	}
	if _, err := s.ExplainAccess(ctx, "nobody", "web1", testNow); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
	if _, err := s.ExplainAccess(ctx, "alice", "nowhere", testNow); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown asset: %v", err)
	}
}

// TestExplainAgreesWithAuthorized checks, for every person, asset and
// instant of interest, that ExplainAccess, WhoCan, AuthorizedAsset and
// AuthorizedAssets tell the same story.
func TestExplainAgreesWithAuthorized(t *testing.T) {
	ctx := context.Background()
	s := accessFixture(t)
	users := []string{"alice", "bob", "carol", "dave", "erin", "frank"}
	assets, err := s.ListAssets(ctx, AssetQuery{})
	if err != nil {
		t.Fatal(err)
	}
	times := []time.Time{
		testNow.Add(-25 * time.Hour), testNow.Add(-time.Second), testNow.Add(-time.Microsecond), testNow,
		testNow.Add(time.Microsecond), testNow.Add(time.Hour - time.Microsecond), testNow.Add(time.Hour),
		testNow.Add(48 * time.Hour),
	}
	cases, allowed := 0, 0
	for _, at := range times {
		for _, u := range users {
			all, err := s.AuthorizedAssets(ctx, u, at)
			if err != nil && !errors.Is(err, ErrDenied) {
				t.Fatal(err)
			}
			reachable := map[string]Access{}
			for _, acc := range all {
				if len(acc.Accounts) > 0 {
					reachable[acc.Asset.Name] = acc
				}
			}
			for _, a := range assets {
				cases++
				e, err := s.ExplainAccess(ctx, u, a.Name, at)
				if err != nil {
					t.Fatal(err)
				}
				one, err := s.AuthorizedAsset(ctx, u, a.ID, at)
				oneOK := err == nil && len(one.Accounts) > 0
				if err != nil && !errors.Is(err, ErrDenied) {
					t.Fatal(err)
				}
				fromAll, inAll := reachable[a.Name]
				if e.Allowed != oneOK || e.Allowed != inAll {
					t.Errorf("%s %s at %s: explain %v (%s), AuthorizedAsset %v, AuthorizedAssets %v",
						u, a.Name, at.Format(time.RFC3339Nano), e.Allowed, e.Verdict, oneOK, inAll)
					continue
				}
				if !e.Allowed {
					continue
				}
				allowed++
				if got, want := explainedKey(e.Accounts), grantedKey(one.Accounts); got != want {
					t.Errorf("%s %s at %s: explain gives %s, AuthorizedAsset %s", u, a.Name, at, got, want)
				}
				if got, want := grantedKey(fromAll.Accounts), grantedKey(one.Accounts); got != want {
					t.Errorf("%s %s at %s: AuthorizedAssets gives %s, AuthorizedAsset %s", u, a.Name, at, got, want)
				}
			}
		}
		for _, a := range assets {
			who, err := s.WhoCan(ctx, a.Name, at)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range who {
				got = append(got, w.User+":"+w.Account+":"+strings.Join(w.Actions, ",")+":"+strings.Join(w.Grants, ","))
			}
			var want []string
			for _, u := range users {
				one, err := s.AuthorizedAsset(ctx, u, a.ID, at)
				if err != nil {
					continue
				}
				for _, c := range one.Accounts {
					want = append(want, u+":"+c.Username+":"+strings.Join(c.Actions, ",")+":"+strings.Join(c.Grants, ","))
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("who-can %s at %s:\n got %q\nwant %q", a.Name, at, got, want)
			}
		}
	}
	if allowed == 0 || allowed == cases {
		t.Fatalf("degenerate fixture: %d of %d cases allowed", allowed, cases)
	}
	t.Logf("%d cases, %d allowed", cases, allowed)
}

func explainedKey(accs []ExplainedAccount) string {
	var b strings.Builder
	for _, c := range accs {
		b.WriteString(c.Username + "(" + strings.Join(c.Actions, ",") + " via " + strings.Join(c.Grants, ",") + ") ")
	}
	return b.String()
}

func grantedKey(accs []GrantedAccount) string {
	var b strings.Builder
	for _, c := range accs {
		b.WriteString(c.Username + "(" + strings.Join(c.Actions, ",") + " via " + strings.Join(c.Grants, ",") + ") ")
	}
	return b.String()
}
