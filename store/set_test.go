package store

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

// lastOp returns the newest operation's action and target.
func lastOp(t *testing.T, s *Store) Operation {
	t.Helper()
	ops, err := s.ListOperations(context.Background(), AuditQuery{})
	if err != nil || len(ops) == 0 {
		t.Fatalf("operations: %v %v", ops, err)
	}
	newest := ops[0]
	for _, o := range ops {
		if o.ID > newest.ID {
			newest = o
		}
	}
	return newest
}

func TestUpdateFilter(t *testing.T) {
	ctx := WithActor(context.Background(), "os:tester")
	base := NewFilter{Name: "f", Action: "deny", Commands: []string{"reboot"}, Users: []string{"alice"}, Nodes: []string{"/prod"}}
	tests := []struct {
		name  string
		start NewFilter
		fu    FilterUpdate
		check func(Filter) bool
		want  string // error substring; "" = success
	}{
		{"action and priority", base, FilterUpdate{Action: ptr("Review"), Priority: ptr(10)},
			func(f Filter) bool { return f.Action == "review" && f.Priority == 10 }, ""},
		{"add and rm command", base, FilterUpdate{AddCommands: []string{"halt", "reboot"}, RmCommands: []string{"reboot"}},
			func(f Filter) bool { return slices.Equal(f.Commands, []string{"halt"}) }, ""},
		{"rm spaced command", NewFilter{Name: "f", Action: "deny", Commands: []string{"rm -rf /"}}, FilterUpdate{AddCommands: []string{"x"}, RmCommands: []string{"rm  -rf  /"}},
			func(f Filter) bool { return slices.Equal(f.Commands, []string{"x"}) }, ""},
		{"regex replaces commands", base, FilterUpdate{Regex: ptr("^halt")},
			func(f Filter) bool { return f.Regex == "^halt" && len(f.Commands) == 0 }, ""},
		{"command replaces regex", NewFilter{Name: "f", Action: "deny", Regex: "x"}, FilterUpdate{AddCommands: []string{"halt"}},
			func(f Filter) bool { return f.Regex == "" && slices.Equal(f.Commands, []string{"halt"}) }, ""},
		{"scope edits", base, FilterUpdate{AddGroups: []string{"ops"}, RmUsers: []string{"alice"}, AddNodes: []string{"/prod/web/"}, RmNodes: []string{"/prod"}},
			func(f Filter) bool {
				return len(f.Users) == 0 && slices.Equal(f.Groups, []string{"ops"}) && slices.Equal(f.Nodes, []string{"/prod/web"})
			}, ""},
		{"comment", base, FilterUpdate{Comment: ptr("why")}, func(f Filter) bool { return f.Comment == "why" }, ""},
		{"bad action", base, FilterUpdate{Action: ptr("block")}, nil, `unknown filter action "block"`},
		{"priority 0", base, FilterUpdate{Priority: ptr(0)}, nil, "priority 0 is out of range"},
		{"priority 101", base, FilterUpdate{Priority: ptr(101)}, nil, "priority 101 is out of range"},
		{"bad regex", base, FilterUpdate{Regex: ptr("(x")}, nil, "not a valid Go regular expression"},
		{"last command", base, FilterUpdate{RmCommands: []string{"reboot"}}, nil, "exactly one of --regex RE or --command WORD"},
		{"rm absent command", base, FilterUpdate{RmCommands: []string{"halt"}}, nil, `filter "f" has no command "halt" to remove (--rm-command)`},
		{"rm absent user", base, FilterUpdate{RmUsers: []string{"bob"}}, nil, `filter "f" has no user "bob" to remove`},
		{"widen users", base, FilterUpdate{RmUsers: []string{"alice"}}, nil, `filter "f" would then apply to every user`},
		{"widen assets", base, FilterUpdate{RmNodes: []string{"/prod"}}, nil, `filter "f" would then apply to every asset`},
		{"unknown user", base, FilterUpdate{AddUsers: []string{"zed"}}, nil, `user "zed" does not exist`},
		{"unknown node", base, FilterUpdate{AddNodes: []string{"/nope"}}, nil, `node "/nope" does not exist`},
		{"bad account", base, FilterUpdate{AddAccounts: []string{"a b"}}, nil, "invalid account username"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := accessFixture(t)
			if _, err := s.AddFilter(ctx, tt.start); err != nil {
				t.Fatal(err)
			}
			before, _ := s.GetFilter(ctx, "f")
			f, err := s.UpdateFilter(ctx, "f", tt.fu)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("got %v, want %q", err, tt.want)
				}
				after, _ := s.GetFilter(ctx, "f")
				if !slices.Equal(after.Users, before.Users) || !slices.Equal(after.Commands, before.Commands) || after.Action != before.Action {
					t.Fatalf("a refused update changed the filter: %+v", after)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(f) {
				t.Fatalf("after update: %+v", f)
			}
			if op := lastOp(t, s); op.Action != "filter.set" || op.Target != "f" {
				t.Fatalf("operation: %+v", op)
			}
		})
	}
	s := accessFixture(t)
	if _, err := s.UpdateFilter(ctx, "nope", FilterUpdate{Comment: ptr("x")}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown filter: %v", err)
	}
}

