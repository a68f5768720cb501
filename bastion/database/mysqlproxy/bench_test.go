package mysqlproxy

import (
	"database/sql"
	"fmt"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jms-bastion/jms/bastion/database"
	"github.com/jms-bastion/jms/bastion/database/dbtest"
	"github.com/jms-bastion/jms/bastion/filter"
)

// BenchmarkSmallQueries: one small query per iteration, straight to the
// server and through the proxy (with a filter to judge every statement).
func BenchmarkSmallQueries(b *testing.B) {
	s := dbtest.Admin(b, "mysql")
	rules := database.NewRuleSet([]database.Rule{{ID: 1, Name: "no-drop", Action: filter.Deny, Priority: 50, Statements: []string{"DROP"}}})
	p := &Proxy{
		Target: database.Target{Engine: database.MySQL, Address: s.Host, Port: s.Port, User: s.User, Password: s.Password},
		Hooks:  database.Hooks{Judge: database.RuleJudge{Rules: rules}},
	}
	port := serveB(b, p)
	for _, bc := range []struct{ name, addr string }{{"direct", s.Addr()}, {"proxy", fmt.Sprintf("127.0.0.1:%d", port)}} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := mysql.NewConfig()
			cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = s.User, s.Password, "tcp", bc.addr
			conn, err := mysql.NewConnector(cfg)
			if err != nil {
				b.Fatal(err)
			}
			db := sql.OpenDB(conn)
			defer db.Close()
			db.SetMaxOpenConns(1)
			var n int
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := db.QueryRow("SELECT 1").Scan(&n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
