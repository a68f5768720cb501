package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAddFilterRefusals(t *testing.T) {
	ctx := WithActor(context.Background(), "os:tester")
	s := accessFixture(t)
	tests := []struct {
		name string
		nf   NewFilter
		want string
	}{
		{"no action", NewFilter{Name: "f", Commands: []string{"reboot"}}, "--action is required"},
		{"bad action", NewFilter{Name: "f", Action: "block", Commands: []string{"reboot"}}, `unknown filter action "block"`},
		{"priority low", NewFilter{Name: "f", Action: "deny", Priority: -1, Commands: []string{"reboot"}}, "priority -1 is out of range"},
		{"priority high", NewFilter{Name: "f", Action: "deny", Priority: 101, Commands: []string{"reboot"}}, "priority 101 is out of range"},
		{"neither", NewFilter{Name: "f", Action: "deny"}, "exactly one of --regex RE or --command WORD"},
		{"both", NewFilter{Name: "f", Action: "deny", Regex: "x", Commands: []string{"reboot"}}, "not both"},
		{"bad regex", NewFilter{Name: "f", Action: "deny", Regex: "(reboot"}, "not a valid Go regular expression"},
		{"blank command", NewFilter{Name: "f", Action: "deny", Commands: []string{" "}}, "--command needs a word"},
		{"unknown user", NewFilter{Name: "f", Action: "deny", Commands: []string{"reboot"}, Users: []string{"zed"}}, `user "zed" does not exist`},
		{"unknown node", NewFilter{Name: "f", Action: "deny", Commands: []string{"reboot"}, Nodes: []string{"/nope"}}, `node "/nope" does not exist`},
		{"bad account", NewFilter{Name: "f", Action: "deny", Commands: []string{"reboot"}, Accounts: []string{"a b"}}, "invalid account username"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.AddFilter(ctx, tt.nf); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := s.GetFilter(ctx, "f"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("half-made filter: %v", err)
	}
}

func TestFiltersFor(t *testing.T) {
	ctx := WithActor(context.Background(), "os:tester")
	s := accessFixture(t)
	filters := []NewFilter{
		{Name: "everyone", Action: "deny", Commands: []string{"reboot", "rm  -rf /"}},
		{Name: "ops-prod", Action: "review", Priority: 10, Regex: `^systemctl (stop|restart)`, Groups: []string{"ops"}, Nodes: []string{"/prod"}},
		{Name: "bob-web1-root", Action: "warn", Priority: 10, Commands: []string{"vim"}, Users: []string{"bob"}, Assets: []string{"web1"}, Accounts: []string{"root"}},
		{Name: "db-postgres", Action: "allow", Priority: 90, Commands: []string{"psql"}, Nodes: []string{"/production"}, Accounts: []string{"postgres"}},
		{Name: "alice-or-dev", Action: "deny", Priority: 50, Commands: []string{"shutdown"}, Users: []string{"alice"}, Groups: []string{"dev"}},
		{Name: "switched-off", Action: "deny", Priority: 1, Commands: []string{"ls"}},
	}
	for _, nf := range filters {
		if _, err := s.AddFilter(ctx, nf); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetFilterActive(ctx, "switched-off", false); err != nil {
		t.Fatal(err)
	}
	f, err := s.GetFilter(ctx, "everyone")
	if err != nil || f.Priority != 50 || !slices.Equal(f.Commands, []string{"reboot", "rm -rf /"}) {
		t.Fatalf("defaults: %v %+v", err, f)
	}
	ids := map[string]int64{}
	for _, a := range []string{"web1", "web2", "db1", "lone", "bare"} {
		asset, err := s.GetAsset(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		ids[a] = asset.ID
	}
	tests := []struct {
		user, asset, account string
		want                 string
	}{
		{"alice", "web1", "root", "ops-prod,everyone,alice-or-dev"},
		{"alice", "bare", "root", "ops-prod,everyone,alice-or-dev"}, // /prod/empty is under /prod; ties by id
		{"alice", "db1", "postgres", "everyone,alice-or-dev,db-postgres"},
		{"alice", "lone", "root", "everyone,alice-or-dev"},
		{"bob", "web1", "root", "bob-web1-root,everyone"},
		{"bob", "web1", "deploy", "everyone"},
		{"bob", "web2", "root", "everyone"},
		{"erin", "db1", "postgres", "everyone,alice-or-dev,db-postgres"},
		{"erin", "db1", "root", "everyone,alice-or-dev"},
		{"frank", "web1", "root", "everyone"},
	}
	for _, tt := range tests {
		got, err := s.FiltersFor(ctx, tt.user, ids[tt.asset], tt.account)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range got {
			names = append(names, f.Name)
		}
		if strings.Join(names, ",") != tt.want {
			t.Errorf("%s on %s as %s: got %q, want %q", tt.user, tt.asset, tt.account, names, tt.want)
		}
	}
	if _, err := s.FiltersFor(ctx, "nobody", ids["web1"], "root"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
	list, err := s.ListFilters(ctx)
	if err != nil || len(list) != 6 || list[0].Name != "switched-off" {
		t.Fatalf("list in match order: %v %+v", err, list)
	}
	if err := s.RemoveFilter(ctx, "everyone"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveFilter(ctx, "everyone"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second rm: %v", err)
	}
}

func TestAuditEvents(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	events := []CommandEvent{
		{SessionID: "s1", At: testNow.Add(-2 * time.Hour), User: "alice", Asset: "web1", Account: "root", Command: "ls", Verdict: VerdictAllow},
		{SessionID: "s1", At: testNow.Add(-time.Hour), User: "alice", Asset: "web1", Account: "root", Command: "reboot", Verdict: VerdictDeny, Filter: "no-reboot"},
		{SessionID: "s2", User: "bob", Asset: "db1", Account: "postgres", Command: "psql", Verdict: VerdictWarn, Filter: "psql"},
	}
	for _, e := range events {
		if _, err := s.AddCommandEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddCommandEvent(ctx, CommandEvent{Command: "x"}); err == nil {
		t.Fatal("an event without session, user and verdict was accepted")
	}
	for _, tt := range []struct {
		aq   AuditQuery
		want string
	}{
		{AuditQuery{}, "ls,reboot,psql"},
		{AuditQuery{User: "alice"}, "ls,reboot"},
		{AuditQuery{Asset: "db1"}, "psql"},
		{AuditQuery{Session: "s1", Verdict: "deny"}, "reboot"},
		{AuditQuery{Since: testNow.Add(-90 * time.Minute)}, "reboot,psql"},
		{AuditQuery{Limit: 2}, "reboot,psql"},
	} {
		got, err := s.ListCommandEvents(ctx, tt.aq)
		if err != nil {
			t.Fatal(err)
		}
		var cmds []string
		for _, e := range got {
			cmds = append(cmds, e.Command)
		}
		if strings.Join(cmds, ",") != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.aq, cmds, tt.want)
		}
	}
	if _, err := s.AddTransferEvent(ctx, TransferEvent{SessionID: "s3", User: "alice", Asset: "web1", Account: "root",
		Operation: "upload", Path: "/tmp/x", Size: 42, Result: "ok"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddTransferEvent(ctx, TransferEvent{SessionID: "s3", User: "alice", Asset: "web1", Account: "root",
		Operation: "delete", Path: "/etc/passwd", Result: "denied", Detail: "grant lacks delete"}); err != nil {
		t.Fatal(err)
	}
	tr, err := s.ListTransferEvents(ctx, AuditQuery{User: "alice", Verdict: "denied"})
	if err != nil || len(tr) != 1 || tr[0].Path != "/etc/passwd" || !tr[0].At.Equal(testNow) {
		t.Fatalf("transfers: %v %+v", err, tr)
	}
}
