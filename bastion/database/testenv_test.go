package database

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"
)

// The tests that need servers read them from the environment:
//
//	JMS_TEST_MYSQL=mysql://root@127.0.0.1:3306/       (MariaDB or MySQL, an admin account)
//	JMS_TEST_POSTGRES=postgres://root@127.0.0.1:5432/test?sslmode=disable
//
// Without one they skip, saying so; under JMS_E2E=1 they fail instead.

// adminTarget returns the admin account of the engine's test server.
func adminTarget(t *testing.T, e Engine) Target {
	t.Helper()
	env := "JMS_TEST_MYSQL"
	if e == PostgreSQL {
		env = "JMS_TEST_POSTGRES"
	}
	raw := os.Getenv(env)
	if raw == "" {
		if os.Getenv("JMS_E2E") == "1" {
			t.Fatalf("JMS_E2E=1 and %s is not set", env)
		}
		t.Skipf("set %s to run this test against a real %s server", env, e)
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
	return Target{Engine: e, Address: host, Port: p, User: u.User.Username(), Password: pw, Database: db}
}

func randomName(t *testing.T) string {
	t.Helper()
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "jt_" + hex.EncodeToString(b)
}

// admin runs statements as the admin, failing the test on an error.
func admin(t *testing.T, a Target, stmts ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, a, Options{})
	if err != nil {
		t.Fatalf("admin login: %v", err)
	}
	defer s.Close()
	for _, q := range stmts {
		for _, o := range s.Run(ctx, q) {
			if o.Err != nil {
				t.Fatalf("admin: %s: %v", q, o.Err)
			}
		}
	}
}

// fixture makes a fresh database and an account with a password that owns
// it, dropped when the test ends, and returns that account's target.
func fixture(t *testing.T, e Engine) Target {
	t.Helper()
	a := adminTarget(t, e)
	name := randomName(t)
	pw := "pw-" + name
	tg := a
	tg.User, tg.Password, tg.Database = name, pw, name
	if e == PostgreSQL {
		admin(t, a, "CREATE ROLE "+name+" LOGIN PASSWORD '"+pw+"'", "CREATE DATABASE "+name+" OWNER "+name)
		t.Cleanup(func() { admin(t, a, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)", "DROP ROLE IF EXISTS "+name) })
		return tg
	}
	admin(t, a, "CREATE DATABASE "+name, "CREATE USER '"+name+"'@'%' IDENTIFIED BY '"+pw+"'",
		"GRANT ALL ON "+name+".* TO '"+name+"'@'%'")
	t.Cleanup(func() { admin(t, a, "DROP DATABASE IF EXISTS "+name, "DROP USER IF EXISTS '"+name+"'@'%'") })
	return tg
}

// engines runs f once per engine as a subtest.
func engines(t *testing.T, f func(t *testing.T, e Engine)) {
	for _, e := range []Engine{MySQL, PostgreSQL} {
		t.Run(string(e), func(t *testing.T) { f(t, e) })
	}
}
