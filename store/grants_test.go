package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAddGrantRefusals(t *testing.T) {
	ctx := WithActor(context.Background(), "os:tester")
	s := accessFixture(t)
	tests := []struct {
		name string
		ng   NewGrant
		want string
	}{
		{"bad name", NewGrant{Name: "Bad Name", Users: []string{"alice"}, Assets: []string{"web1"}}, "invalid grant name"},
		{"nobody", NewGrant{Name: "g", Assets: []string{"web1"}}, "at least one --user or --group"},
		{"nothing", NewGrant{Name: "g", Users: []string{"alice"}}, "at least one --asset or --node"},
		{"unknown user", NewGrant{Name: "g", Users: []string{"zed"}, Assets: []string{"web1"}}, `user "zed" does not exist`},
		{"unknown group", NewGrant{Name: "g", Groups: []string{"nope"}, Assets: []string{"web1"}}, `group "nope" does not exist`},
		{"unknown asset", NewGrant{Name: "g", Users: []string{"alice"}, Assets: []string{"web9"}}, `asset "web9" does not exist`},
		{"unknown node", NewGrant{Name: "g", Users: []string{"alice"}, Nodes: []string{"/prod/db"}}, `node "/prod/db" does not exist`},
		{"bad action", NewGrant{Name: "g", Users: []string{"alice"}, Assets: []string{"web1"}, Actions: []string{"connect", "sudo"}}, `unknown action "sudo"`},
		{"@all and names", NewGrant{Name: "g", Users: []string{"alice"}, Assets: []string{"web1"}, Accounts: []string{"@all", "root"}}, "@all already gives every account"},
		{"bad account", NewGrant{Name: "g", Users: []string{"alice"}, Assets: []string{"web1"}, Accounts: []string{"ro@ot"}}, "invalid account username"},
		{"window backwards", NewGrant{Name: "g", Users: []string{"alice"}, Assets: []string{"web1"},
			ValidFrom: tp(testNow), ValidUntil: tp(testNow.Add(-time.Hour))}, "--until must be after --from"},
		{"empty window", NewGrant{Name: "g", Users: []string{"alice"}, Assets: []string{"web1"},
			ValidFrom: tp(testNow), ValidUntil: tp(testNow)}, "--until must be after --from"},
		{"taken", NewGrant{Name: "ops", Users: []string{"alice"}, Assets: []string{"web1"}}, `grant "ops" already exists`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.AddGrant(ctx, tt.ng)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
	// A refused grant leaves nothing behind (one transaction).
	if _, err := s.GetGrant(ctx, "g"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("half-made grant: %v", err)
	}
}

func TestGrantLifecycle(t *testing.T) {
	ctx := WithActor(context.Background(), "os:tester")
	s := accessFixture(t)
	g, err := s.AddGrant(ctx, NewGrant{Name: "night", Users: []string{"bob", "alice"}, Groups: []string{"dev"},
		Assets: []string{"web2"}, Nodes: []string{"prod/web/"}, Comment: "on call"})
	if err != nil {
		t.Fatal(err)
	}
	if !g.AllAccounts || !slices.Equal(g.Accounts, []string{"@all"}) || !slices.Equal(g.Actions, DefaultActions) ||
		!slices.Equal(g.Users, []string{"alice", "bob"}) || !slices.Equal(g.Nodes, []string{"/prod/web"}) || !g.Active {
		t.Fatalf("unexpected grant %+v", g)
	}
	if st := g.State(testNow); st != "active" {
		t.Errorf("state %q", st)
	}
	off := false
	until := testNow.Add(24 * time.Hour)
	g, err = s.UpdateGrant(ctx, "night", GrantUpdate{RemoveUsers: []string{"bob"}, AddAssets: []string{"db1"},
		RemoveNodes: []string{"/prod/web"}, AddAccounts: []string{"root"}, RemoveAccounts: []string{"@all"},
		Actions: []string{"connect"}, ValidUntil: &until, Active: &off})
	if err != nil {
		t.Fatal(err)
	}
	if g.AllAccounts || !slices.Equal(g.Accounts, []string{"root"}) || !slices.Equal(g.Users, []string{"alice"}) ||
		!slices.Equal(g.Assets, []string{"db1", "web2"}) || len(g.Nodes) != 0 || g.Active ||
		!slices.Equal(g.Actions, []string{"connect"}) || g.ValidUntil == nil || !g.ValidUntil.Equal(until) {
		t.Fatalf("after update %+v", g)
	}
	if st := g.State(testNow); st != "inactive" {
		t.Errorf("state %q", st)
	}
	for name, gu := range map[string]GrantUpdate{
		"would name nobody":     {RemoveUsers: []string{"alice"}, RemoveGroups: []string{"dev"}},
		"would cover nothing":   {RemoveAssets: []string{"db1", "web2"}},
		"would give no account": {RemoveAccounts: []string{"root"}},
		"@all already gives":    {AddAccounts: []string{"@all"}},
		"before it starts":      {ValidFrom: tp(until.Add(time.Hour))},
	} {
		if _, err := s.UpdateGrant(ctx, "night", gu); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: got %v", name, err)
		}
	}
	g, err = s.UpdateGrant(ctx, "night", GrantUpdate{ClearUntil: true})
	if err != nil || g.ValidUntil != nil {
		t.Fatalf("clear until: %v %+v", err, g)
	}
	list, err := s.ListGrants(ctx)
	if err != nil || len(list) != 11 {
		t.Fatalf("list: %d grants, %v", len(list), err)
	}
	if err := s.RemoveGrant(ctx, "night"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveGrant(ctx, "night"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second rm: %v", err)
	}
	ops, err := s.ListOperations(ctx, AuditQuery{Asset: "night"})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, o := range ops {
		actions = append(actions, o.Action)
	}
	if !slices.Equal(actions, []string{"grant.add", "grant.set", "grant.set", "grant.rm"}) {
		t.Fatalf("audit: %q", actions)
	}
}

func TestParseActions(t *testing.T) {
	for in, want := range map[string]string{
		"connect":                "connect",
		"upload, connect,upload": "connect,upload",
		"FORWARD,delete":         "delete,forward",
		"":                       "error",
		"connect,fly":            "error",
	} {
		got, err := ParseActions(in)
		if err != nil {
			if want != "error" {
				t.Errorf("%q: %v", in, err)
			}
			continue
		}
		if strings.Join(got, ",") != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

// TestInventorySnapshotFollowsChanges checks that AuthorizedAssets sees
// inventory changes made after its snapshot was taken, including by
// another Store on the same file (another process).
func TestInventorySnapshotFollowsChanges(t *testing.T) {
	ctx := WithActor(context.Background(), "os:tester")
	s := accessFixture(t)
	names := func() []string {
		acc, err := s.AuthorizedAssets(ctx, "alice", testNow)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range acc {
			out = append(out, a.Asset.Name+"/"+strings.Join(accountNames(a.Accounts), "+"))
		}
		return out
	}
	if got := names(); !slices.Equal(got, []string{"bare/", "web1/deploy+root", "web2/root"}) {
		t.Fatalf("before: %q", got)
	}
	if _, err := s.AddAccount(ctx, NewAccount{Asset: "bare", Username: "admin"}); err != nil {
		t.Fatal(err)
	}
	if got := names(); !slices.Equal(got, []string{"bare/admin", "web1/deploy+root", "web2/root"}) {
		t.Fatalf("after account add: %q", got)
	}
	other, err := Open(ctx, s.loc.raw(), Options{Now: s.now})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.RemoveAsset(ctx, "web2"); err != nil {
		t.Fatal(err)
	}
	if got := names(); !slices.Equal(got, []string{"bare/admin", "web1/deploy+root"}) {
		t.Fatalf("after another store removed web2: %q", got)
	}
}

func accountNames(accs []GrantedAccount) []string {
	var out []string
	for _, a := range accs {
		out = append(out, a.Username)
	}
	return out
}
