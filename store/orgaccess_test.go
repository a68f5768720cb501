package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// orgFixture is two organizations: default (A: alice, carol; assets
// web1 and onlya; group ops of alice) and team-b (B: bob, carol; assets
// web1 and dbb; group ops of bob). Inventory rows go in with SQL, so
// that the fixture does not depend on how the inventory is written.
type orgFixture struct {
	s, a, b *Store
	bID     int64
	assets  map[string]int64 // "A/web1" → id
}

func newOrgFixture(t *testing.T) orgFixture {
	t.Helper()
	ctx := WithActor(context.Background(), "os:tester")
	s := newTestStore(t)
	f := orgFixture{s: s, a: s.InOrg(DefaultOrgID), assets: map[string]int64{}}
	o, err := s.AddOrg(ctx, "team-b", "")
	if err != nil {
		t.Fatal(err)
	}
	f.bID, f.b = o.ID, s.InOrg(o.ID)
	for _, u := range []string{"alice", "bob", "carol"} {
		if _, err := s.AllOrgs().AddUser(ctx, NewUser{Name: u}); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []struct{ org, user string }{{"default", "alice"}, {"default", "carol"}, {"team-b", "bob"}, {"team-b", "carol"}} {
		if err := s.SetOrgMember(ctx, m.org, m.user, RoleOrgUser); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []struct {
		org  int64
		name string
	}{{DefaultOrgID, "web1"}, {DefaultOrgID, "onlya"}, {f.bID, "web1"}, {f.bID, "dbb"}} {
		var id int64
		err := s.db.QueryRowContext(ctx, `INSERT INTO assets (name, address, created_at, updated_at, org_id)
			VALUES (?, '192.0.2.1', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', ?) RETURNING id`, a.name, a.org).Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		f.assets[f.orgLetter(a.org)+"/"+a.name] = id
	}
	f.group(t, DefaultOrgID, "ops", "alice")
	f.group(t, f.bID, "ops", "bob", "carol")
	return f
}

func (f orgFixture) orgLetter(org int64) string {
	if org == DefaultOrgID {
		return "A"
	}
	return "B"
}

func (f orgFixture) group(t *testing.T, org int64, name string, members ...string) {
	t.Helper()
	ctx := context.Background()
	var id int64
	if err := f.s.db.QueryRowContext(ctx, `INSERT INTO groups (name, created_at, org_id) VALUES (?, '2026-01-01T00:00:00.000000Z', ?) RETURNING id`,
		name, org).Scan(&id); err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if _, err := f.s.db.ExecContext(ctx, `INSERT INTO group_members (group_id, user_id) SELECT ?, id FROM users WHERE name = ?`, id, m); err != nil {
			t.Fatal(err)
		}
	}
}

func wantErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Fatalf("got error %v, want one containing %q", err, want)
	}
}

