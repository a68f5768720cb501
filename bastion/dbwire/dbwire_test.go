package dbwire

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jms-bastion/jms/bastion/database"
	"github.com/jms-bastion/jms/bastion/database/sqlsplit"
	"github.com/jms-bastion/jms/bastion/filter"
	"github.com/jms-bastion/jms/store"
)

// fakeStore has one account (id 7) whose secret and kind the test sets.
type fakeStore struct {
	Store
	kind   string
	secret string
	db     store.AssetDatabase
}

func (f fakeStore) GetAssetDatabase(context.Context, int64) (store.AssetDatabase, error) {
	return f.db, nil
}

func (f fakeStore) AccountSecret(_ context.Context, id int64) (store.Account, store.Secret, error) {
	return store.Account{ID: id, Username: "app", SecretKind: f.kind}, store.Secret(f.secret), nil
}

func TestTarget(t *testing.T) {
	ctx := context.Background()
	pg := store.Asset{ID: 1, Name: "pg1", Address: "10.0.0.7", Port: 5433, Platform: "postgresql"}
	st := fakeStore{kind: store.SecretPassword, secret: "s3cret", db: store.AssetDatabase{Database: "shop", TLSMode: "require"}}
	got, err := Target(ctx, st, pg, 7, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := database.Target{Engine: database.PostgreSQL, Address: "10.0.0.7", Port: 5433, User: "app", Password: "s3cret",
		Database: "shop", TLS: database.TLS{Mode: database.TLSRequire}, ConnectTimeout: time.Second}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for _, tt := range []struct {
		name  string
		asset store.Asset
		st    fakeStore
		want  string
	}{
		{"not a database", store.Asset{Name: "web1", Address: "h", Platform: "linux"}, st, "set its platform to mysql or postgresql"},
		{"old database platform", store.Asset{Name: "d", Address: "h", Platform: "database"}, st, "set its platform"},
		{"key account", pg, fakeStore{kind: store.SecretKey, secret: "k"}, "a database account needs a password"},
		{"verify without CA", pg, fakeStore{kind: store.SecretPassword, db: store.AssetDatabase{TLSMode: "verify-ca"}}, "needs a CA file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Target(ctx, tt.st, tt.asset, 7, 0)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("the password is in the error: %v", err)
			}
		})
	}
}

func TestRules(t *testing.T) {
	rules, err := Rules([]store.Filter{
		{ID: 1, Name: "no-drop", Action: "deny", Priority: 50, Kind: store.FilterSQL, Statements: []string{"DROP"}},
		{ID: 2, Name: "updates", Action: "warn", Priority: 10, Kind: store.FilterSQL, Regex: `(?i)^\s*update\s`},
	})
	if err != nil {
		t.Fatal(err)
	}
	rs := database.NewRuleSet(rules)
	for _, tt := range []struct {
		sql  string
		want filter.Action
		rule string
	}{
		{"/* x */ DROP TABLE t", filter.Deny, "no-drop"},
		{"update t set a = 1", filter.Warn, "updates"},
		{"SELECT 'DROP TABLE t'", filter.Allow, ""},
	} {
		st := sqlsplit.Split(sqlsplit.MySQL, tt.sql)[0]
		if v := rs.Evaluate(st); v.Action != tt.want || v.Rule != tt.rule {
			t.Errorf("%q: got %v %q, want %v %q", tt.sql, v.Action, v.Rule, tt.want, tt.rule)
		}
	}
	if _, err := Rules([]store.Filter{{Name: "bad", Action: "deny", Regex: "("}}); err == nil {
		t.Error("a bad regex was taken")
	}
}

func TestEvent(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tt := range []struct {
		name    string
		rec     database.StatementRecord
		verdict string
		rows    bool
	}{
		{"ran", database.StatementRecord{Text: "SELECT 1", Verdict: database.Verdict{Action: filter.Allow}, Ran: true, Rows: 1, Started: at, Duration: 12 * time.Millisecond}, "allow", true},
		{"warned", database.StatementRecord{Text: "UPDATE t", Verdict: database.Verdict{Action: filter.Warn, Rule: "updates"}, Ran: true}, "warn", true},
		{"denied", database.StatementRecord{Text: "DROP TABLE t", Verdict: database.Verdict{Action: filter.Deny, Rule: "no-drop"}}, "deny", false},
		{"approved", database.StatementRecord{Text: "DELETE", Verdict: database.Verdict{Action: filter.Allow, Ticket: 3}, Ran: true}, "review:approved", true},
		{"rejected", database.StatementRecord{Text: "DELETE", Verdict: database.Verdict{Action: filter.Deny, Ticket: 4}}, "review:rejected", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := Event(tt.rec)
			if e.Verdict != tt.verdict || e.Command != tt.rec.Text || e.Filter != tt.rec.Verdict.Rule || (e.Rows != nil) != tt.rows {
				t.Fatalf("%+v", e)
			}
			if tt.rows && (*e.Rows != tt.rec.Rows || *e.DurationMS != tt.rec.Duration.Milliseconds()) {
				t.Fatalf("rows %d, duration %d", *e.Rows, *e.DurationMS)
			}
		})
	}
}
