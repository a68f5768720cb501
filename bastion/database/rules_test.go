package database

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"testing"

	"github.com/jms-bastion/jms/bastion/database/sqlsplit"
	"github.com/jms-bastion/jms/bastion/filter"
)

func TestRuleSetEvaluate(t *testing.T) {
	noDrop := Rule{ID: 1, Name: "no-drop", Action: filter.Deny, Priority: 50, Regex: regexp.MustCompile(`(?i)^\s*drop\s`)}
	kinds := Rule{ID: 2, Name: "kinds", Action: filter.Deny, Priority: 50, Statements: []string{"TRUNCATE", "grant", "ALTER SYSTEM"}}
	review := Rule{ID: 3, Name: "review-delete", Action: filter.Review, Priority: 60, Statements: []string{"DELETE"}}
	allowSel := Rule{ID: 4, Name: "allow-select", Action: filter.Allow, Priority: 10, Regex: regexp.MustCompile(`(?i)^select\b`)}
	warnUpd := Rule{ID: 5, Name: "warn-update", Action: filter.Warn, Priority: 70, Statements: []string{"UPDATE"}}
	rules := []Rule{noDrop, kinds, review, allowSel, warnUpd}
	tests := []struct {
		name string
		d    sqlsplit.Dialect
		in   string
		want filter.Action
		rule string
	}{
		{"plain select", sqlsplit.MySQL, "SELECT 1", filter.Allow, "allow-select"},
		{"drop", sqlsplit.MySQL, "DROP TABLE t", filter.Deny, "no-drop"},
		{"drop after comment", sqlsplit.MySQL, "/* hi */ drop table t", filter.Deny, "no-drop"},
		{"drop across lines", sqlsplit.PostgreSQL, "DROP\n\tTABLE t", filter.Deny, "no-drop"},
		{"drop in executable comment", sqlsplit.MySQL, "/*!50000 DROP TABLE t*/", filter.Deny, "no-drop"},
		{"drop in a string", sqlsplit.MySQL, "INSERT INTO log VALUES ('drop table t')", filter.Allow, ""},
		{"truncate kind", sqlsplit.PostgreSQL, "truncate t", filter.Deny, "kinds"},
		{"grant kind", sqlsplit.MySQL, "GRANT ALL ON *.* TO x", filter.Deny, "kinds"},
		{"alter system", sqlsplit.PostgreSQL, "ALTER SYSTEM SET x = 1", filter.Deny, "kinds"},
		{"alter table is not alter system", sqlsplit.PostgreSQL, "ALTER TABLE t ADD c int", filter.Allow, ""},
		{"truncated word is not truncate", sqlsplit.MySQL, "SELECT truncated FROM t", filter.Allow, "allow-select"},
		{"delete in cte", sqlsplit.PostgreSQL, "WITH x AS (SELECT 1) DELETE FROM t", filter.Review, "review-delete"},
		{"update warns", sqlsplit.MySQL, "update t set a=1", filter.Warn, "warn-update"},
		{"allow ignores comments", sqlsplit.MySQL, "/* select */ UPDATE t SET a=1", filter.Warn, "warn-update"},
	}
	rs := NewRuleSet(rules)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sts := sqlsplit.Split(tt.d, tt.in)
			if len(sts) != 1 {
				t.Fatalf("%d statements", len(sts))
			}
			v := rs.Evaluate(sts[0])
			if v.Action != tt.want || v.Rule != tt.rule {
				t.Errorf("verdict %v by %q, want %v by %q", v.Action, v.Rule, tt.want, tt.rule)
			}
		})
	}
}

func TestJudgeInput(t *testing.T) {
	rs := NewRuleSet([]Rule{{ID: 1, Name: "no-drop", Action: filter.Deny, Priority: 50, Statements: []string{"DROP"}}})
	j := RuleJudge{Rules: rs}
	tests := []struct {
		d    sqlsplit.Dialect
		in   string
		want filter.Action
	}{
		{sqlsplit.MySQL, "SELECT 1; DROP TABLE t", filter.Deny},
		{sqlsplit.MySQL, "SELECT 'a;DROP TABLE t'", filter.Allow},
		{sqlsplit.MySQL, `SELECT 'a\'; DROP TABLE t; -- '`, filter.Deny}, // NO_BACKSLASH_ESCAPES reading
		{sqlsplit.PostgreSQL, "SELECT $$; DROP TABLE t; $$", filter.Allow},
		{sqlsplit.PostgreSQL, "SELECT 1; -- DROP TABLE t", filter.Allow},
	}
	for _, tt := range tests {
		v, _ := JudgeInput(context.Background(), j, tt.d, tt.in)
		if v.Action != tt.want {
			t.Errorf("JudgeInput(%q) = %v, want %v", tt.in, v.Action, tt.want)
		}
	}
}

func TestRuleJudgeReview(t *testing.T) {
	rs := NewRuleSet([]Rule{{ID: 1, Name: "rv", Action: filter.Review, Priority: 50, Statements: []string{"DELETE"}}})
	st := sqlsplit.Split(sqlsplit.MySQL, "DELETE FROM t")[0]
	tests := []struct {
		name   string
		review Reviewer
		want   filter.Action
	}{
		{"no reviewer", nil, filter.Deny},
		{"approved", func(context.Context, Statement, Verdict) (bool, int64, error) { return true, 7, nil }, filter.Allow},
		{"rejected", func(context.Context, Statement, Verdict) (bool, int64, error) { return false, 7, nil }, filter.Deny},
		{"error", func(context.Context, Statement, Verdict) (bool, int64, error) {
			return true, 0, errors.New("cancelled")
		}, filter.Deny},
	}
	for _, tt := range tests {
		v := RuleJudge{Rules: rs, Review: tt.review}.Judge(context.Background(), st)
		if v.Action != tt.want {
			t.Errorf("%s: %v (%s), want %v", tt.name, v.Action, v.Message, tt.want)
		}
	}
}

func TestParseStatementKinds(t *testing.T) {
	got, err := ParseStatementKinds("drop, TRUNCATE ,drop  database")
	if err != nil || !slices.Equal(got, []string{"DROP", "TRUNCATE", "DROP DATABASE"}) {
		t.Errorf("got %q, %v", got, err)
	}
	for _, bad := range []string{"", "DROP,", "DR0P", "DROP;"} {
		if _, err := ParseStatementKinds(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