func TestGrantsFiltersRulesKeepToTheirOrg(t *testing.T) {
	f := newOrgFixture(t)
	ctx := WithActor(context.Background(), "os:tester")
	tests := []struct {
		name string
		do   func() error
		want string
	}{
		{"grant in A", func() error {
			_, err := f.a.AddGrant(ctx, NewGrant{Name: "g", Users: []string{"alice"}, Groups: []string{"ops"}, Assets: []string{"web1"}, Force: true})
			return err
		}, ""},
		{"same-named grant in B", func() error {
			_, err := f.b.AddGrant(ctx, NewGrant{Name: "g", Users: []string{"bob"}, Assets: []string{"web1", "dbb"}, Force: true})
			return err
		}, ""},
		{"grant of A naming a user of B only", func() error {
			_, err := f.a.AddGrant(ctx, NewGrant{Name: "g2", Users: []string{"bob"}, Assets: []string{"web1"}, Force: true})
			return err
		}, `user "bob" is not a member of organization "default"`},
		{"grant of A naming an asset of B", func() error {
			_, err := f.a.AddGrant(ctx, NewGrant{Name: "g3", Users: []string{"alice"}, Assets: []string{"dbb"}, Force: true})
			return err
		}, `asset "dbb" does not exist in organization "default"`},
		{"grant update of A adding a user of B only", func() error {
			_, err := f.a.UpdateGrant(ctx, "g", GrantUpdate{AddUsers: []string{"bob"}})
			return err
		}, `user "bob" is not a member of organization "default"`},
		{"grant in the all-orgs view", func() error {
			_, err := f.s.AllOrgs().AddGrant(ctx, NewGrant{Name: "g4", Users: []string{"alice"}, Assets: []string{"web1"}, Force: true})
			return err
		}, ErrNoOrg.Error()},
		{"filter in A", func() error {
			_, err := f.a.AddFilter(ctx, NewFilter{Name: "f", Action: FilterDeny, Commands: []string{"reboot"}})
			return err
		}, ""},
		{"same-named filter in B", func() error {
			_, err := f.b.AddFilter(ctx, NewFilter{Name: "f", Action: FilterDeny, Commands: []string{"halt"}, Groups: []string{"ops"}})
			return err
		}, ""},
		{"filter of A naming an asset of B", func() error {
			_, err := f.a.AddFilter(ctx, NewFilter{Name: "f2", Action: FilterDeny, Commands: []string{"x"}, Assets: []string{"dbb"}})
			return err
		}, `asset "dbb" does not exist in organization "default"`},
		{"filter update of B naming a user of A only", func() error {
			_, err := f.b.UpdateFilter(ctx, "f", FilterUpdate{AddUsers: []string{"alice"}})
			return err
		}, `user "alice" is not a member of organization "team-b"`},
		{"login rule in A", func() error {
			_, err := f.a.AddLoginRule(ctx, LoginRule{Name: "r", Action: LoginRuleDeny, Groups: []string{"ops"}})
			return err
		}, ""},
		{"same-named login rule in B", func() error {
			_, err := f.b.AddLoginRule(ctx, LoginRule{Name: "r", Action: LoginRuleDeny, Users: []string{"bob"}})
			return err
		}, ""},
		{"login rule of A naming a user of B only", func() error {
			_, err := f.a.AddLoginRule(ctx, LoginRule{Name: "r2", Action: LoginRuleDeny, Users: []string{"bob"}})
			return err
		}, `user "bob" is not a member of organization "default"`},
		{"login rule update of B adding a user of A only", func() error {
			_, err := f.b.UpdateLoginRule(ctx, "r", LoginRuleUpdate{AddUsers: []string{"alice"}})
			return err
		}, `user "alice" is not a member of organization "team-b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantErr(t, tt.do(), tt.want) })
	}
	views := []struct {
		name           string
		v              *Store
		grantUsers     []string
		filterCommands []string
		ruleUsers      []string
	}{
		{"A", f.a, []string{"alice"}, []string{"reboot"}, []string{}},
		{"B", f.b, []string{"bob"}, []string{"halt"}, []string{"bob"}},
	}
	for _, vw := range views {
		t.Run("view "+vw.name, func(t *testing.T) {
			gs, err := vw.v.ListGrants(ctx)
			if err != nil || len(gs) != 1 || !slices.Equal(gs[0].Users, vw.grantUsers) {
				t.Fatalf("grants %+v, %v: want one naming %v", gs, err, vw.grantUsers)
			}
			fs, err := vw.v.ListFilters(ctx)
			if err != nil || len(fs) != 1 || !slices.Equal(fs[0].Commands, vw.filterCommands) {
				t.Fatalf("filters %+v, %v: want one of %v", fs, err, vw.filterCommands)
			}
			rs, err := vw.v.ListLoginRules(ctx)
			if err != nil || len(rs) != 1 || !slices.Equal(rs[0].Users, vw.ruleUsers) {
				t.Fatalf("login rules %+v, %v: want one naming %v", rs, err, vw.ruleUsers)
			}
		})
	}
	if gs, err := f.s.AllOrgs().ListGrants(ctx); err != nil || len(gs) != 2 {
		t.Fatalf("all-orgs grants %+v, %v: want both", gs, err)
	}
	if err := f.s.AllOrgs().SetFilterActive(ctx, "f", false); !errors.Is(err, ErrNoOrg) {
		t.Fatalf("disabling a filter across orgs: %v, want ErrNoOrg", err)
	}
}

func TestFiltersOfTheAssetsOrgOnly(t *testing.T) {
	f := newOrgFixture(t)
	ctx := WithActor(context.Background(), "os:tester")
	if _, err := f.a.AddFilter(ctx, NewFilter{Name: "f", Action: FilterDeny, Commands: []string{"reboot"}}); err != nil {
		t.Fatal(err)
	}
	// B's filters: one for everyone, one for its group ops (carol is in
	// B's ops, not A's).
	if _, err := f.b.AddFilter(ctx, NewFilter{Name: "f", Action: FilterDeny, Commands: []string{"halt"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.b.AddFilter(ctx, NewFilter{Name: "ops-only", Action: FilterWarn, Commands: []string{"ls"}, Groups: []string{"ops"}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		view  *Store
		user  string
		asset string
		want  []string
	}{
		{f.s.AllOrgs(), "carol", "A/web1", []string{"reboot"}},
		{f.a, "carol", "A/web1", []string{"reboot"}},
		{f.b, "carol", "A/web1", []string{"reboot"}},
		{f.s.AllOrgs(), "carol", "B/web1", []string{"halt", "ls"}},
		{f.s.AllOrgs(), "bob", "B/dbb", []string{"halt", "ls"}},
		{f.a, "bob", "B/dbb", []string{"halt", "ls"}},
	}
	for _, tt := range tests {
		t.Run(tt.user+" on "+tt.asset, func(t *testing.T) {
			fs, err := tt.view.FiltersFor(ctx, tt.user, f.assets[tt.asset], "root")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, x := range fs {
				got = append(got, x.Commands...)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("filters judging the session: %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLoginRulesOfEveryOrgOfThePerson(t *testing.T) {
	f := newOrgFixture(t)
	ctx := WithActor(context.Background(), "os:tester")
	rules := []struct {
		v *Store
		r LoginRule
	}{
		{f.a, LoginRule{Name: "ops-out", Action: LoginRuleDeny, Groups: []string{"ops"}}},               // A's ops: alice
		{f.b, LoginRule{Name: "ops-out", Action: LoginRuleDeny, Priority: 10, Groups: []string{"ops"}}}, // B's ops: bob, carol
		{f.b, LoginRule{Name: "night", Action: LoginRuleAllow, Priority: 5, Sources: []string{"10.0.0.0/8"}}},
	}
	for _, r := range rules {
		if _, err := r.v.AddLoginRule(ctx, r.r); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		user string
		want []string // rule names, in the order tried
	}{
		{"alice", []string{"ops-out"}},          // A's rule (her group there); B's are not hers
		{"bob", []string{"night", "ops-out"}},   // B's only
		{"carol", []string{"night", "ops-out"}}, // in B's ops, not A's: A's rule leaves her out
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			rs, err := f.s.LoginRulesFor(ctx, tt.user)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rs {
				got = append(got, r.Name)
				if len(r.Groups) > 0 || (len(r.Users) > 0 && !slices.Equal(r.Users, []string{tt.user})) {
					t.Fatalf("rule %s not narrowed to %s: %+v", r.Name, tt.user, r)
				}
			}
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("rules judging %s: %v, want %v", tt.user, got, want)
			}
		})
	}
	rs, _ := f.s.LoginRulesFor(ctx, "carol")
	rule, matched := DecideLogin(rs, LoginAttempt{User: "carol", At: testNow})
	if !matched || rule.Name != "ops-out" || rule.Action != LoginRuleDeny {
		t.Fatalf("carol outside 10/8: %+v %v, want B's ops-out to deny her", rule, matched)
	}
}

func TestHistoryKeepsToTheAssetsOrg(t *testing.T) {
	f := newOrgFixture(t)
	ctx := WithActor(context.Background(), "os:tester")
	all := f.s.AllOrgs()
	// The bastion starts sessions from the all-orgs view, naming the
	// asset by id; a view of one org does the same for another's asset.
	sa, err := all.StartSession(ctx, NewSession{User: "alice", AssetID: f.assets["A/web1"], Asset: "web1", Account: "root"})
	if err != nil {
		t.Fatal(err)
	}
	sb, err := f.a.StartSession(ctx, NewSession{User: "bob", AssetID: f.assets["B/web1"], Asset: "web1", Account: "root"})
	if err != nil {
		t.Fatal(err)
	}
	if sa.OrgID != DefaultOrgID || sb.OrgID != f.bID {
		t.Fatalf("session orgs %d and %d, want %d and %d", sa.OrgID, sb.OrgID, DefaultOrgID, f.bID)
	}
	if _, err := all.StartSession(ctx, NewSession{User: "alice", Asset: "web1"}); err == nil || !strings.Contains(err.Error(), "in 2 organizations") {
		t.Fatalf("a session on an ambiguous asset name across orgs: %v", err)
	}
	if _, err := all.AddCommandEvent(ctx, CommandEvent{SessionID: sb.ID, User: "bob", Asset: "web1", Command: "halt", Verdict: VerdictAllow}); err != nil {
		t.Fatal(err)
	}
	if _, err := all.AddTransferEvent(ctx, TransferEvent{SessionID: sb.ID, User: "bob", Operation: "upload", Result: "ok"}); err != nil {
		t.Fatal(err)
	}
	tk, err := all.AddTicket(ctx, NewTicket{SessionID: sb.ID, User: "bob", Asset: "web1", Command: "halt"})
	if err != nil {
		t.Fatal(err)
	}
	type seen struct {
		sessions, commands, transfers, tickets int
		ticketOps                              int
	}
	count := func(v *Store) seen {
		t.Helper()
		var n seen
		ss, err1 := v.ListSessions(ctx, SessionQuery{})
		ce, err2 := v.ListCommandEvents(ctx, AuditQuery{})
		te, err3 := v.ListTransferEvents(ctx, AuditQuery{})
		tks, err4 := v.ListTickets(ctx, "all")
		ops, err5 := v.ListOperations(ctx, AuditQuery{})
		if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
			t.Fatal(err)
		}
		n.sessions, n.commands, n.transfers, n.tickets = len(ss), len(ce), len(te), len(tks)
		for _, o := range ops {
			if o.Action == "ticket.open" {
				n.ticketOps++
			}
		}
		return n
	}
	views := []struct {
		name string
		v    *Store
		want seen
	}{
		{"A", f.a, seen{sessions: 1}},
		{"B", f.b, seen{1, 1, 1, 1, 1}},
		{"all", all, seen{2, 1, 1, 1, 1}},
	}
	for _, vw := range views {
		t.Run("view "+vw.name, func(t *testing.T) {
			if got := count(vw.v); got != vw.want {
				t.Fatalf("sees %+v, want %+v", got, vw.want)
			}
		})
	}
	refused := []struct {
		name string
		err  error
	}{
		{"get", func() error { _, err := f.a.GetSession(ctx, sb.ID); return err }()},
		{"get by prefix", func() error { _, err := f.a.GetSession(ctx, sb.ID[:8]); return err }()},
		{"kill", func() error { _, err := f.a.RequestKill(ctx, sb.ID, "no"); return err }()},
		{"ticket", func() error { _, err := f.a.GetTicket(ctx, tk.ID); return err }()},
		{"decide ticket", func() error { _, err := f.a.DecideTicket(ctx, tk.ID, true, "admin", ""); return err }()},
	}
	for _, r := range refused {
		t.Run("A refused: "+r.name, func(t *testing.T) {
			if !errors.Is(r.err, ErrNotFound) {
				t.Fatalf("got %v, want not found", r.err)
			}
		})
	}
	if _, err := f.b.RequestKill(ctx, sb.ID, "maintenance"); err != nil {
		t.Fatalf("B kills its own session: %v", err)
	}
	if ks, err := f.a.PendingKills(ctx, []string{sb.ID}); err != nil || len(ks) != 1 {
		t.Fatalf("the bastion polls kills across orgs: %+v %v", ks, err)
	}
	if _, err := f.b.DecideTicket(ctx, tk.ID, false, "admin", "no"); err != nil {
		t.Fatalf("B decides its ticket: %v", err)
	}
	if d, err := f.a.TicketStatus(ctx, tk.ID); err != nil || d.Status != TicketRejected {
		t.Fatalf("the bastion polls its ticket across orgs: %+v %v", d, err)
	}
	ops, err := f.b.ListOperations(ctx, AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, o := range ops {
		actions = append(actions, o.Action)
	}
	for _, want := range []string{"ticket.open", "session.kill", "ticket.reject"} {
		if !slices.Contains(actions, want) {
			t.Fatalf("B's operations %v lack %s", actions, want)
		}
	}
	if slices.Contains(actions, "user.add") {
		t.Fatalf("B's operations %v hold a change across orgs", actions)
	}
	if err := all.EndSession(ctx, sb.ID, SessionEnd{Status: StatusKilled}); err != nil {
		t.Fatalf("the bastion ends a session of any org: %v", err)
	}
}

func TestAllOrgsOperationsHoldTheChangesAcrossOrgs(t *testing.T) {
	f := newOrgFixture(t)
	ctx := WithActor(context.Background(), "os:tester")
	all, err := f.s.AllOrgs().ListOperations(ctx, AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	mine, err := f.a.ListOperations(ctx, AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	has := func(ops []Operation, action string) bool {
		return slices.ContainsFunc(ops, func(o Operation) bool { return o.Action == action })
	}
	// The fixture's people were added across orgs (org 0); team-b was
	// added in its own org. The default org's view shows the changes
	// across orgs (a single-org install's audit stays whole), team-b's
	// does not.
	if !has(all, "user.add") || !has(all, "org.add") {
		t.Fatalf("all-orgs operations lack the changes across orgs: %+v", all)
	}
	if !has(mine, "user.add") || has(mine, "org.add") {
		t.Fatalf("default's operations should hold the changes across orgs and none of team-b: %+v", mine)
	}
	theirs, err := f.b.ListOperations(ctx, AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if has(theirs, "user.add") || !has(theirs, "org.add") {
		t.Fatalf("team-b's operations should hold its own changes only: %+v", theirs)
	}
}

func TestSFTPRootTransfersTakeTheAssetsOrg(t *testing.T) {
	f := newOrgFixture(t)
	ctx := WithActor(context.Background(), "os:tester")
	all := f.s.AllOrgs()
	root, err := all.StartSession(ctx, NewSession{User: "carol", Kind: SessionSFTP, Command: "sftp"})
	if err != nil {
		t.Fatal(err)
	}
	if root.OrgID != 0 {
		t.Fatalf("the SFTP root session across orgs is of org %d, want 0", root.OrgID)
	}
	for _, a := range []string{"A/onlya", "B/dbb"} {
		if _, err := all.AddTransferEvent(ctx, TransferEvent{SessionID: root.ID, User: "carol", AssetID: f.assets[a],
			Asset: strings.TrimPrefix(a[1:], "/"), Operation: "upload", Result: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		v    *Store
		want string
	}{{f.a, "onlya"}, {f.b, "dbb"}} {
		te, err := tt.v.ListTransferEvents(ctx, AuditQuery{})
		if err != nil || len(te) != 1 || te[0].Asset != tt.want {
			t.Fatalf("transfers %+v, %v: want the one on %s", te, err, tt.want)
		}
	}
	// The root session spans organizations (org 0): the default org's
	// view shows it (a single-org install's sessions stay whole), team-b's
	// does not.
	if ss, err := f.a.ListSessions(ctx, SessionQuery{}); err != nil || len(ss) != 1 || ss[0].OrgID != 0 {
		t.Fatalf("the root session across orgs should be in default's view: %+v %v", ss, err)
	}
	if ss, err := f.b.ListSessions(ctx, SessionQuery{}); err != nil || len(ss) != 0 {
		t.Fatalf("the root session across orgs in team-b's view: %+v %v", ss, err)
	}
}

// TestGrantsExpiringTellMembersOnly: the notice of a grant's end goes
// to the people it reaches, members of its org; one who left the org is
// not told.
func TestGrantsExpiringTellMembersOnly(t *testing.T) {
	f := newOrgFixture(t)
	ctx := WithActor(context.Background(), "os:tester")
	until := testNow.Add(time.Hour)
	if _, err := f.b.AddGrant(ctx, NewGrant{Name: "g", Users: []string{"bob", "carol"}, Assets: []string{"dbb"}, ValidUntil: &until, Force: true}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.RemoveOrgMember(ctx, "team-b", "carol"); err != nil {
		t.Fatal(err)
	}
	gs, err := f.s.AllOrgs().GrantsExpiring(ctx, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 1 || !slices.Equal(gs[0].Users, []string{"bob"}) {
		t.Fatalf("expiring grants %+v: want g telling bob only", gs)
	}
}
