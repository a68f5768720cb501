package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestImportAssets(t *testing.T) {
	ctx := WithActor(context.Background(), "os:tester")
	s := newTestStore(t)
	if _, err := s.AddAsset(ctx, NewAsset{Name: "old", Address: "10.0.0.9", Comment: "keep"}); err != nil {
		t.Fatal(err)
	}
	good := []ImportAsset{
		{At: "line 2", NewAsset: NewAsset{Name: "web1", Address: "10.0.0.1", Node: "/prod/web", Labels: map[string]string{"env": "prod"}}},
		{At: "line 3", NewAsset: NewAsset{Name: "db1", Address: "db1.example.com", Port: 2222, Platform: "unix", Node: "prod/db"}},
	}
	bad := []struct {
		name string
		rows []ImportAsset
		want string
	}{
		{"missing address", []ImportAsset{good[0], {At: "line 3", NewAsset: NewAsset{Name: "x"}}}, "line 3: address: required"},
		{"bad port", []ImportAsset{{At: "line 2", NewAsset: NewAsset{Name: "x", Address: "h", Port: 70000}}}, "line 2: port: "},
		{"platform", []ImportAsset{{At: "item 1", NewAsset: NewAsset{Name: "x", Address: "h", Platform: "beos"}}}, "item 1: platform: unknown platform"},
		{"dup", []ImportAsset{good[0], {At: "line 7", NewAsset: NewAsset{Name: "web1", Address: "h"}}}, `line 7: name: "web1" is also on line 2`},
		{"exists", []ImportAsset{good[0], {At: "line 3", NewAsset: NewAsset{Name: "old", Address: "h"}}}, `line 3: name: asset "old" already exists (use --upsert`},
		{"bad node", []ImportAsset{{At: "line 2", NewAsset: NewAsset{Name: "x", Address: "h", Node: "/a/../b"}}}, "line 2: node: "},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.ImportAssets(ctx, c.rows, ImportOptions{})
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("got %v, want %q…", err, c.want)
			}
			if n, _ := s.CountAssets(ctx); n != 1 {
				t.Fatalf("a failed import left %d assets", n)
			}
		})
	}
	res, err := s.ImportAssets(ctx, slices.Clone(good), ImportOptions{DryRun: true})
	if err != nil || len(res.Added) != 2 {
		t.Fatalf("dry run %+v %v", res, err)
	}
	if n, _ := s.CountAssets(ctx); n != 1 {
		t.Fatalf("dry run changed something: %d assets", n)
	}
	res, err = s.ImportAssets(ctx, slices.Clone(good), ImportOptions{Source: "a.csv"})
	if err != nil || len(res.Added) != 2 {
		t.Fatalf("import %+v %v", res, err)
	}
	db1, err := s.GetAsset(ctx, "db1")
	if err != nil || db1.Port != 2222 || db1.Node != "/prod/db" || db1.Platform != "unix" {
		t.Fatalf("db1 %+v %v", db1, err)
	}
	// upsert: web1 changes, db1 stays, old keeps the fields its row lacks
	rows := []ImportAsset{
		{NewAsset: NewAsset{Name: "web1", Address: "10.0.0.2", Node: "/prod/web", Labels: map[string]string{"env": "prod"}}},
		{NewAsset: good[1].NewAsset},
		{Present: map[string]bool{"name": true, "address": true}, NewAsset: NewAsset{Name: "old", Address: "10.0.0.9"}},
	}
	res, err = s.ImportAssets(ctx, rows, ImportOptions{Upsert: true})
	if err != nil || !slices.Equal(res.Updated, []string{"web1"}) || len(res.Unchanged) != 2 {
		t.Fatalf("upsert %+v %v", res, err)
	}
	if a, _ := s.GetAsset(ctx, "old"); a.Comment != "keep" {
		t.Fatalf("absent field overwritten: %+v", a)
	}
	// an update may give only some fields, even without the address
	res, err = s.ImportAssets(ctx, []ImportAsset{{At: "line 2", Present: map[string]bool{"name": true, "comment": true},
		NewAsset: NewAsset{Name: "db1", Comment: "primary"}}}, ImportOptions{Upsert: true})
	if err != nil || len(res.Updated) != 1 {
		t.Fatalf("partial upsert %+v %v", res, err)
	}
	if a, _ := s.GetAsset(ctx, "db1"); a.Comment != "primary" || a.Port != 2222 || a.Address != "db1.example.com" {
		t.Fatalf("partial upsert: %+v", a)
	}
	// but a new asset needs its address
	if _, err := s.ImportAssets(ctx, []ImportAsset{{At: "line 3", Present: map[string]bool{"name": true}, NewAsset: NewAsset{Name: "new1"}}},
		ImportOptions{Upsert: true}); err == nil || err.Error() != "line 3: address: required" {
		t.Fatalf("new without address: %v", err)
	}
	exp, err := s.ExportAssets(ctx)
	if err != nil || len(exp) != 3 || exp[2].Name != "web1" || exp[2].Labels["env"] != "prod" {
		t.Fatalf("export %+v %v", exp, err)
	}
	ops, _ := s.ListOperations(ctx, AuditQuery{})
	if last := ops[len(ops)-1]; last.Action != "asset.import" {
		t.Fatalf("last op %+v", last)
	}
}

