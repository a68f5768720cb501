package database

import (
	"context"
	"testing"

	"github.com/jms-bastion/jms/bastion/database/sqlsplit"
	"github.com/jms-bastion/jms/bastion/filter"
)

func BenchmarkJudgeInput(b *testing.B) {
	j := RuleJudge{Rules: NewRuleSet([]Rule{{ID: 1, Name: "no-drop", Action: filter.Deny, Priority: 50, Statements: []string{"DROP"}}})}
	for _, d := range []sqlsplit.Dialect{sqlsplit.MySQL, sqlsplit.PostgreSQL} {
		b.Run(d.String(), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				JudgeInput(context.Background(), j, d, "SELECT id, name FROM people WHERE id = 42")
			}
		})
	}
}
