package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// benchInventory fills a store with 10,000 assets under /bench/nNN (100
// nodes of 100), each with a label and two accounts, and a user alice
// with two grants covering them through nodes (one directly, one
// through her group), plus 50 unrelated grants.
func benchInventory(b *testing.B) *Store {
	b.Helper()
	return benchInventoryOn(b, testEngine)
}

// benchInventoryOn is benchInventory on the engine e.
func benchInventoryOn(b *testing.B, e Engine) *Store {
	b.Helper()
	ctx := WithActor(context.Background(), "os:bench")
	s := newTestStoreOn(b, e)
	if _, err := s.AddUser(ctx, NewUser{Name: "alice"}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.AddUser(ctx, NewUser{Name: "bob"}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.AddGroup(ctx, "ops", ""); err != nil {
		b.Fatal(err)
	}
	if _, err := s.AddMembers(ctx, "ops", []string{"alice"}); err != nil {
		b.Fatal(err)
	}
	now := formatTime(s.now())
	err := s.withTx(ctx, func(q querier) error {
		for n := 0; n < 100; n++ {
			nodeID, err := s.ensureNode(ctx, q, fmt.Sprintf("/bench/n%02d", n), now)
			if err != nil {
				return err
			}
			for i := 0; i < 100; i++ {
				name := fmt.Sprintf("host-%02d-%03d", n, i)
				var id int64
				if err := q.QueryRowContext(ctx, `INSERT INTO assets (name, address, node_id, created_at, updated_at)
					VALUES (?, ?, ?, ?, ?) RETURNING id`, name, fmt.Sprintf("10.%d.%d.1", n, i), nodeID, now, now).Scan(&id); err != nil {
					return err
				}
				if _, err := q.ExecContext(ctx, `INSERT INTO asset_labels (asset_id, key, value) VALUES (?, 'env', 'prod')`, id); err != nil {
					return err
				}
				for _, u := range []string{"root", "deploy"} {
					if _, err := q.ExecContext(ctx, `INSERT INTO accounts (asset_id, username, created_at, updated_at)
						VALUES (?, ?, ?, ?)`, id, u, now, now); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	grants := []NewGrant{
		{Name: "all-bench", Users: []string{"alice"}, Nodes: []string{"/bench"}, Accounts: []string{"deploy"}},
		{Name: "ops-half", Groups: []string{"ops"}, Nodes: []string{"/bench/n0" + "0", "/bench/n01", "/bench/n02"}, Accounts: []string{"@all"},
			Actions: []string{"connect"}, ValidUntil: tp(s.now().Add(time.Hour))},
	}
	for i := 0; i < 50; i++ {
		grants = append(grants, NewGrant{Name: fmt.Sprintf("other-%02d", i), Users: []string{"bob"},
			Nodes: []string{fmt.Sprintf("/bench/n%02d", i)}})
	}
	for _, g := range grants {
		if _, err := s.AddGrant(ctx, g); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkAuthorizedAssets10k: "which assets and accounts may alice use
// now" over 10,000 assets with 2 accounts each. The bar is 20 ms.
func BenchmarkAuthorizedAssets10k(b *testing.B) {
	ctx := context.Background()
	s := benchInventory(b)
	b.ResetTimer()
	for b.Loop() {
		acc, err := s.AuthorizedAssets(ctx, "alice", s.now())
		if err != nil {
			b.Fatal(err)
		}
		if len(acc) != 10000 || len(acc[0].Accounts) != 2 {
			b.Fatalf("got %d assets, %d accounts on the first", len(acc), len(acc[0].Accounts))
		}
	}
}

// BenchmarkAuthorizedAssets10kCold is the same right after a change to
// the inventory, when the snapshot must be rebuilt.
func BenchmarkAuthorizedAssets10kCold(b *testing.B) {
	ctx := context.Background()
	s := benchInventory(b)
	b.ResetTimer()
	for b.Loop() {
		s.inv.mu.Lock()
		s.inv.inv = nil
		s.inv.mu.Unlock()
		acc, err := s.AuthorizedAssets(ctx, "alice", s.now())
		if err != nil || len(acc) != 10000 {
			b.Fatalf("%v: got %d assets", err, len(acc))
		}
	}
}

// BenchmarkAuthorizedAsset10k: one asset, as the bastion checks it at
// connect time.
func BenchmarkAuthorizedAsset10k(b *testing.B) {
	ctx := context.Background()
	s := benchInventory(b)
	a, err := s.GetAsset(ctx, "host-50-050")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		acc, err := s.AuthorizedAsset(ctx, "alice", a.ID, s.now())
		if err != nil || len(acc.Accounts) != 1 {
			b.Fatalf("%v %+v", err, acc)
		}
	}
}

// BenchmarkExplain: grant explain over the same inventory.
func BenchmarkExplain(b *testing.B) {
	ctx := context.Background()
	s := benchInventory(b)
	b.ResetTimer()
	for b.Loop() {
		e, err := s.ExplainAccess(ctx, "alice", "host-01-050", s.now())
		if err != nil || !e.Allowed {
			b.Fatalf("%v %+v", err, e)
		}
	}
}

// BenchmarkWhoCan: asset who-can over the same inventory.
func BenchmarkWhoCan(b *testing.B) {
	ctx := context.Background()
	s := benchInventory(b)
	b.ResetTimer()
	for b.Loop() {
		w, err := s.WhoCan(ctx, "host-01-050", s.now())
		if err != nil || len(w) != 4 {
			b.Fatalf("%v %+v", err, w)
		}
	}
}

// BenchmarkAuthorizedAssets10kEngines is BenchmarkAuthorizedAssets10k
// (warm) on SQLite and PostgreSQL in turns, each iteration one query on
// each, so that both see the same load: it reports each engine's time
// per query and their ratio (the bar: PostgreSQL on loopback within 2x
// of SQLite). It needs JMS_TEST_POSTGRES and runs in the first pass.
func BenchmarkAuthorizedAssets10kEngines(b *testing.B) {
	if pgAdmin.db == nil || testEngine != SQLite {
		b.Skip("needs JMS_TEST_POSTGRES; runs once, in the first pass")
	}
	ctx := context.Background()
	stores := map[Engine]*Store{SQLite: benchInventoryOn(b, SQLite), PostgreSQL: benchInventoryOn(b, PostgreSQL)}
	spent := map[Engine]time.Duration{}
	b.ResetTimer()
	for b.Loop() {
		for _, e := range []Engine{SQLite, PostgreSQL} {
			s := stores[e]
			start := time.Now()
			acc, err := s.AuthorizedAssets(ctx, "alice", s.now())
			spent[e] += time.Since(start)
			if err != nil || len(acc) != 10000 {
				b.Fatalf("%s: %v, %d assets", e, err, len(acc))
			}
		}
	}
	n := float64(b.N)
	b.ReportMetric(spent[SQLite].Seconds()*1000/n, "ms-sqlite/op")
	b.ReportMetric(spent[PostgreSQL].Seconds()*1000/n, "ms-postgres/op")
	b.ReportMetric(float64(spent[PostgreSQL])/float64(spent[SQLite]), "postgres/sqlite")
}
