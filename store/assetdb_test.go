package store

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestDatabaseAssets(t *testing.T) {
	ctx := WithActor(context.Background(), "os:tester")
	s := newTestStore(t)
	pg, err := s.AddAsset(ctx, NewAsset{Name: "pg1", Address: "10.0.0.7", Platform: PlatformPostgreSQL,
		Database: &AssetDatabase{Database: "app", TLSMode: "Require"}})
	if err != nil {
		t.Fatal(err)
	}
	if pg.Port != 5432 || pg.Platform != "postgresql" || pg.Database == nil ||
		*pg.Database != (AssetDatabase{Database: "app", TLSMode: "require"}) {
		t.Fatalf("pg1: %+v %+v", pg, pg.Database)
	}
	my, err := s.AddAsset(ctx, NewAsset{Name: "my1", Address: "10.0.0.8", Platform: PlatformMySQL})
	if err != nil {
		t.Fatal(err)
	}
	if my.Port != 3306 || my.Database == nil || my.Database.TLSMode != "disable" {
		t.Fatalf("my1 defaults: %+v %+v", my, my.Database)
	}
	if err := s.SetAssetDatabase(ctx, "my1", AssetDatabase{TLSMode: "verify-ca", TLSCAFile: "/etc/ssl/db-ca.pem"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAssetDatabase(ctx, my.ID)
	if err != nil || got.TLSMode != "verify-ca" || got.TLSCAFile != "/etc/ssl/db-ca.pem" {
		t.Fatalf("set: %v %+v", err, got)
	}
	web, err := s.AddAsset(ctx, NewAsset{Name: "web1", Address: "10.0.0.9"})
	if err != nil || web.Port != 22 || web.Database != nil {
		t.Fatalf("web1: %v %+v", err, web)
	}
	for _, tt := range []struct {
		name string
		na   NewAsset
		want string
	}{
		{"settings on linux", NewAsset{Name: "x", Address: "h", Database: &AssetDatabase{}}, "need platform mysql or postgresql"},
		{"bad mode", NewAsset{Name: "x", Address: "h", Platform: "mysql", Database: &AssetDatabase{TLSMode: "on"}}, `unknown TLS mode "on"`},
		{"verify without CA", NewAsset{Name: "x", Address: "h", Platform: "mysql", Database: &AssetDatabase{TLSMode: "verify-full"}}, "needs the CA file"},
		{"CA without verify", NewAsset{Name: "x", Address: "h", Platform: "mysql", Database: &AssetDatabase{TLSCAFile: "/ca.pem"}}, "only read with TLS mode verify-ca"},
		{"relative CA", NewAsset{Name: "x", Address: "h", Platform: "mysql", Database: &AssetDatabase{TLSMode: "verify-ca", TLSCAFile: "ca.pem"}}, "absolute path"},
		{"unknown platform", NewAsset{Name: "x", Address: "h", Platform: "oracle"}, `unknown platform "oracle"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.AddAsset(ctx, tt.na); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
	if err := s.SetAssetDatabase(ctx, "web1", AssetDatabase{}); err == nil {
		t.Fatal("database settings on a linux asset were accepted")
	}
	if _, err := s.AllOrgs().GetAssetDatabase(ctx, my.ID); err != nil {
		t.Fatalf("all-orgs read: %v", err)
	}
}

func TestSQLFilters(t *testing.T) {
	ctx := WithActor(context.Background(), "os:tester")
	s := accessFixture(t)
	for _, nf := range []NewFilter{
		{Name: "no-rm", Action: "deny", Commands: []string{"rm"}},
		{Name: "no-drop", Action: "deny", Kind: FilterSQL, Statements: []string{"drop", " drop  database ", "DROP", "truncate"}},
		{Name: "updates", Action: "warn", Kind: "SQL", Regex: `(?i)^\s*update\s`, Priority: 10},
	} {
		if _, err := s.AddFilter(ctx, nf); err != nil {
			t.Fatal(err)
		}
	}
	f, err := s.GetFilter(ctx, "no-drop")
	if err != nil || f.Kind != FilterSQL || !slices.Equal(f.Statements, []string{"DROP", "DROP DATABASE", "TRUNCATE"}) {
		t.Fatalf("no-drop: %v %+v", err, f)
	}
	if f, _ := s.GetFilter(ctx, "no-rm"); f.Kind != FilterShell || len(f.Statements) != 0 {
		t.Fatalf("no-rm: %+v", f)
	}
	db1, err := s.GetAsset(ctx, "db1")
	if err != nil {
		t.Fatal(err)
	}
	names := func(fs []Filter, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range fs {
			out = append(out, f.Name)
		}
		return strings.Join(out, ",")
	}
	if got := names(s.SQLFiltersFor(ctx, "alice", db1.ID, "postgres")); got != "updates,no-drop" {
		t.Errorf("SQL filters: %q", got)
	}
	if got := names(s.FiltersFor(ctx, "alice", db1.ID, "postgres")); got != "no-rm" {
		t.Errorf("shell filters: %q", got)
	}
	up, err := s.UpdateFilter(ctx, "no-drop", FilterUpdate{Statements: []string{"grant"}})
	if err != nil || !slices.Equal(up.Statements, []string{"GRANT"}) || up.Kind != FilterSQL {
		t.Fatalf("update: %v %+v", err, up)
	}
	for _, tt := range []struct {
		name string
		nf   NewFilter
		want string
	}{
		{"statement on shell", NewFilter{Name: "x", Action: "deny", Regex: "x", Statements: []string{"DROP"}}, "add --sql"},
		{"command on sql", NewFilter{Name: "x", Action: "deny", Kind: FilterSQL, Commands: []string{"rm"}}, "--command is for shell filters"},
		{"neither", NewFilter{Name: "x", Action: "deny", Kind: FilterSQL}, "--statement KIND"},
		{"both", NewFilter{Name: "x", Action: "deny", Kind: FilterSQL, Regex: "x", Statements: []string{"DROP"}}, "not both"},
		{"not a keyword", NewFilter{Name: "x", Action: "deny", Kind: FilterSQL, Statements: []string{"DROP;"}}, "not a SQL keyword"},
		{"bad kind", NewFilter{Name: "x", Action: "deny", Kind: "http", Regex: "x"}, `unknown filter kind "http"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.AddFilter(ctx, tt.nf); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestStatementEvents(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	rows, ms := int64(3), int64(12)
	for _, e := range []CommandEvent{
		{SessionID: "s1", User: "alice", Asset: "db1", Account: "app", Command: "SELECT 1", Verdict: VerdictAllow, Rows: &rows, DurationMS: &ms},
		{SessionID: "s1", User: "alice", Asset: "db1", Account: "app", Command: "DROP TABLE t", Verdict: VerdictDeny, Filter: "no-drop"},
		{SessionID: "s1", User: "alice", Asset: "db1", Account: "app", Command: "SELECT * FROM nosuch", Verdict: VerdictAllow,
			DurationMS: &ms, Error: "ERROR 1146 (42S02): Table 'app.nosuch' doesn't exist"},
	} {
		if _, err := s.AddCommandEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ListCommandEvents(ctx, AuditQuery{Session: "s1"})
	if err != nil || len(got) != 3 {
		t.Fatalf("%v %+v", err, got)
	}
	if got[0].Rows == nil || *got[0].Rows != 3 || *got[0].DurationMS != 12 || got[0].Error != "" {
		t.Errorf("ran: %+v", got[0])
	}
	if got[1].Rows != nil || got[1].DurationMS != nil {
		t.Errorf("denied: %+v", got[1])
	}
	if got[2].Rows != nil || !strings.HasPrefix(got[2].Error, "ERROR 1146") {
		t.Errorf("failed: %+v", got[2])
	}
}
