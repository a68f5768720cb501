package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestTemplatesAndManagedAccounts(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	if _, err := s.AddAsset(ctx, NewAsset{Name: "web1", Address: "10.0.0.1", Node: "/prod/web"}); err != nil {
		t.Fatal(err)
	}
	nt := NewAccountTemplate{AccountTemplate: AccountTemplate{Name: "deploy", Username: "deploy", SecretPolicy: PolicyPassword,
		Sudo: "ALL", Shell: "/bin/bash", Home: true, Groups: []string{"adm", "www-data"}, Push: true, Node: "/prod",
		RotateEvery: 30 * 24 * time.Hour}, Secret: Secret("s3cret")}
	tm, err := s.AddTemplate(ctx, nt)
	if err != nil {
		t.Fatal(err)
	}
	if tm.Node != "/prod" || len(tm.Groups) != 2 || !tm.Home || tm.RotateEvery != 30*24*time.Hour || tm.SecretKind() != SecretPassword {
		t.Fatalf("template read back wrong: %+v", tm)
	}
	if _, err := s.AddTemplate(ctx, nt); !errors.Is(err, ErrConflict) {
		t.Fatalf("second add: %v, want a conflict", err)
	}
	gen := NewAccountTemplate{AccountTemplate: AccountTemplate{Name: "gen", Username: "gen", SecretPolicy: PolicyGenerateKey}, Secret: Secret("x")}
	if _, err := s.AddTemplate(ctx, gen); err == nil {
		t.Fatal("a generating template took a secret")
	}
	sec, err := s.TemplateSecret(ctx, tm.ID)
	if err != nil || string(sec) != "s3cret" {
		t.Fatalf("template secret: %q, %v", sec, err)
	}
	raw, _ := GenerateKeyBytes()
	k, _ := NewKey(raw, "next")
	n, err := s.Rekey(ctx, NewSealer(k, s.Sealer().keys[s.Sealer().KeyID()]))
	if err != nil || n != 1 {
		t.Fatalf("rekey resealed %d, %v; want the template's secret", n, err)
	}
	if sec, err := s.TemplateSecret(ctx, tm.ID); err != nil || string(sec) != "s3cret" {
		t.Fatalf("template secret after rekey: %q, %v", sec, err)
	}

	m := ManagedAccount{Asset: "web1", Username: "deploy", TemplateID: tm.ID, SecretKind: SecretPassword, Secret: Secret("pw1"), Action: "account.push"}
	acc, err := s.SaveManagedAccount(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	m.Secret, m.Action = Secret("pw2"), "account.rotate"
	if _, err := s.SaveManagedAccount(ctx, m); err != nil {
		t.Fatal(err)
	}
	_, got, err := s.AccountSecret(ctx, acc.ID)
	if err != nil || string(got) != "pw2" {
		t.Fatalf("managed secret: %q, %v", got, err)
	}
	if accs, err := s.TemplateAccounts(ctx, tm.ID); err != nil || len(accs) != 1 || accs[0].Username != "deploy" {
		t.Fatalf("the template's accounts: %+v %v", accs, err)
	}
	if err := s.RemoveTemplate(ctx, "deploy"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetAccount(ctx, "web1", "deploy"); err != nil {
		t.Fatalf("the account went with its template: %v", err)
	}
	if _, err := s.PrivilegedAccount(ctx, "web1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("privileged account of web1: %v, want not found", err)
	}

	a, _ := s.GetAsset(ctx, "web1")
	if _, ok, err := s.AssetFacts(ctx, a.ID); ok || err != nil {
		t.Fatalf("facts before any: %v %v", ok, err)
	}
	f := AssetFacts{OSID: "debian", OSFamily: "debian", OSVersion: "12", Arch: "x86_64", Hostname: "web1"}
	if err := s.SetAssetFacts(ctx, a.ID, f); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAssetFacts(ctx, a.ID, f); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := s.AssetFacts(ctx, a.ID); !ok || err != nil || got.OSVersion != "12" || got.Hostname != "web1" {
		t.Fatalf("facts: %+v %v %v", got, ok, err)
	}
}

// Removing a template with the accounts revoked on their assets takes
// those accounts with it, in one transaction; the others stay.
func TestRemoveTemplateWithAccounts(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	nt := NewAccountTemplate{AccountTemplate: AccountTemplate{Name: "deploy", Username: "deploy", SecretPolicy: PolicyGeneratePassword,
		Push: true, Node: "/prod"}}
	tm, err := s.AddTemplate(ctx, nt)
	if err != nil {
		t.Fatal(err)
	}
	var accs []Account
	for _, asset := range []string{"web1", "web2"} {
		if _, err := s.AddAsset(ctx, NewAsset{Name: asset, Address: "10.0.0.1", Node: "/prod"}); err != nil {
			t.Fatal(err)
		}
		acc, err := s.SaveManagedAccount(ctx, ManagedAccount{Asset: asset, Username: "deploy", TemplateID: tm.ID,
			SecretKind: SecretPassword, Secret: Secret("pw-" + asset), Action: "account.push"})
		if err != nil {
			t.Fatal(err)
		}
		accs = append(accs, acc)
	}
	// A template that is not there: nothing is removed.
	if err := s.RemoveTemplateWithAccounts(ctx, "nope", accs[:1]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("removing a missing template: %v, want not found", err)
	}
	if _, err := s.GetAccount(ctx, "web1", "deploy"); err != nil {
		t.Fatalf("the failed removal took an account: %v", err)
	}
	if err := s.RemoveTemplateWithAccounts(ctx, "deploy", accs[:1]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetAccount(ctx, "web1", "deploy"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the revoked account stayed: %v", err)
	}
	if _, err := s.GetAccount(ctx, "web2", "deploy"); err != nil {
		t.Fatalf("the account not revoked went: %v", err)
	}
	if _, err := s.GetTemplate(ctx, "deploy"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the template stayed: %v", err)
	}
}
