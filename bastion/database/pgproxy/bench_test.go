package pgproxy

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jms-bastion/jms/bastion/database"
	"github.com/jms-bastion/jms/bastion/database/dbtest"
	"github.com/jms-bastion/jms/bastion/filter"
)

// BenchmarkSmallQueries: one small query per iteration, straight to the
// server and through the proxy (with a filter to judge every statement).
// The issue asks the proxy to stay within 1.5× of the direct time.
func BenchmarkSmallQueries(b *testing.B) {
	s := dbtest.Admin(b, "postgresql")
	rules := database.NewRuleSet([]database.Rule{{ID: 1, Name: "no-drop", Action: filter.Deny, Priority: 50, Statements: []string{"DROP"}}})
	p := &Proxy{
		Target: database.Target{Engine: database.PostgreSQL, Address: s.Host, Port: s.Port, User: s.User, Password: s.Password, Database: s.Database},
		Hooks:  database.Hooks{Judge: database.RuleJudge{Rules: rules}},
	}
	port := serveB(b, p)
	for _, bc := range []struct{ name, dsn string }{
		{"direct", fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", s.Host, s.Port, s.User, s.Database)},
		{"proxy", fmt.Sprintf("host=127.0.0.1 port=%d user=x password=x dbname=%s sslmode=disable", port, s.Database)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			conn, err := pgconn.Connect(ctx, bc.dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close(ctx)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := conn.Exec(ctx, "SELECT 1").ReadAll(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
