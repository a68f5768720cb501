package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"
)

// twoOrgs returns the default org's view and team-b's, each holding an
// asset web1 (node /prod, account root with a password), a group ops
// and a template deploy: the same names in both.
func twoOrgs(t *testing.T) (a, b *Store) {
	t.Helper()
	ctx := context.Background()
	a = newTestStore(t)
	org, err := a.AddOrg(ctx, "team-b", "")
	if err != nil {
		t.Fatal(err)
	}
	b = a.InOrg(org.ID)
	for i, s := range []*Store{a, b} {
		addr := []string{"10.0.0.1", "10.0.0.2"}[i]
		if _, err := s.AddAsset(ctx, NewAsset{Name: "web1", Address: addr, Node: "/prod", Labels: map[string]string{"env": "prod"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddAccount(ctx, NewAccount{Asset: "web1", Username: "root", SecretKind: SecretPassword, Secret: Secret("pw" + addr)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddGroup(ctx, "ops", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddTemplate(ctx, NewAccountTemplate{AccountTemplate: AccountTemplate{Name: "deploy", Username: "deploy",
			SecretPolicy: PolicyGenerateKey, Node: "/prod", RotateEvery: 24 * time.Hour}}); err != nil {
			t.Fatal(err)
		}
	}
	return a, b
}

// Two organizations may use the same names; each view sees and changes
// its own rows only, by name or by id.
func TestOrgViewsKeepTheirInventory(t *testing.T) {
	ctx := context.Background()
	a, b := twoOrgs(t)
	webA, err := a.GetAsset(ctx, "web1")
	if err != nil {
		t.Fatal(err)
	}
	webB, err := b.GetAsset(ctx, "web1")
	if err != nil || webB.ID == webA.ID || webB.Address != "10.0.0.2" || webB.Org != "team-b" || webA.Org != DefaultOrgName {
		t.Fatalf("team-b's web1: %+v %v (default's is #%d)", webB, err, webA.ID)
	}
	accA, _ := a.GetAccount(ctx, "web1", "root")
	tmA, _ := a.GetTemplate(ctx, "deploy")
	// Only team-b's web1 may be changed and removed through team-b's view.
	if err := a.RemoveAsset(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("remove unknown: %v", err)
	}
	if _, err := b.AddAsset(ctx, NewAsset{Name: "only-a", Address: "10.0.0.9"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AddAsset(ctx, NewAsset{Name: "a-only", Address: "10.0.0.8"}); err != nil {
		t.Fatal(err)
	}
	addr := "10.9.9.9"
	for _, tc := range []struct {
		name string
		run  func() error
	}{
		{"asset by id", func() error { _, err := b.GetAssetByID(ctx, webA.ID); return err }},
		{"asset by name", func() error { _, err := b.GetAsset(ctx, "a-only"); return err }},
		{"update asset", func() error { return b.UpdateAsset(ctx, "a-only", AssetUpdate{Address: &addr}) }},
		{"remove asset", func() error { return b.RemoveAsset(ctx, "a-only") }},
		{"trust host key", func() error { return b.TrustHostKey(ctx, "a-only", "ssh-ed25519 AAAA") }},
		{"account secret by id", func() error { _, _, err := b.AccountSecret(ctx, accA.ID); return err }},
		{"account of another org's asset", func() error { _, err := b.GetAccount(ctx, "a-only", "root"); return err }},
		{"list accounts of another org's asset", func() error { _, err := b.ListAccounts(ctx, "a-only"); return err }},
		{"template by id", func() error { _, err := b.GetTemplateByID(ctx, tmA.ID); return err }},
		{"template secret by id", func() error { _, err := b.TemplateSecret(ctx, tmA.ID); return err }},
		{"group of another org", func() error { _, err := a.GetGroup(ctx, "nope"); return err }},
	} {
		if err := tc.run(); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s across organizations: %v, want not found", tc.name, err)
		}
	}
	if a2, _ := a.GetAsset(ctx, "a-only"); a2.Address != "10.0.0.8" {
		t.Fatalf("default's a-only changed through team-b's view: %+v", a2)
	}
	// Changes by name reach the view's own row only.
	if err := b.UpdateAsset(ctx, "web1", AssetUpdate{Address: &addr}); err != nil {
		t.Fatal(err)
	}
	if a1, _ := a.GetAsset(ctx, "web1"); a1.Address != "10.0.0.1" {
		t.Fatalf("default's web1 changed by team-b's update: %+v", a1)
	}
	if _, sec, err := b.AccountSecret(ctx, accA.ID+1); err != nil || string(sec) != "pw10.0.0.2" {
		// accounts are made in order: team-b's root follows default's
		t.Fatalf("team-b's own account secret: %q %v", sec, err)
	}
	counts := func(s *Store) [5]int {
		assets, _ := s.ListAssets(ctx, AssetQuery{})
		nodes, _ := s.ListNodes(ctx)
		groups, _ := s.ListGroups(ctx)
		tms, _ := s.ListTemplates(ctx)
		accs, _ := s.ListAccounts(ctx, "")
		return [5]int{len(assets), len(nodes), len(groups), len(tms), len(accs)}
	}
	if got := counts(a); got != [5]int{2, 1, 1, 1, 1} {
		t.Errorf("default sees %v", got)
	}
	if got := counts(b); got != [5]int{2, 1, 1, 1, 1} {
		t.Errorf("team-b sees %v", got)
	}
	if got := counts(a.AllOrgs()); got != [5]int{4, 2, 2, 2, 2} {
		t.Errorf("all orgs see %v", got)
	}
	if jobs, _ := b.ListJobs(ctx); len(jobs) != 1 || jobs[0].OrgID == DefaultOrgID {
		t.Errorf("team-b's jobs: %+v", jobs)
	}
	if err := b.RemoveAsset(ctx, "web1"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.GetAsset(ctx, "web1"); err != nil {
		t.Fatalf("default's web1 after team-b removed its own: %v", err)
	}
}

// Writes need one organization: the all-orgs view refuses them.
func TestAllOrgsViewRefusesInventoryWrites(t *testing.T) {
	ctx := context.Background()
	a, _ := twoOrgs(t)
	all := a.AllOrgs()
	addr := "10.1.1.1"
	for _, tc := range []struct {
		name string
		run  func() error
	}{
		{"add asset", func() error { _, err := all.AddAsset(ctx, NewAsset{Name: "x", Address: "10.0.0.5"}); return err }},
		{"update asset", func() error { return all.UpdateAsset(ctx, "web1", AssetUpdate{Address: &addr}) }},
		{"remove asset", func() error { return all.RemoveAsset(ctx, "web1") }},
		{"pin host key", func() error { return all.PinHostKey(ctx, "web1", "ssh-ed25519 AAAA") }},
		{"add group", func() error { _, err := all.AddGroup(ctx, "g2", ""); return err }},
		{"add members", func() error { _, err := all.AddMembers(ctx, "ops", []string{"x"}); return err }},
		{"set account secret", func() error { return all.SetAccountSecret(ctx, "web1", "root", SecretPassword, Secret("p")) }},
		{"import assets", func() error {
			_, err := all.ImportAssets(ctx, []ImportAsset{{NewAsset: NewAsset{Name: "y", Address: "10.0.0.6"}}}, ImportOptions{})
			return err
		}},
		{"move asset", func() error { _, err := all.MoveAsset(ctx, "web1", "team-b"); return err }},
	} {
		if err := tc.run(); !errors.Is(err, ErrNoOrg) {
			t.Errorf("%s in the all-orgs view: %v, want ErrNoOrg", tc.name, err)
		}
	}
}

// A group holds members of its organization only, and says who is not.
func TestGroupMembersMustBeOrgMembers(t *testing.T) {
	ctx := context.Background()
	a, b := twoOrgs(t)
	for _, u := range []struct {
		s    *Store
		name string
	}{{a, "alice"}, {b, "bob"}, {b, "carol"}} {
		if _, err := u.s.AddUser(ctx, NewUser{Name: u.name}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := a.AddMembers(ctx, "ops", []string{"alice", "bob", "carol"})
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "bob, carol are not members of organization \"default\": group \"ops\" holds members of its organization only; make them members first") ||
		strings.Contains(err.Error(), "alice") {
		t.Fatalf("outsiders in a group: %v", err)
	}
	if g, _ := a.GetGroup(ctx, "ops"); len(g.Members) != 0 {
		t.Fatalf("a refused change added %v", g.Members)
	}
	if _, err := a.AddMembers(ctx, "ops", []string{"ghost"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	if err := a.SetOrgMember(ctx, "team-b", "alice", RoleOrgUser); err != nil {
		t.Fatal(err)
	}
	if added, err := b.AddMembers(ctx, "ops", []string{"alice", "bob"}); err != nil || len(added) != 2 {
		t.Fatalf("members of team-b into its group: %v %v", added, err)
	}
	if g, _ := a.GetGroup(ctx, "ops"); len(g.Members) != 0 {
		t.Fatalf("default's ops got team-b's members: %v", g.Members)
	}
	if u, _ := b.GetUser(ctx, "alice"); len(u.Groups) != 1 {
		t.Fatalf("alice's groups in team-b: %v", u.Groups)
	}
	if u, _ := a.GetUser(ctx, "alice"); len(u.Groups) != 0 {
		t.Fatalf("alice's groups in default: %v", u.Groups)
	}
}

// A person added in an org's view is its member; ListUsers lists an
// org's members with their role there, the all-orgs view everyone.
func TestUsersInOrgViews(t *testing.T) {
	ctx := context.Background()
	a, b := twoOrgs(t)
	if _, err := a.AddUser(ctx, NewUser{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AddUser(ctx, NewUser{Name: "bob"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AllOrgs().AddUser(ctx, NewUser{Name: "nobody"}); err != nil {
		t.Fatal(err)
	}
	if err := a.SetOrgMember(ctx, "team-b", "alice", RoleOrgAdmin); err != nil {
		t.Fatal(err)
	}
	names := func(us []User) string {
		var out []string
		for _, u := range us {
			out = append(out, u.Name+":"+u.OrgRole)
		}
		return strings.Join(out, " ")
	}
	for _, tc := range []struct {
		s    *Store
		want string
	}{
		{a, "alice:user"},
		{b, "alice:org-admin bob:user"},
		{a.AllOrgs(), "alice: bob: nobody:"},
	} {
		us, err := tc.s.ListUsers(ctx)
		if err != nil || names(us) != tc.want {
			t.Errorf("ListUsers: %q %v, want %q", names(us), err, tc.want)
		}
	}
}

// "jmsctl" names the admin commands over SSH: no asset may be called so.
func TestReservedAssetName(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	if _, err := s.AddAsset(ctx, NewAsset{Name: "jmsctl", Address: "10.0.0.1"}); err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Fatalf("add jmsctl: %v", err)
	}
	_, err := s.ImportAssets(ctx, []ImportAsset{{At: "line 2", NewAsset: NewAsset{Name: "jmsctl", Address: "10.0.0.1"}}}, ImportOptions{})
	if err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Fatalf("import jmsctl: %v", err)
	}
}

// MoveAsset takes an asset with its accounts and labels to another
// organization, removes the old organization's references to it and
// says which; it refuses a name taken in the target.
func TestMoveAsset(t *testing.T) {
	ctx := context.Background()
	a, b := twoOrgs(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := a.AddAsset(ctx, NewAsset{Name: "db1", Address: "10.0.1.1", Node: "/data/pg", Labels: map[string]string{"tier": "db"}})
	must(err)
	_, err = a.AddAccount(ctx, NewAccount{Asset: "db1", Username: "postgres", SecretKind: SecretPassword, Secret: Secret("pg-pw")})
	must(err)
	tm, err := a.GetTemplate(ctx, "deploy")
	must(err)
	_, err = a.SaveManagedAccount(ctx, ManagedAccount{Asset: "db1", Username: "deploy", TemplateID: tm.ID,
		SecretKind: SecretPassword, Secret: Secret("d-pw"), Action: "account.push"})
	must(err)
	must(a.SetAccountRotation(ctx, "db1", "postgres", time.Hour))
	_, err = a.AddUser(ctx, NewUser{Name: "alice"})
	must(err)
	_, err = a.AddGrant(ctx, NewGrant{Name: "dba", Users: []string{"alice"}, Assets: []string{"db1", "web1"}, Accounts: []string{"postgres"}, Force: true})
	must(err)
	_, err = a.AddFilter(ctx, NewFilter{Name: "no-drop", Action: "deny", Regex: "drop", Assets: []string{"db1"}})
	must(err)

	mv, err := a.MoveAsset(ctx, "db1", "team-b")
	must(err)
	want := AssetMove{Asset: "db1", From: "default", To: "team-b", Node: "/data/pg", Accounts: []string{"deploy", "postgres"},
		Grants: []string{"dba"}, Filters: []string{"no-drop"}, Templates: []string{"deploy"}}
	if strings.Join(mv.Accounts, ",") != strings.Join(want.Accounts, ",") || strings.Join(mv.Grants, ",") != "dba" ||
		strings.Join(mv.Filters, ",") != "no-drop" || strings.Join(mv.Templates, ",") != "deploy" ||
		mv.From != want.From || mv.To != want.To || mv.Node != want.Node {
		t.Fatalf("move: %+v, want %+v", mv, want)
	}
	if _, err := a.GetAsset(ctx, "db1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("db1 still in default: %v", err)
	}
	db1, err := b.GetAsset(ctx, "db1")
	if err != nil || db1.Labels["tier"] != "db" || db1.Node != "/data/pg" || db1.Org != "team-b" {
		t.Fatalf("db1 in team-b: %+v %v", db1, err)
	}
	acc, err := b.GetAccount(ctx, "db1", "postgres")
	must(err)
	if _, sec, err := b.AccountSecret(ctx, acc.ID); err != nil || string(sec) != "pg-pw" {
		t.Fatalf("moved account's secret: %q %v", sec, err)
	}
	if g, _ := a.GetGrant(ctx, "dba"); strings.Join(g.Assets, ",") != "web1" {
		t.Fatalf("grant dba after the move: %+v", g)
	}
	if f, _ := a.GetFilter(ctx, "no-drop"); len(f.Assets) != 0 {
		t.Fatalf("filter no-drop after the move: %+v", f)
	}
	if accs, _ := a.TemplateAccounts(ctx, tm.ID); len(accs) != 0 {
		t.Fatalf("template deploy still ties %+v", accs)
	}
	if jobs, _ := b.ListJobs(ctx); len(jobs) != 2 {
		t.Fatalf("team-b's jobs after the move (its template's and db1's rotation): %+v", jobs)
	}
	var audited int
	must(a.db.QueryRowContext(ctx, `SELECT COUNT(DISTINCT org_id) FROM operations WHERE action = 'asset.move'`).Scan(&audited))
	if audited != 2 {
		t.Fatalf("the move is audited in %d organizations, want 2", audited)
	}
	// web1 is taken in team-b; the refused move changes nothing.
	_, err = a.MoveAsset(ctx, "web1", "team-b")
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), `"web1" already exists in organization "team-b"`) {
		t.Fatalf("move onto a taken name: %v", err)
	}
	if g, _ := a.GetGrant(ctx, "dba"); strings.Join(g.Assets, ",") != "web1" {
		t.Fatalf("a refused move changed grant dba: %+v", g)
	}
	for _, tc := range []struct{ name, to string }{{"nope", "team-b"}, {"web1", "nope"}} {
		if _, err := a.MoveAsset(ctx, tc.name, tc.to); !errors.Is(err, ErrNotFound) {
			t.Errorf("move %s to %s: %v", tc.name, tc.to, err)
		}
	}
	if _, err := a.MoveAsset(ctx, "web1", "default"); err == nil {
		t.Error("a move into the asset's own organization was accepted")
	}
}

// A database of the version before organizations (migrations up to
// 0015) opens with every row in the default organization, nothing
// lost, every person a member of it, and names found as before.
func TestMigrationPutsEverythingInDefaultOrg(t *testing.T) {
	ctx := context.Background()
	path := testDatabase(t, t.TempDir())
	raw := rawTestDB(t, path)
	ms, err := migrations(testEngine)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.version > 15 {
			break
		}
		if _, err := raw.ExecContext(ctx, raw.d.migrationSQL(m.sql)); err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		if _, err := raw.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, ?, '2026-01-01T00:00:00.000000Z')`, m.version, m.name); err != nil {
			t.Fatal(err)
		}
	}
	const now = "2026-01-01T00:00:00.000000Z"
	// No explicit ids: the rows get theirs as the old version gave them
	// (on PostgreSQL from the sequences that later inserts use too).
	const (
		web1  = `(SELECT id FROM assets WHERE name = 'web1')`
		db1   = `(SELECT id FROM assets WHERE name = 'db1')`
		alice = `(SELECT id FROM users WHERE name = 'alice')`
		bob   = `(SELECT id FROM users WHERE name = 'bob')`
		ops   = `(SELECT id FROM groups WHERE name = 'ops')`
		grant = `(SELECT id FROM grants WHERE name = 'web')`
	)
	for _, q := range []string{
		`INSERT INTO users (name, created_at, updated_at) VALUES ('alice', '` + now + `', '` + now + `'), ('bob', '` + now + `', '` + now + `')`,
		`INSERT INTO nodes (path, created_at) VALUES ('/prod', '` + now + `')`,
		`INSERT INTO assets (name, address, node_id, created_at, updated_at) VALUES ('web1', '10.0.0.1', (SELECT id FROM nodes WHERE path = '/prod'), '` + now + `', '` + now + `'), ('db1', '10.0.0.2', NULL, '` + now + `', '` + now + `')`,
		`INSERT INTO asset_labels (asset_id, key, value) VALUES (` + web1 + `, 'env', 'prod')`,
		`INSERT INTO accounts (asset_id, username, created_at, updated_at) VALUES (` + web1 + `, 'root', '` + now + `', '` + now + `'), (` + db1 + `, 'postgres', '` + now + `', '` + now + `')`,
		`INSERT INTO groups (name, created_at) VALUES ('ops', '` + now + `')`,
		`INSERT INTO group_members (group_id, user_id) VALUES (` + ops + `, ` + alice + `)`,
		`INSERT INTO grants (name, created_at) VALUES ('web', '` + now + `')`,
		`INSERT INTO grant_groups (grant_id, group_id) VALUES (` + grant + `, ` + ops + `)`,
		`INSERT INTO grant_users (grant_id, user_id) VALUES (` + grant + `, ` + bob + `)`,
		`INSERT INTO grant_assets (grant_id, asset_id) VALUES (` + grant + `, ` + web1 + `)`,
		`INSERT INTO grant_nodes (grant_id, node_id) VALUES (` + grant + `, (SELECT id FROM nodes WHERE path = '/prod'))`,
		`INSERT INTO grant_accounts (grant_id, username) VALUES (` + grant + `, 'root')`,
		`INSERT INTO filters (name, action, regex, created_at) VALUES ('no-rm', 'deny', 'rm -rf', '` + now + `')`,
		`INSERT INTO filter_assets (filter_id, asset_id) VALUES ((SELECT id FROM filters WHERE name = 'no-rm'), ` + web1 + `)`,
		`INSERT INTO login_rules (name, action, users, created_at) VALUES ('office', 'allow', 'alice', '` + now + `')`,
		`INSERT INTO sessions (id, user_name, asset_name, account, started_at) VALUES ('s1', 'alice', 'web1', 'root', '` + now + `')`,
		`INSERT INTO command_events (session_id, at, user_name, asset_name, account, command, verdict) VALUES ('s1', '` + now + `', 'alice', 'web1', 'root', 'ls', 'allow')`,
		`INSERT INTO tickets (session_id, at, user_name, asset_name, account, command) VALUES ('s1', '` + now + `', 'alice', 'web1', 'root', 'rm -rf /')`,
		`INSERT INTO operations (at, actor, action, target) VALUES ('` + now + `', 'os:root', 'asset.add', 'web1'), ('` + now + `', 'os:root', 'user.add', 'alice')`,
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	tables := []string{"users", "nodes", "assets", "asset_labels", "accounts", "groups", "group_members", "grants",
		"grant_groups", "grant_users", "grant_assets", "grant_nodes", "grant_accounts", "filters", "filter_assets",
		"login_rules", "sessions", "command_events", "tickets", "operations"}
	count := func(d interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}, q string) int {
		t.Helper()
		var n int
		if err := d.QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	before := map[string]int{}
	for _, tb := range tables {
		before[tb] = count(raw, `SELECT COUNT(*) FROM `+tb)
	}
	raw.Close()

	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tb := range tables {
		if n := count(s.db, `SELECT COUNT(*) FROM `+tb); n != before[tb] {
			t.Errorf("%s: %d rows after the migration, %d before", tb, n, before[tb])
		}
	}
	for _, tb := range []string{"nodes", "assets", "groups", "grants", "filters", "login_rules", "sessions", "command_events", "tickets"} {
		if n := count(s.db, `SELECT COUNT(*) FROM `+tb+` WHERE org_id <> 1`); n != 0 {
			t.Errorf("%s: %d rows outside the default organization", tb, n)
		}
	}
	if n := count(s.db, `SELECT COUNT(*) FROM org_members WHERE org_id = 1 AND role = 'user'`); n != before["users"] {
		t.Errorf("%d members of default, want every user (%d)", n, before["users"])
	}
	w, err := s.GetAsset(ctx, "web1")
	if err != nil || w.Node != "/prod" || w.Labels["env"] != "prod" || w.OrgID != DefaultOrgID {
		t.Fatalf("web1 after the migration: %+v %v", w, err)
	}
	if _, err := s.GetAccount(ctx, "db1", "postgres"); err != nil {
		t.Fatal(err)
	}
	if g, err := s.GetGroup(ctx, "ops"); err != nil || strings.Join(g.Members, ",") != "alice" {
		t.Fatalf("group ops: %+v %v", g, err)
	}
	if u, err := s.GetUser(ctx, "alice"); err != nil || strings.Join(u.Groups, ",") != "ops" {
		t.Fatalf("alice: %+v %v", u, err)
	}
	if g, err := s.GetGrant(ctx, "web"); err != nil || strings.Join(g.Assets, ",") != "web1" {
		t.Fatalf("grant web: %+v %v", g, err)
	}
	if f, err := s.GetFilter(ctx, "no-rm"); err != nil || strings.Join(f.Assets, ",") != "web1" {
		t.Fatalf("filter no-rm: %+v %v", f, err)
	}
	if users, err := s.ListUsers(ctx); err != nil || len(users) != 2 {
		t.Fatalf("default's members: %+v %v", users, err)
	}
	// Names are now unique per organization: another may reuse them.
	org, err := s.AddOrg(ctx, "team-b", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.InOrg(org.ID).AddAsset(ctx, NewAsset{Name: "web1", Address: "10.0.0.9", Node: "/prod"}); err != nil {
		t.Fatal(err)
	}
}

// Asset facts are read and written through the asset's organization.
func TestAssetFactsFollowTheAssetsOrg(t *testing.T) {
	ctx := context.Background()
	a, b := twoOrgs(t)
	web1, err := a.GetAsset(ctx, "web1")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetAssetFacts(ctx, web1.ID, AssetFacts{OSID: "debian"}); err != nil {
		t.Fatal(err)
	}
	if err := b.SetAssetFacts(ctx, web1.ID, AssetFacts{OSID: "rhel"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("team-b sets default's facts: %v", err)
	}
	if _, ok, err := b.AssetFacts(ctx, web1.ID); ok || err != nil {
		t.Fatalf("team-b reads default's facts: %v %v", ok, err)
	}
	if f, ok, err := a.AssetFacts(ctx, web1.ID); !ok || err != nil || f.OSID != "debian" {
		t.Fatalf("default's facts: %+v %v %v", f, ok, err)
	}
}

// The inventory snapshot is shared by every view: the all-orgs view
// reads all of it, an organization's view its own assets, each with
// its organization; a change makes the next reader see a new one.
func TestInventoryPerOrgView(t *testing.T) {
	ctx := context.Background()
	a, b := twoOrgs(t)
	orgsOf := func(s *Store) string {
		t.Helper()
		inv, err := s.inventory(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range inv.assets {
			out = append(out, x.Name+"@"+x.Org)
			if len(inv.accounts[x.ID]) != 1 {
				t.Errorf("%s@%s has accounts %+v", x.Name, x.Org, inv.accounts[x.ID])
			}
		}
		return strings.Join(out, " ")
	}
	for _, tc := range []struct {
		s    *Store
		want string
	}{
		{a, "web1@default"},
		{b, "web1@team-b"},
		{a.AllOrgs(), "web1@default web1@team-b"},
		{b, "web1@team-b"}, // the part made before, from the same snapshot
	} {
		if got := orgsOf(tc.s); got != tc.want {
			t.Errorf("inventory: %q, want %q", got, tc.want)
		}
	}
	if _, err := b.AddAsset(ctx, NewAsset{Name: "app1", Address: "10.0.0.3"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AddAccount(ctx, NewAccount{Asset: "app1", Username: "root"}); err != nil {
		t.Fatal(err)
	}
	if got := orgsOf(b); got != "app1@team-b web1@team-b" {
		t.Errorf("team-b's inventory after a change: %q", got)
	}
	if got := orgsOf(a); got != "web1@default" {
		t.Errorf("default's inventory after team-b's change: %q", got)
	}
}
