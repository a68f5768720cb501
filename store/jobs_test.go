package store

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestJobsLeaseOneOwnerAtATime(t *testing.T) {
	ctx := context.Background()
	raw, _ := GenerateKeyBytes()
	k, _ := NewKey(raw, "test")
	var mu sync.Mutex
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	s, err := Open(ctx, testDatabase(t, t.TempDir()), Options{Sealer: NewSealer(k), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.AddAsset(ctx, NewAsset{Name: "web1", Address: "10.0.0.1", Node: "/prod"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddTemplate(ctx, NewAccountTemplate{AccountTemplate: AccountTemplate{Name: "deploy", Username: "deploy",
		SecretPolicy: PolicyGenerateKey, Home: true, Push: true, Node: "/prod", RotateEvery: 24 * time.Hour}}); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.ListJobs(ctx)
	if err != nil || len(jobs) != 2 || jobs[0].Kind != JobPush || jobs[1].Kind != JobRotate || jobs[1].Template != "deploy" {
		t.Fatalf("jobs of a new template: %+v, %v", jobs, err)
	}
	if _, ok, _ := s.ClaimDueJob(ctx, "a", time.Hour); ok {
		t.Fatal("a job was due at once")
	}
	advance(PushSweepEvery)
	j, ok, err := s.ClaimDueJob(ctx, "a", time.Hour)
	if err != nil || !ok || j.Kind != JobPush {
		t.Fatalf("claim: %+v %v %v", j, ok, err)
	}
	if _, ok, _ := s.ClaimDueJob(ctx, "b", time.Hour); ok {
		t.Fatal("b took a job a holds")
	}
	if err := s.FinishJob(ctx, j, "b", "ok", nil); err == nil {
		t.Fatal("b finished a's job")
	}
	if err := s.FinishJob(ctx, j, "a", "1 of 2 failed", []string{"web1: unreachable"}); err != nil {
		t.Fatal(err)
	}
	jobs, _ = s.ListJobs(ctx)
	if jobs[0].LastResult != "1 of 2 failed" || len(jobs[0].LastFailures) != 1 || jobs[0].LastRunAt == nil || jobs[0].LeaseOwner != "" {
		t.Fatalf("after the run: %+v", jobs[0])
	}
	// A lease that ran out is taken over by another node.
	advance(24 * time.Hour)
	j, ok, _ = s.ClaimDueJob(ctx, "a", time.Minute)
	if !ok {
		t.Fatal("no job due a day later")
	}
	advance(2 * time.Minute)
	if j2, ok, _ := s.ClaimDueJob(ctx, "b", time.Minute); !ok || j2.ID != j.ID {
		t.Fatalf("an expired lease was not taken over: %+v %v", j2, ok)
	}

	// Per-account rotation, removed with the account.
	if _, err := s.AddAccount(ctx, NewAccount{Asset: "web1", Username: "app", SecretKind: SecretPassword, Secret: Secret("pw")}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAccountRotation(ctx, "web1", "app", 30*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	jobs, _ = s.ListJobs(ctx)
	if len(jobs) != 3 {
		t.Fatalf("jobs: %+v", jobs)
	}
	if err := s.RemoveAccount(ctx, "web1", "app"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveTemplate(ctx, "deploy"); err != nil {
		t.Fatal(err)
	}
	if jobs, _ = s.ListJobs(ctx); len(jobs) != 0 {
		t.Fatalf("jobs outlived what they rotate: %+v", jobs)
	}
}
