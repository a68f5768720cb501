package store

import (
	"context"
	"strings"
	"testing"
)

func TestRequestKill(t *testing.T) {
	ctx := WithActor(context.Background(), "os:root")
	s := newTestStore(t)
	a, err := s.StartSession(ctx, NewSession{User: "alice", Asset: "web1", Account: "root"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.StartSession(ctx, NewSession{User: "bob", Asset: "db1", Account: "root"})
	if err != nil {
		t.Fatal(err)
	}
	if ks, err := s.PendingKills(ctx, nil); err != nil || len(ks) != 0 {
		t.Fatalf("pending before any kill = %v, %v", ks, err)
	}
	if _, err := s.RequestKill(ctx, a.ID, "policy\nbreach"); err != nil {
		t.Fatal(err)
	}
	ks, err := s.PendingKills(ctx, []string{a.ID, b.ID})
	if err != nil || len(ks) != 1 {
		t.Fatalf("pending = %v, %v", ks, err)
	}
	if k := ks[0]; k.SessionID != a.ID || k.By != "os:root" || k.Reason != "policy breach" || k.RequestedAt.IsZero() {
		t.Fatalf("kill request = %+v", k)
	}
	if ks, _ := s.PendingKills(ctx, []string{b.ID}); len(ks) != 0 {
		t.Fatalf("pending for b = %v", ks)
	}
	ops, err := s.ListOperations(ctx, AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, o := range ops {
		if o.Action == "session.kill" && o.Target == a.ID && o.Actor == "os:root" && strings.Contains(o.Detail, "policy breach") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no session.kill operation in %v", ops)
	}
	if err := s.EndSession(ctx, a.ID, SessionEnd{Status: StatusKilled, Reason: "killed"}); err != nil {
		t.Fatal(err)
	}
	if ks, _ := s.PendingKills(ctx, nil); len(ks) != 0 {
		t.Fatalf("an ended session is still pending: %v", ks)
	}
	if _, err := s.RequestKill(ctx, a.ID, ""); err == nil || !strings.Contains(err.Error(), "not live") {
		t.Fatalf("kill of an ended session: %v", err)
	}
	if _, err := s.RequestKill(ctx, b.ID, strings.Repeat("x", MaxKillReason+1)); err == nil {
		t.Fatal("an overlong reason was accepted")
	}
}
