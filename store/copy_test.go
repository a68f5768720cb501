package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// copySource makes a SQLite install with a bit of everything: people
// (an MFA seed sealed), a group, nodes, assets with labels, accounts
// (a sealed password), a grant, a session, the audit.
func copySource(t *testing.T, sealer *Sealer) (string, map[string]int64) {
	t.Helper()
	ctx := WithActor(context.Background(), "os:tester")
	path := filepath.Join(t.TempDir(), "src.db")
	s, err := Open(ctx, path, Options{Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{"alice", "bob", "gone"} {
		_, err := s.AddUser(ctx, NewUser{Name: u, MustChangePassword: u == "bob"})
		must(err)
	}
	must(s.RemoveUser(ctx, "gone")) // a gap in the ids
	must(s.EnableMFA(ctx, "alice", Secret("JBSWY3DPEHPK3PXP"), 0, []string{"code-1"}))
	_, err = s.AddGroup(ctx, "ops", "")
	must(err)
	_, err = s.AddMembers(ctx, "ops", []string{"alice"})
	must(err)
	_, err = s.AddAsset(ctx, NewAsset{Name: "web1", Address: "10.0.0.1", Node: "/prod/web", Labels: map[string]string{"env": "prod"}})
	must(err)
	acc, err := s.AddAccount(ctx, NewAccount{Asset: "web1", Username: "root", SecretKind: SecretPassword, Secret: Secret("root-pw"), Privileged: true})
	must(err)
	_, err = s.AddGrant(ctx, NewGrant{Name: "ops-web", Groups: []string{"ops"}, Nodes: []string{"/prod"}, Accounts: []string{AllAccounts}})
	must(err)
	// account automation: a template (its secret sealed), an account made
	// from it (tied to it in a later table than accounts), facts, jobs
	tm, err := s.AddTemplate(ctx, NewAccountTemplate{AccountTemplate: AccountTemplate{Name: "deploy", Username: "deploy",
		SecretPolicy: PolicyPassword, Push: true, Node: "/prod", RotateEvery: 24 * time.Hour}, Secret: Secret("tmpl-pw")})
	must(err)
	_, err = s.SaveManagedAccount(ctx, ManagedAccount{Asset: "web1", Username: "deploy", TemplateID: tm.ID,
		SecretKind: SecretPassword, Secret: Secret("deploy-pw"), Action: "account.push"})
	must(err)
	web1, err := s.GetAsset(ctx, "web1")
	must(err)
	must(s.SetAssetFacts(ctx, web1.ID, AssetFacts{OSID: "debian", OSFamily: "debian", OSVersion: "12"}))
	ss, err := s.StartSession(ctx, NewSession{User: "alice", Asset: "web1", Account: "root", Source: "127.0.0.1"})
	must(err)
	must(s.EndSession(ctx, ss.ID, SessionEnd{Status: StatusClosed, Reason: "exit"}))
	return path, map[string]int64{"account": acc.ID}
}

func TestCopyDB(t *testing.T) {
	ctx := WithActor(context.Background(), "os:tester")
	raw, _ := GenerateKeyBytes()
	k, _ := NewKey(raw, "test")
	sealer := NewSealer(k)
	from, ids := copySource(t, sealer)
	to := testDatabase(t, t.TempDir())

	rep, err := CopyDB(ctx, "sqlite://"+from, to, CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	byTable := map[string]TableCopy{}
	for _, tc := range rep.Tables {
		byTable[tc.Table] = tc
	}
	if byTable["users"].Rows != 2 || byTable["accounts"].Rows != 2 || byTable["sessions"].Rows != 1 || byTable["sealing_key"].Rows != 1 ||
		byTable["account_templates"].Rows != 1 || byTable["template_accounts"].Rows != 1 || byTable["automation_jobs"].Rows != 2 || byTable["asset_facts"].Rows != 1 {
		t.Fatalf("report: %+v", rep.Tables)
	}
	if _, ok := byTable["schema_migrations"]; ok {
		t.Fatal("schema_migrations is the target's own")
	}

	s, err := Open(ctx, to, Options{Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Sealed values are bound to their ids: kept ids open them.
	if _, sec, err := s.AccountSecret(ctx, ids["account"]); err != nil || string(sec) != "root-pw" {
		t.Fatalf("account secret after the copy: %q %v", sec, err)
	}
	if tm, err := s.GetTemplate(ctx, "deploy"); err != nil {
		t.Fatal(err)
	} else if sec, err := s.TemplateSecret(ctx, tm.ID); err != nil || string(sec) != "tmpl-pw" {
		t.Fatalf("template secret after the copy: %q %v", sec, err)
	} else if accs, err := s.TemplateAccounts(ctx, tm.ID); err != nil || len(accs) != 1 {
		t.Fatalf("template accounts after the copy: %+v %v", accs, err)
	}
	if u, err := s.GetUser(ctx, "bob"); err != nil || !u.MustChangePassword {
		t.Fatalf("bob: %+v %v", u, err)
	}
	// New rows take ids past the copied ones.
	u, err := s.AddUser(ctx, NewUser{Name: "carol"})
	if err != nil {
		t.Fatal(err)
	}
	if u.ID <= 2 {
		t.Fatalf("new user id %d reuses a copied id", u.ID)
	}
	ops, err := s.ListOperations(ctx, AuditQuery{})
	if err != nil || !strings.Contains(opActions(ops), "db.copy") {
		t.Fatalf("operations: %v %v", opActions(ops), err)
	}

	// A target with data is refused, and kept; --force replaces it.
	if _, err := CopyDB(ctx, from, to, CopyOptions{}); !errors.Is(err, ErrTargetNotEmpty) || !strings.Contains(err.Error(), "users: 3") {
		t.Fatalf("copy onto data: %v", err)
	}
	if _, err := s.GetUser(ctx, "carol"); err != nil {
		t.Fatalf("the refused copy changed the target: %v", err)
	}
	if _, err := CopyDB(ctx, from, to, CopyOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUser(ctx, "carol"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("carol after a forced copy: %v", err)
	}
}

func TestCopyDBRefusesBadEnds(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.db")
	if _, err := CopyDB(ctx, missing, filepath.Join(dir, "to.db"), CopyOptions{}); err == nil || !strings.Contains(err.Error(), "no database at") {
		t.Fatalf("missing source: %v", err)
	}
	if _, err := CopyDB(ctx, "sqlite://"+missing, missing, CopyOptions{}); err == nil || !strings.Contains(err.Error(), "same database") {
		t.Fatalf("same ends: %v", err)
	}
}

func opActions(ops []Operation) string {
	var b strings.Builder
	for _, o := range ops {
		b.WriteString(o.Action + " ")
	}
	return b.String()
}
