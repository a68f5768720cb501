package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

// crossOrgFixture: organizations default and team-b, each with an asset
// web1 and a node /prod. alice is a member of both and granted in both;
// bob is a member of both and granted in team-b only; carol is a member
// of default only. The rows of team-b are pinned there with SQL, so the
// fixture does not depend on which writes already take their
// organization from the view.
func crossOrgFixture(t *testing.T) (*Store, Org) {
	t.Helper()
	ctx := WithActor(context.Background(), "os:tester")
	s := newTestStore(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	b, err := s.AddOrg(ctx, "team-b", "")
	must(err)
	for _, u := range []string{"alice", "bob", "carol"} {
		_, err := s.AddUser(ctx, NewUser{Name: u})
		must(err)
	}
	must(s.SetOrgMember(ctx, "team-b", "alice", RoleOrgUser))
	must(s.SetOrgMember(ctx, "team-b", "bob", RoleOrgUser))
	sb := s.InOrg(b.ID)
	for _, name := range []string{"web1-b", "db9"} {
		_, err := sb.AddAsset(ctx, NewAsset{Name: name, Address: "10.0.2.1", Node: "/prod"})
		must(err)
		_, err = sb.AddAccount(ctx, NewAccount{Asset: name, Username: "root"})
		must(err)
		mustExec(t, s, `UPDATE assets SET org_id = ? WHERE name = ?`, b.ID, name)
	}
	_, err = sb.AddGrant(ctx, NewGrant{Name: "b-prod", Users: []string{"alice", "bob"}, Nodes: []string{"/prod"}, Force: true})
	must(err)
	mustExec(t, s, `UPDATE grants SET org_id = ? WHERE name = 'b-prod'`, b.ID)
	for _, a := range []struct{ name, node string }{{"web1", "/prod"}, {"app1", "/prod/app"}} {
		_, err := s.AddAsset(ctx, NewAsset{Name: a.name, Address: "10.0.1.1", Node: a.node})
		must(err)
		_, err = s.AddAccount(ctx, NewAccount{Asset: a.name, Username: "root"})
		must(err)
	}
	_, err = s.AddGrant(ctx, NewGrant{Name: "d-prod", Users: []string{"alice", "carol"}, Nodes: []string{"/prod"}, Force: true})
	must(err)
	mustExec(t, s, `UPDATE grant_nodes SET node_id = (SELECT id FROM nodes WHERE org_id = ? AND path = '/prod')
		WHERE grant_id = (SELECT id FROM grants WHERE name = 'd-prod')`, DefaultOrgID)
	// A row no command writes: a grant of default naming team-b's asset.
	mustExec(t, s, `INSERT INTO grant_assets (grant_id, asset_id) SELECT g.id, a.id FROM grants g, assets a
		WHERE g.name = 'd-prod' AND a.name = 'db9'`)
	mustExec(t, s, `UPDATE assets SET name = 'web1' WHERE name = 'web1-b'`)
	return s, b
}

func mustExec(t *testing.T, s *Store, query string, args ...any) {
	t.Helper()
	if _, err := s.db.ExecContext(context.Background(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// refs lists accesses as org/asset.
func refs(list []Access) []string {
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.Ref()
	}
	slices.Sort(out)
	return out
}

func TestAuthzAcrossOrgs(t *testing.T) {
	ctx := context.Background()
	s, b := crossOrgFixture(t)
	tests := []struct {
		name string
		view *Store
		user string
		want string
	}{
		{"alice sees both orgs", s.AllOrgs(), "alice", "default/app1 default/web1 team-b/db9 team-b/web1"},
		{"bob only team-b's grant", s.AllOrgs(), "bob", "team-b/db9 team-b/web1"},
		{"carol not a member of team-b", s.AllOrgs(), "carol", "default/app1 default/web1"},
		{"default view", s, "alice", "default/app1 default/web1"},
		{"team-b view", s.InOrg(b.ID), "alice", "team-b/db9 team-b/web1"},
		{"team-b view, carol", s.InOrg(b.ID), "carol", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.view.AuthorizedAssets(ctx, tt.user, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if g := strings.Join(refs(got), " "); g != tt.want {
				t.Errorf("AuthorizedAssets(%s) = %q, want %q", tt.user, g, tt.want)
			}
			for _, a := range got {
				if len(a.Accounts) != 1 || a.Accounts[0].Username != "root" {
					t.Errorf("%s: accounts %v, want root", a.Ref(), a.Accounts)
				}
			}
		})
	}
}

func TestAuthzMembershipRemoved(t *testing.T) {
	ctx := WithActor(context.Background(), "os:tester")
	s, b := crossOrgFixture(t)
	all := s.AllOrgs()
	list, err := all.AuthorizedAssets(ctx, "bob", testNow)
	if err != nil || len(list) != 2 {
		t.Fatalf("before: %v, %v", refs(list), err)
	}
	db9, err := LookupAccess(list, "db9")
	if err != nil {
		t.Fatal(err)
	}
	q := AuthzQuery{User: "bob", AssetID: db9.Asset.ID, Account: "root", Actions: []string{ActionConnect}, At: testNow}
	acc, err := all.Authorize(ctx, q)
	if err != nil || acc.Org != "team-b" || acc.OrgID != b.ID {
		t.Fatalf("Authorize before: %+v, %v", acc, err)
	}
	if err := s.RemoveOrgMember(ctx, "team-b", "bob"); err != nil {
		t.Fatal(err)
	}
	// The live sessions' poller asks Authorize again: access is gone.
	if _, err := all.Authorize(ctx, q); !errors.Is(err, ErrDenied) {
		t.Errorf("Authorize after leaving team-b: %v, want ErrDenied", err)
	}
	if list, err := all.AuthorizedAssets(ctx, "bob", testNow); err != nil || len(list) != 0 {
		t.Errorf("AuthorizedAssets after leaving team-b: %v, %v; want none", refs(list), err)
	}
	e, err := s.InOrg(b.ID).ExplainAccess(ctx, "bob", "db9", testNow)
	if err != nil {
		t.Fatal(err)
	}
	if e.Allowed || !strings.Contains(e.Verdict, "not a member of organization team-b") {
		t.Errorf("explain after leaving team-b: %v %q", e.Allowed, e.Verdict)
	}
	who, err := s.InOrg(b.ID).WhoCan(ctx, "db9", testNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range who {
		if w.User != "alice" {
			t.Errorf("who-can db9 lists %s", w.User)
		}
	}
}

func TestLookupAccessAcrossOrgs(t *testing.T) {
	a := func(org, name string, id int64) Access {
		return Access{Org: org, Asset: Asset{ID: id, Name: name, Address: "10.0.0." + name[len(name)-1:]}}
	}
	list := []Access{a("default", "web1", 1), a("team-b", "web1", 2), a("team-b", "db9", 3)}
	tests := []struct {
		ref     string
		want    int64
		wantErr string
	}{
		{"db9", 3, ""},
		{"team-b/web1", 2, ""},
		{"default/web1", 1, ""},
		{"web1", 0, "web1 is in more than one of your organizations: name default/web1 or team-b/web1"},
		{"team-c/web1", 0, "not found"},
		{"default/db9", 0, "not found"},
	}
	for _, tt := range tests {
		got, err := LookupAccess(list, tt.ref)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("LookupAccess(%q) = %v, %v; want error %q", tt.ref, got.Ref(), err, tt.wantErr)
			}
			continue
		}
		if err != nil || got.Asset.ID != tt.want {
			t.Errorf("LookupAccess(%q) = #%d, %v; want #%d", tt.ref, got.Asset.ID, err, tt.want)
		}
	}
}

func TestAuditOrgsAndSessionOrgs(t *testing.T) {
	ctx := WithActor(context.Background(), "os:tester")
	s, b := crossOrgFixture(t)
	if err := s.SetOrgMember(ctx, "team-b", "carol", RoleOrgAuditor); err != nil {
		t.Fatal(err)
	}
	if err := s.SetOrgMember(ctx, "default", "alice", RoleOrgAdmin); err != nil {
		t.Fatal(err)
	}
	for user, want := range map[string]string{"carol": "team-b", "alice": "default", "bob": ""} {
		got, err := s.AuditOrgs(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, n := range got {
			names = append(names, n)
		}
		if strings.Join(names, ",") != want {
			t.Errorf("AuditOrgs(%s) = %v, want %s", user, got, want)
		}
	}
	a, err := s.StartSession(ctx, NewSession{User: "alice", Asset: "app1", Account: "root"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.StartSession(ctx, NewSession{User: "alice", Asset: "db9", Account: "root"})
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, s, `UPDATE sessions SET org_id = ? WHERE id = ?`, b.ID, c.ID)
	got, err := s.AllOrgs().SessionOrgs(ctx, []string{a.ID, c.ID, "nosuch"})
	if err != nil || len(got) != 2 || got[a.ID] != DefaultOrgID || got[c.ID] != b.ID {
		t.Errorf("SessionOrgs = %v, %v", got, err)
	}
	if got, err := s.InOrg(b.ID).SessionOrgs(ctx, []string{a.ID, c.ID}); err != nil || len(got) != 1 {
		t.Errorf("SessionOrgs in team-b = %v, %v; want only its session", got, err)
	}
}

// TestPinAssetHostKeyAcrossOrgs: the bastion, in the all-orgs view, pins
// the host key of the asset it dialled, not the other org's of the same
// name.
func TestPinAssetHostKeyAcrossOrgs(t *testing.T) {
	ctx := WithActor(context.Background(), "os:tester")
	s, b := crossOrgFixture(t)
	bWeb, err := s.InOrg(b.ID).GetAsset(ctx, "web1")
	if err != nil {
		t.Fatal(err)
	}
	const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
	if err := s.AllOrgs().PinAssetHostKey(ctx, bWeb.ID, key); err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		view *Store
		want string
	}{{s.InOrg(b.ID), key}, {s, ""}} {
		a, err := v.view.GetAsset(ctx, "web1")
		if err != nil || a.HostKey != v.want {
			t.Errorf("web1 of org %d: host key %q, %v; want %q", a.OrgID, a.HostKey, err, v.want)
		}
	}
}
