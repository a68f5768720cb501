// Package dbtest gives tests real database servers: the admin account of
// the MariaDB/MySQL and PostgreSQL servers named in the environment, and a
// fresh database with an account of its own, dropped when the test ends.
//
//	JMS_TEST_MYSQL=mysql://root@127.0.0.1:3306/
//	JMS_TEST_POSTGRES=postgres://root@127.0.0.1:5432/test?sslmode=disable
//
// Without the variable a test skips, saying so; under JMS_E2E=1 it first
// tries the server's usual local address (the URLs above) and skips only
// when nothing answers there. A server named in the variable that does not
// answer fails the test.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// Server is one account on a test server.
type Server struct {
	Engine   string // mysql or postgresql
	Host     string
	Port     int
	User     string
	Password string
	Database string
}

// Addr is host:port.
func (s Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Admin returns the admin account of the engine's test server.
func Admin(t testing.TB, engine string) Server {
	t.Helper()
	env := "JMS_TEST_MYSQL"
	if engine == "postgresql" {
		env = "JMS_TEST_POSTGRES"
	}
	raw := os.Getenv(env)
	if raw == "" {
		raw = localDefault(engine)
		if raw == "" && os.Getenv("JMS_E2E") == "1" {
			t.Fatalf("JMS_E2E=1 but no %s server answers on its usual local port: set %s (scripts/ensure-mariadb.sh, scripts/ensure-postgres.sh start one)", engine, env)
		}
		if raw == "" {
			t.Skipf("set %s to run this test against a real %s server (or run scripts/ensure-mariadb.sh / scripts/ensure-postgres.sh)", env, engine)
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s: %v", env, err)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		t.Fatalf("%s: %v", env, err)
	}
	p, _ := strconv.Atoi(port)
	pw, _ := u.User.Password()
	db := ""
	if len(u.Path) > 1 {
		db = u.Path[1:]
	}
	return Server{Engine: engine, Host: host, Port: p, User: u.User.Username(), Password: pw, Database: db}
}

// localDefault is the engine's usual local test server under JMS_E2E=1
// when it answers, else "".
func localDefault(engine string) string {
	if os.Getenv("JMS_E2E") != "1" {
		return ""
	}
	url, addr := "mysql://root@127.0.0.1:3306/", "127.0.0.1:3306"
	if engine == "postgresql" {
		url, addr = "postgres://root@127.0.0.1:5432/test?sslmode=disable", "127.0.0.1:5432"
	}
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return ""
	}
	c.Close()
	return url
}

// Client skips the test when a database client program is missing,
// failing instead when the harness named the engine's server (then its
// client is expected too).
func Client(t testing.TB, program, engine, install string) {
	t.Helper()
	if _, err := exec.LookPath(program); err == nil {
		return
	}
	env := map[string]string{"mysql": "JMS_TEST_MYSQL", "postgresql": "JMS_TEST_POSTGRES"}[engine]
	if os.Getenv("JMS_E2E") == "1" && os.Getenv(env) != "" {
		t.Fatalf("%s is not installed (%s)", program, install)
	}
	t.Skipf("%s is not installed (%s)", program, install)
}

// Name returns a fresh name for a database or account.
func Name(t testing.TB) string {
	t.Helper()
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "jt_" + hex.EncodeToString(b)
}

// Exec runs statements as the account, failing the test on an error.
func Exec(t testing.TB, s Server, stmts ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if s.Engine == "postgresql" {
		execPostgres(ctx, t, s, stmts)
		return
	}
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = s.User, s.Password, "tcp", s.Addr(), s.Database
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func execPostgres(ctx context.Context, t testing.TB, s Server, stmts []string) {
	t.Helper()
	cfg, err := pgconn.ParseConfig("sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Host, cfg.Port, cfg.User, cfg.Password, cfg.Database = s.Host, uint16(s.Port), s.User, s.Password, s.Database
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("logging in to the test PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	for _, q := range stmts {
		if _, err := conn.Exec(ctx, q).ReadAll(); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// Fixture makes a fresh database and an account with a password that owns
// it, both dropped when the test ends, and returns that account.
func Fixture(t testing.TB, engine string) Server {
	t.Helper()
	a := Admin(t, engine)
	name := Name(t)
	s := a
	s.User, s.Password, s.Database = name, "pw-"+name, name
	if engine == "postgresql" {
		Exec(t, a, "CREATE ROLE "+name+" LOGIN PASSWORD '"+s.Password+"'", "CREATE DATABASE "+name+" OWNER "+name)
		t.Cleanup(func() { Exec(t, a, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)", "DROP ROLE IF EXISTS "+name) })
		return s
	}
	Exec(t, a, "CREATE DATABASE "+name, "CREATE USER '"+name+"'@'%' IDENTIFIED BY '"+s.Password+"'",
		"GRANT ALL ON "+name+".* TO '"+name+"'@'%'")
	t.Cleanup(func() { Exec(t, a, "DROP DATABASE IF EXISTS "+name, "DROP USER IF EXISTS '"+name+"'@'%'") })
	return s
}
