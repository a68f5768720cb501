package store

import (
	"context"
	"strings"
	"testing"
)

// The first node's key becomes the cluster's; every later node gets it,
// sealed (never in clear in the database), and a rekey keeps it.
func TestClusterHostKey(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	first, second := Secret("PEM OF NODE A"), Secret("PEM OF NODE B")
	key, own, err := s.ClusterHostKey(ctx, first, "ssh-ed25519 AAAA a")
	if err != nil || !own || string(key) != string(first) {
		t.Fatalf("first node: %q, own %v, %v", key, own, err)
	}
	key, own, err = s.ClusterHostKey(ctx, second, "ssh-ed25519 BBBB b")
	if err != nil || own || string(key) != string(first) {
		t.Fatalf("second node: %q, own %v, %v", key, own, err)
	}
	var env, public string
	if err := s.db.QueryRowContext(ctx, `SELECT private_key, public_key FROM cluster_host_key`).Scan(&env, &public); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(env, "PEM OF") || public != "ssh-ed25519 AAAA a" {
		t.Fatalf("stored %q, %q", env, public)
	}

	raw, _ := GenerateKeyBytes()
	k2, _ := NewKey(raw, "next")
	if _, err := s.Rekey(ctx, NewSealer(k2)); err != nil {
		t.Fatal(err)
	}
	if key, _, err := s.ClusterHostKey(ctx, second, ""); err != nil || string(key) != string(first) {
		t.Fatalf("after rekey: %q, %v", key, err)
	}
}
