package store

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// TestConflictMessages (issue 11): a taken name reads once, "asset
// "web1" already exists", and is still an ErrConflict with the driver's
// error in the chain.
func TestConflictMessages(t *testing.T) {
	ctx := WithActor(context.Background(), "test")
	s := newTestStore(t)
	if _, err := s.AddUser(ctx, NewUser{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddAsset(ctx, NewAsset{Name: "web1", Address: "10.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddGroup(ctx, "ops", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddLoginRule(ctx, LoginRule{Name: "office"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		do   func() error
		want string
	}{
		{"user", func() error { _, err := s.AddUser(ctx, NewUser{Name: "alice"}); return err }, `user "alice" already exists`},
		{"asset", func() error { _, err := s.AddAsset(ctx, NewAsset{Name: "web1", Address: "10.0.0.2"}); return err }, `asset "web1" already exists`},
		{"group", func() error { _, err := s.AddGroup(ctx, "ops", ""); return err }, `group "ops" already exists`},
		{"login rule", func() error { _, err := s.AddLoginRule(ctx, LoginRule{Name: "office"}); return err }, `login rule "office" already exists`},
	} {
		err := tc.do()
		if err == nil || err.Error() != tc.want || !errors.Is(err, ErrConflict) {
			t.Errorf("%s: %v, want %q (an ErrConflict)", tc.name, err, tc.want)
		}
	}
}

// TestStillUsed: a foreign-key refusal to delete says what still uses
// the row.
func TestStillUsed(t *testing.T) {
	ctx := WithActor(context.Background(), "test")
	s := newTestStore(t)
	for _, n := range []string{"web2", "web1"} {
		if _, err := s.AddAsset(ctx, NewAsset{Name: n, Address: "10.0.0.1", Node: "/prod"}); err != nil {
			t.Fatal(err)
		}
	}
	err := s.withTx(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `DELETE FROM nodes WHERE path = ?`, "/prod")
		return s.stillUsed(ctx, err, "node", "nodes", "path", "/prod")
	})
	if want := `node "/prod" is still used by 2 assets (web1, web2)`; err == nil || err.Error() != want || !errors.Is(err, ErrConflict) {
		t.Fatalf("%v, want %q", err, want)
	}
	if got := usedByPhrase("asset", []string{"a", "b", "c", "d", "e"}); got != "5 assets (a, b, c, …)" {
		t.Errorf("usedByPhrase: %q", got)
	}
	// Not a reference: passed through.
	if err := s.stillUsed(ctx, nil, "node", "nodes", "path", "/prod"); err != nil {
		t.Fatal(err)
	}
}

// TestRestrictedByMatchesSchema: every foreign key that refuses a delete
// (RESTRICT, or NO ACTION, the default) is in restrictedBy, so that its
// refusal says what still uses the row.
func TestRestrictedByMatchesSchema(t *testing.T) {
	s := newTestStore(t)
	foreignKeys := `SELECT m.name, p."table", p."from", p.on_delete
		FROM sqlite_master m, pragma_foreign_key_list(m.name) p WHERE m.type = 'table'`
	if testEngine == PostgreSQL {
		foreignKeys = `SELECT k.table_name, u.table_name, k.column_name, r.delete_rule
			FROM information_schema.referential_constraints r
			JOIN information_schema.key_column_usage k
				ON k.constraint_schema = r.constraint_schema AND k.constraint_name = r.constraint_name
			JOIN information_schema.constraint_column_usage u
				ON u.constraint_schema = r.constraint_schema AND u.constraint_name = r.constraint_name
			WHERE r.constraint_schema = current_schema()`
	}
	rows, err := s.db.QueryContext(context.Background(), foreignKeys)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var from, to, column, onDelete string
		if err := rows.Scan(&from, &to, &column, &onDelete); err != nil {
			t.Fatal(err)
		}
		if onDelete != "RESTRICT" && onDelete != "NO ACTION" {
			continue
		}
		if !slices.ContainsFunc(restrictedBy[to], func(r reference) bool { return r.table == from && r.column == column }) {
			t.Errorf("%s.%s refuses deleting %s rows but is not in restrictedBy", from, column, to)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}
