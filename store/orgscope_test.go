package store

import (
	"context"
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
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "bob, carol are not members of organization \"default\"") ||
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
