package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestGroups(t *testing.T) {
	ctx := WithActor(context.Background(), "os:tester")
	s := newTestStore(t)
	for _, n := range []string{"alice", "bob"} {
		if _, err := s.AddUser(ctx, NewUser{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddGroup(ctx, "ops", "operations"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddGroup(ctx, "ops", ""); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate group: %v", err)
	}
	if _, err := s.AddGroup(ctx, "Bad Name", ""); err == nil {
		t.Fatal("bad name accepted")
	}
	added, err := s.AddMembers(ctx, "ops", []string{"bob", "alice", "bob"})
	if err != nil || !slices.Equal(added, []string{"bob", "alice"}) {
		t.Fatalf("add members: %v %v", added, err)
	}
	if added, err := s.AddMembers(ctx, "ops", []string{"alice"}); err != nil || len(added) != 0 {
		t.Fatalf("re-add: %v %v", added, err)
	}
	// an unknown user fails the whole change
	if _, err := s.AddMembers(ctx, "ops", []string{"carol"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	if _, err := s.AddMembers(ctx, "nope", []string{"alice"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown group: %v", err)
	}
	g, err := s.GetGroup(ctx, "ops")
	if err != nil || !slices.Equal(g.Members, []string{"alice", "bob"}) || g.Comment != "operations" {
		t.Fatalf("group %+v %v", g, err)
	}
	// removing a non-member fails and removes nobody
	if err := s.RemoveMembers(ctx, "ops", []string{"alice", "carol"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rm unknown: %v", err)
	}
	if g, _ := s.GetGroup(ctx, "ops"); len(g.Members) != 2 {
		t.Fatalf("a failed removal changed members: %v", g.Members)
	}
	if err := s.RemoveMembers(ctx, "ops", []string{"alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddGroup(ctx, "dev", ""); err != nil {
		t.Fatal(err)
	}
	gs, err := s.ListGroups(ctx)
	if err != nil || len(gs) != 2 || gs[0].Name != "dev" || len(gs[0].Members) != 0 || !slices.Equal(gs[1].Members, []string{"bob"}) {
		t.Fatalf("list %+v %v", gs, err)
	}
	if u, _ := s.GetUser(ctx, "bob"); !slices.Equal(u.Groups, []string{"ops"}) {
		t.Fatalf("bob's groups %v", u.Groups)
	}
	if err := s.RemoveGroup(ctx, "ops"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveGroup(ctx, "ops"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rm twice: %v", err)
	}
	ops, _ := s.ListOperations(ctx, AuditQuery{})
	var actions []string
	for _, o := range ops {
		actions = append(actions, o.Action)
	}
	want := []string{"user.add", "user.add", "group.add", "group.members.add", "group.members.rm", "group.add", "group.rm"}
	if !slices.Equal(actions, want) {
		t.Fatalf("audit %v, want %v", actions, want)
	}
}

func TestListNodesTree(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	for _, a := range []struct{ name, node string }{
		{"a1", "/prod"}, {"a2", "/prod/web"}, {"a3", "/prod/web"}, {"a4", "/prod-x"}, {"a5", "/prod.y/z"}, {"a6", ""},
	} {
		if _, err := s.AddAsset(ctx, NewAsset{Name: a.name, Address: "10.0.0.1", Node: a.node}); err != nil {
			t.Fatal(err)
		}
	}
	nodes, err := s.ListNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range nodes {
		got = append(got, n.Path)
	}
	if want := []string{"/prod", "/prod/web", "/prod-x", "/prod.y", "/prod.y/z"}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	if nodes[0].Total != 3 || nodes[0].Assets != 1 || nodes[3].Total != 1 {
		t.Fatalf("totals %+v", nodes)
	}
	if n, _ := s.CountAssets(ctx); n != 6 {
		t.Fatalf("count %d", n)
	}
	// node filter with "_" does not match other characters
	if _, err := s.AddAsset(ctx, NewAsset{Name: "b1", Address: "h", Node: "/a_b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddAsset(ctx, NewAsset{Name: "b2", Address: "h", Node: "/axb/c"}); err != nil {
		t.Fatal(err)
	}
	as, err := s.ListAssets(ctx, AssetQuery{Node: "/a_b"})
	if err != nil || len(as) != 1 || as[0].Name != "b1" {
		t.Fatalf("node filter: %+v %v", as, err)
	}
}

func TestUnpinHostKey(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	if _, err := s.AddAsset(ctx, NewAsset{Name: "web1", Address: "10.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
	if err := s.PinHostKey(ctx, "web1", key); err != nil {
		t.Fatal(err)
	}
	old, err := s.UnpinHostKey(ctx, "web1")
	if err != nil || old != key {
		t.Fatalf("unpin: %q %v", old, err)
	}
	a, _ := s.GetAsset(ctx, "web1")
	if a.HostKey != "" || a.HostKeyPinnedAt != nil {
		t.Fatalf("still pinned: %+v", a)
	}
	if _, err := s.UnpinHostKey(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown asset: %v", err)
	}
	ops, _ := s.ListOperations(ctx, AuditQuery{})
	if last := ops[len(ops)-1]; last.Action != "asset.untrust" || !strings.Contains(last.Detail, "SHA256:") {
		t.Fatalf("audit %+v", last)
	}
}