func TestImportUsers(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	const k1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop"
	const k2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHeAaY0g0IkS2gIkCmQ1B1i9gfbhSoiV5x1IJJjXk2a+ bob"
	rows := []ImportUser{
		{At: "line 2", Name: "alice", Email: "alice@example.com", Groups: []string{"ops", "dev"}, Keys: []string{k1}},
		{At: "line 3", Name: "bob", Role: "auditor"},
	}
	if _, err := s.ImportUsers(ctx, []ImportUser{rows[0], {At: "line 3", Name: "bob", Keys: []string{k1}}}, ImportOptions{}); err == nil ||
		!strings.HasPrefix(err.Error(), "line 3: keys: ") {
		t.Fatalf("shared key: %v", err)
	}
	if _, err := s.ImportUsers(ctx, []ImportUser{{At: "line 2", Name: "x", Role: "root"}}, ImportOptions{}); err == nil ||
		!strings.HasPrefix(err.Error(), "line 2: role: ") {
		t.Fatalf("bad role: %v", err)
	}
	res, err := s.ImportUsers(ctx, slices.Clone(rows), ImportOptions{})
	if err != nil || len(res.Added) != 2 || !slices.Equal(res.GroupsCreated, []string{"dev", "ops"}) {
		t.Fatalf("import %+v %v", res, err)
	}
	u, _ := s.GetUser(ctx, "alice")
	if u.Keys != 1 || !slices.Equal(u.Groups, []string{"dev", "ops"}) || u.HasPassword {
		t.Fatalf("alice %+v", u)
	}
	if _, err := s.ImportUsers(ctx, rows[1:], ImportOptions{}); !errors.Is(err, ErrConflict) {
		t.Fatalf("exists without upsert: %v", err)
	}
	res, err = s.ImportUsers(ctx, []ImportUser{
		{Name: "alice", Email: "alice@example.com", Groups: []string{"ops"}, Keys: []string{k2}},
		{Name: "bob", Role: "auditor"},
	}, ImportOptions{Upsert: true})
	if err != nil || !slices.Equal(res.Updated, []string{"alice"}) || !slices.Equal(res.Unchanged, []string{"bob"}) {
		t.Fatalf("upsert %+v %v", res, err)
	}
	keys, _ := s.ListUserKeys(ctx, "alice")
	if len(keys) != 1 || keys[0].Comment != "bob" {
		t.Fatalf("keys after upsert %+v", keys)
	}
	exp, err := s.ExportUsers(ctx)
	if err != nil || len(exp) != 2 || exp[0].Name != "alice" || len(exp[0].Keys) != 1 {
		t.Fatalf("export %+v %v", exp, err)
	}
	res, err = s.ImportUsers(ctx, exp, ImportOptions{Upsert: true})
	if err != nil || len(res.Unchanged) != 2 {
		t.Fatalf("round trip %+v %v", res, err)
	}
}

func tenThousand() []ImportAsset {
	rows := make([]ImportAsset, 10000)
	for i := range rows {
		rows[i] = ImportAsset{At: fmt.Sprintf("line %d", i+2), NewAsset: NewAsset{
			Name:    fmt.Sprintf("host-%05d", i),
			Address: fmt.Sprintf("10.%d.%d.%d", i/65536, i/256%256, i%256),
			Node:    fmt.Sprintf("/dc%d/rack%02d", i%3, i%40),
			Labels:  map[string]string{"env": []string{"prod", "dev"}[i%2], "team": "t" + fmt.Sprint(i%7)},
			Comment: "imported",
		}}
	}
	return rows
}

// BenchmarkImport10k imports 10,000 assets (two labels each, 120 nodes)
// in one transaction. The bar is under 2 s.
func BenchmarkImport10k(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		s := newTestStore(b)
		rows := tenThousand()
		b.StartTimer()
		if _, err := s.ImportAssets(ctx, rows, ImportOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListAssets10k lists 10,000 assets with their labels.
func BenchmarkListAssets10k(b *testing.B) {
	ctx := context.Background()
	s := newTestStore(b)
	if _, err := s.ImportAssets(ctx, tenThousand(), ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		as, err := s.ListAssets(ctx, AssetQuery{})
		if err != nil || len(as) != 10000 {
			b.Fatal(len(as), err)
		}
	}
}