func TestUpdateLoginRule(t *testing.T) {
	ctx := WithActor(context.Background(), "os:tester")
	base := LoginRule{Name: "r", Action: "deny", Users: []string{"alice"}, Sources: []string{"10.0.0.0/8"}, Times: []string{"Mon-Fri 08:00-20:00"}}
	tests := []struct {
		name  string
		ru    LoginRuleUpdate
		check func(LoginRule) bool
		want  string
	}{
		{"action priority tz", LoginRuleUpdate{Action: ptr("allow"), Priority: ptr(5), TZ: ptr("UTC")},
			func(r LoginRule) bool { return r.Action == "allow" && r.Priority == 5 && r.TZ == "UTC" }, ""},
		{"sources canonical", LoginRuleUpdate{AddSources: []string{"192.0.2.7"}, RmSources: []string{"10.0.0.0/8"}},
			func(r LoginRule) bool { return slices.Equal(r.Sources, []string{"192.0.2.7/32"}) }, ""},
		{"times canonical", LoginRuleUpdate{AddTimes: []string{"sat,sun"}, RmTimes: []string{"mon-fri 08:00-20:00"}},
			func(r LoginRule) bool { return len(r.Times) == 1 && r.Times[0] != "Mon-Fri 08:00-20:00" }, ""},
		{"who", LoginRuleUpdate{AddGroups: []string{"ops"}, RmUsers: []string{"alice"}},
			func(r LoginRule) bool { return len(r.Users) == 0 && slices.Equal(r.Groups, []string{"ops"}) }, ""},
		{"bad action", LoginRuleUpdate{Action: ptr("block")}, nil, `unknown login rule action "block"`},
		{"empty action", LoginRuleUpdate{Action: ptr(" ")}, nil, "--action needs a value: allow or deny"},
		{"priority 0", LoginRuleUpdate{Priority: ptr(0)}, nil, "priority 0 is out of range"},
		{"host bits", LoginRuleUpdate{AddSources: []string{"10.0.0.1/8"}}, nil, "did you mean 10.0.0.0/8?"},
		{"bad time", LoginRuleUpdate{AddTimes: []string{"Mon-Fri 8-20"}}, nil, `did you mean "Mon-Fri 08:00-20:00"?`},
		{"bad tz", LoginRuleUpdate{TZ: ptr("Mars/Base")}, nil, `time zone "Mars/Base"`},
		{"rm absent source", LoginRuleUpdate{RmSources: []string{"192.0.2.0/24"}}, nil, `login rule "r" has no source "192.0.2.0/24" to remove (--rm-source)`},
		{"widen who", LoginRuleUpdate{RmUsers: []string{"alice"}}, nil, `login rule "r" would then apply to everyone`},
		{"widen sources", LoginRuleUpdate{RmSources: []string{"10.0.0.0/8"}}, nil, "would then apply to every source address"},
		{"widen times", LoginRuleUpdate{RmTimes: []string{"Mon-Fri 08:00-20:00"}}, nil, "would then apply to all times"},
		{"unknown user", LoginRuleUpdate{AddUsers: []string{"zed"}}, nil, `user "zed": not found`},
		{"unknown group", LoginRuleUpdate{AddGroups: []string{"nope"}}, nil, `group "nope": not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := accessFixture(t)
			start := base
			start.Users, start.Sources, start.Times = slices.Clone(base.Users), slices.Clone(base.Sources), slices.Clone(base.Times)
			before, err := s.AddLoginRule(ctx, start)
			if err != nil {
				t.Fatal(err)
			}
			r, err := s.UpdateLoginRule(ctx, "r", tt.ru)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("got %v, want %q", err, tt.want)
				}
				after, _ := s.GetLoginRule(ctx, "r")
				if !slices.Equal(after.Sources, before.Sources) || !slices.Equal(after.Users, before.Users) || after.Action != before.Action {
					t.Fatalf("a refused update changed the rule: %+v", after)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(r) {
				t.Fatalf("after update: %+v", r)
			}
			if op := lastOp(t, s); op.Action != "acl.set" || op.Target != "r" {
				t.Fatalf("operation: %+v", op)
			}
		})
	}
}

func TestSetLoginRuleActive(t *testing.T) {
	ctx := WithActor(context.Background(), "os:tester")
	s := accessFixture(t)
	if _, err := s.AddLoginRule(ctx, LoginRule{Name: "r", Action: "deny"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLoginRuleActive(ctx, "r", false); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.GetLoginRule(ctx, "r"); r.Active {
		t.Fatal("still active")
	}
	if op := lastOp(t, s); op.Action != "acl.disable" {
		t.Fatalf("operation: %+v", op)
	}
	if err := s.SetLoginRuleActive(ctx, "nope", true); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown rule: %v", err)
	}
}

func TestUpdateGroup(t *testing.T) {
	ctx := WithActor(context.Background(), "os:tester")
	s := accessFixture(t)
	if _, err := s.AddGrant(ctx, NewGrant{Name: "g", Groups: []string{"ops"}, Assets: []string{"web1"}, Accounts: []string{AllAccounts}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddLoginRule(ctx, LoginRule{Name: "r", Groups: []string{"dev", "ops"}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		from string
		gu   GroupUpdate
		want string
	}{
		{"taken", "ops", GroupUpdate{Name: ptr("dev")}, `group "dev" already exists`},
		{"bad name", "ops", GroupUpdate{Name: ptr("Bad Name")}, "invalid group name"},
		{"unknown", "nope", GroupUpdate{Comment: ptr("x")}, `group "nope": not found`},
	}
	for _, tt := range tests {
		if _, err := s.UpdateGroup(ctx, tt.from, tt.gu); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Fatalf("%s: got %v, want %q", tt.name, err, tt.want)
		}
	}
	g, err := s.UpdateGroup(ctx, "ops", GroupUpdate{Name: ptr("oncall"), Comment: ptr("rota")})
	if err != nil {
		t.Fatal(err)
	}
	if g.Name != "oncall" || g.Comment != "rota" || !slices.Equal(g.Members, []string{"alice", "carol"}) {
		t.Fatalf("renamed group: %+v", g)
	}
	if gr, _ := s.GetGrant(ctx, "g"); !slices.Equal(gr.Groups, []string{"oncall"}) {
		t.Fatalf("grant after rename: %v", gr.Groups)
	}
	if r, _ := s.GetLoginRule(ctx, "r"); !slices.Equal(r.Groups, []string{"dev", "oncall"}) {
		t.Fatalf("login rule after rename: %v", r.Groups)
	}
	if op := lastOp(t, s); op.Action != "group.set" || op.Target != "ops" || !strings.Contains(op.Detail, `"name":"oncall"`) {
		t.Fatalf("operation: %+v", op)
	}
}

func TestUpdateAccount(t *testing.T) {
	ctx := WithActor(context.Background(), "os:tester")
	s := accessFixture(t)
	c, err := s.UpdateAccount(ctx, "web1", "root", AccountUpdate{Privileged: ptr(false), Comment: ptr("break glass")})
	if err != nil {
		t.Fatal(err)
	}
	if c.Privileged || c.Comment != "break glass" {
		t.Fatalf("account: %+v", c)
	}
	if op := lastOp(t, s); op.Action != "account.set" || op.Target != "root@web1" {
		t.Fatalf("operation: %+v", op)
	}
	if _, err := s.UpdateAccount(ctx, "web1", "nobody", AccountUpdate{Comment: ptr("x")}); err == nil ||
		err.Error() != "account nobody@web1: not found" {
		t.Fatalf("unknown account: %v", err)
	}
}

func TestImportChanges(t *testing.T) {
	ctx := WithActor(context.Background(), "os:tester")
	s := newTestStore(t)
	if _, err := s.ImportAssets(ctx, []ImportAsset{{NewAsset: NewAsset{Name: "web1", Address: "10.0.0.5",
		Labels: map[string]string{"env": "prod"}}}}, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportUsers(ctx, []ImportUser{{Name: "alice", Role: "user", Groups: []string{"ops"}}}, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	assetTests := []struct {
		name string
		row  ImportAsset
		want map[string]FieldChange
	}{
		{"address and labels", ImportAsset{Present: map[string]bool{"name": true, "address": true, "labels": true},
			NewAsset: NewAsset{Name: "web1", Address: "10.0.0.6", Labels: map[string]string{"env": "staging"}}},
			map[string]FieldChange{"address": {"10.0.0.5", "10.0.0.6"}, "labels": {"env=prod", "env=staging"}}},
		{"port only", ImportAsset{Present: map[string]bool{"name": true, "port": true}, NewAsset: NewAsset{Name: "web1", Port: 2222}},
			map[string]FieldChange{"port": {"22", "2222"}}},
		{"comment set", ImportAsset{Present: map[string]bool{"name": true, "comment": true}, NewAsset: NewAsset{Name: "web1", Comment: "x"}},
			map[string]FieldChange{"comment": {"", "x"}}},
	}
	for _, tt := range assetTests {
		res, err := s.ImportAssets(ctx, []ImportAsset{tt.row}, ImportOptions{DryRun: true, Upsert: true})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := res.Changes["web1"]; !maps.Equal(got, tt.want) {
			t.Errorf("%s: changes %v, want %v", tt.name, got, tt.want)
		}
	}
	res, err := s.ImportAssets(ctx, []ImportAsset{{Present: map[string]bool{"name": true}, NewAsset: NewAsset{Name: "web1"}}},
		ImportOptions{DryRun: true, Upsert: true})
	if err != nil || len(res.Changes) != 0 || len(res.Unchanged) != 1 {
		t.Fatalf("unchanged row: %+v %v", res, err)
	}
	res, err = s.ImportUsers(ctx, []ImportUser{{Name: "alice", Email: "a@example.com", Role: "admin", Groups: []string{"dev", "ops"},
		Present: map[string]bool{"name": true, "email": true, "role": true, "groups": true}}}, ImportOptions{DryRun: true, Upsert: true})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]FieldChange{"email": {"", "a@example.com"}, "role": {"user", "admin"}, "groups": {"ops", "dev,ops"}}
	if got := res.Changes["alice"]; !maps.Equal(got, want) {
		t.Fatalf("user changes %v, want %v", got, want)
	}
	if u, _ := s.GetUser(ctx, "alice"); u.Role != "user" {
		t.Fatalf("a dry run changed alice: %+v", u)
	}
}

// FuzzPlanLoginRuleUpdate feeds acl set values (from the command line
// of an admin, or over SSH) to the planner: it never panics, and a plan
// it accepts is a valid rule that covers no more than it did.
func FuzzPlanLoginRuleUpdate(f *testing.F) {
	f.Add("10.0.0.0/8", "10.0.0.1", "Mon-Fri 08:00-20:00", "sat", "alice", "allow", 10)
	f.Add("10.0.0.1/8", "", "9am-5pm", "Mon-Fri 08:00-20:00", "", "deny", 0)
	f.Add("", "10.0.0.0/8", "", "", "", "", 101)
	cur := LoginRule{Name: "r", Action: "deny", Priority: 50, Users: []string{"alice"},
		Sources: []string{"10.0.0.0/8"}, Times: []string{"Mon-Fri 08:00-20:00"}}
	f.Fuzz(func(t *testing.T, addSrc, rmSrc, addTime, rmTime, rmUser, action string, prio int) {
		ru := LoginRuleUpdate{Action: &action, Priority: &prio}
		for _, pair := range []struct {
			v   string
			dst *[]string
		}{{addSrc, &ru.AddSources}, {rmSrc, &ru.RmSources}, {addTime, &ru.AddTimes}, {rmTime, &ru.RmTimes}, {rmUser, &ru.RmUsers}} {
			if pair.v != "" {
				*pair.dst = []string{pair.v}
			}
		}
		c := cur
		c.Users, c.Sources, c.Times = slices.Clone(cur.Users), slices.Clone(cur.Sources), slices.Clone(cur.Times)
		r, err := planLoginRuleUpdate(c, ru)
		if err != nil {
			return
		}
		if err := r.Check(); err != nil {
			t.Fatalf("accepted a rule that does not check: %+v: %v", r, err)
		}
		if len(r.Users)+len(r.Groups) == 0 || len(r.Sources) == 0 || len(r.Times) == 0 {
			t.Fatalf("accepted a widening edit: %+v", r)
		}
	})
}

// FuzzPlanFilterUpdate does the same for filter set.
func FuzzPlanFilterUpdate(f *testing.F) {
	f.Add("halt", "reboot", "", "deny", 10, "/prod/")
	f.Add("", "", "(x", "block", 0, "")
	f.Add("rm  -rf /", "reboot", "^re", "allow", 101, "/prod")
	cur := Filter{Name: "f", Action: "deny", Priority: 50, Commands: []string{"reboot"}, Users: []string{"alice"}, Nodes: []string{"/prod"}}
	f.Fuzz(func(t *testing.T, addCmd, rmCmd, regex, action string, prio int, rmNode string) {
		fu := FilterUpdate{Action: &action, Priority: &prio}
		if regex != "" {
			fu.Regex = &regex
		}
		if addCmd != "" {
			fu.AddCommands = []string{addCmd}
		}
		if rmCmd != "" {
			fu.RmCommands = []string{rmCmd}
		}
		if rmNode != "" {
			fu.RmNodes = []string{rmNode}
		}
		nf, err := planFilterUpdate(cur, fu)
		if err != nil {
			return
		}
		if err := nf.Check(); err != nil {
			t.Fatalf("accepted a filter that does not check: %+v: %v", nf, err)
		}
		if len(nf.Users) == 0 || len(nf.Nodes) == 0 {
			t.Fatalf("accepted a widening edit: %+v", nf)
		}
	})
}
