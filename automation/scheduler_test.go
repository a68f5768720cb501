package automation

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jms-bastion/jms/store"
)

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// Two schedulers (two serve nodes) on one database: a due job runs once,
// and its per-asset failure is recorded for job list.
func TestSchedulerRunsADueJobOnce(t *testing.T) {
	ctx := context.Background()
	raw, _ := store.GenerateKeyBytes()
	k, _ := store.NewKey(raw, "test")
	var mu sync.Mutex
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "jms.db"), store.Options{Sealer: store.NewSealer(k), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.AddAsset(ctx, store.NewAsset{Name: "web1", Address: "127.0.0.1", Port: closedPort(t)}); err != nil {
		t.Fatal(err)
	}
	for _, na := range []store.NewAccount{
		{Asset: "web1", Username: "root", SecretKind: store.SecretPassword, Secret: store.Secret("pw"), Privileged: true},
		{Asset: "web1", Username: "app", SecretKind: store.SecretPassword, Secret: store.Secret("pw")},
	} {
		if _, err := st.AddAccount(ctx, na); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SetAccountRotation(ctx, "web1", "app", time.Hour); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()

	var wg sync.WaitGroup
	for range 2 {
		s := NewScheduler(New(st, Config{ConnectTimeout: 2 * time.Second}))
		wg.Add(1)
		go func() { defer wg.Done(); s.RunDue(ctx) }()
	}
	wg.Wait()
	jobs, err := st.ListJobs(ctx)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("jobs: %+v %v", jobs, err)
	}
	j := jobs[0]
	if j.LastResult != "1 of 1 failed" || len(j.LastFailures) != 1 || !strings.Contains(j.LastFailures[0], "app@web1: unreachable") {
		t.Fatalf("last run: %q %q", j.LastResult, j.LastFailures)
	}
	if !j.NextRunAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("next run %v, want %v", j.NextRunAt, now.Add(time.Hour))
	}
	ops, err := st.ListOperations(ctx, store.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	runs := 0
	for _, op := range ops {
		if op.Action == "job.run" {
			runs++
		}
	}
	if runs != 1 {
		t.Fatalf("the job ran %d times", runs)
	}
}

// The scheduler of serve (on the default view) runs the jobs of every
// organization, each in its organization: team-b's rotation reaches
// team-b's web1, not the default one's.
func TestSchedulerRunsEveryOrgsJobs(t *testing.T) {
	ctx := context.Background()
	raw, _ := store.GenerateKeyBytes()
	k, _ := store.NewKey(raw, "test")
	var mu sync.Mutex
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "jms.db"), store.Options{Sealer: store.NewSealer(k), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	org, err := st.AddOrg(ctx, "team-b", "")
	if err != nil {
		t.Fatal(err)
	}
	b := st.InOrg(org.ID)
	if _, err := b.AddAsset(ctx, store.NewAsset{Name: "web1", Address: "127.0.0.1", Port: closedPort(t)}); err != nil {
		t.Fatal(err)
	}
	for _, na := range []store.NewAccount{
		{Asset: "web1", Username: "root", SecretKind: store.SecretPassword, Secret: store.Secret("pw"), Privileged: true},
		{Asset: "web1", Username: "app", SecretKind: store.SecretPassword, Secret: store.Secret("pw")},
	} {
		if _, err := b.AddAccount(ctx, na); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.SetAccountRotation(ctx, "web1", "app", time.Hour); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	NewScheduler(New(st, Config{ConnectTimeout: 2 * time.Second})).RunDue(ctx)
	jobs, err := b.ListJobs(ctx)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("team-b's jobs: %+v %v", jobs, err)
	}
	if j := jobs[0]; j.LastResult != "1 of 1 failed" || len(j.LastFailures) != 1 || !strings.Contains(j.LastFailures[0], "app@web1: unreachable") {
		t.Fatalf("team-b's job ran as: %q %q", j.LastResult, j.LastFailures)
	}
}
