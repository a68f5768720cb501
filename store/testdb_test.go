package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for schema set-up
)

// The store's tests run on SQLite, then once more on PostgreSQL when
// JMS_TEST_POSTGRES names a database (a URL such as
// postgres://root@127.0.0.1:5432/test?sslmode=disable). There each test
// gets a schema of its own, dropped when it ends, so tests may run in
// parallel and leave nothing behind. Under JMS_E2E=1 (CI) a missing or
// unreachable PostgreSQL fails the run: it never skips.

// testEngine is the engine of the pass under way.
var testEngine = SQLite

// pgAdmin is the connection that makes and drops the tests' schemas.
var pgAdmin struct {
	url string
	db  *sql.DB
}

func TestMain(m *testing.M) {
	code := m.Run()
	pg := os.Getenv("JMS_TEST_POSTGRES")
	if pg == "" {
		if os.Getenv("JMS_E2E") == "1" {
			fmt.Fprintln(os.Stderr, "FAIL: JMS_E2E=1 and JMS_TEST_POSTGRES is not set: the store tests must also run on PostgreSQL (e.g. JMS_TEST_POSTGRES=postgres://root@127.0.0.1:5432/test?sslmode=disable)")
			code = 1
		}
		os.Exit(code)
	}
	if err := openPGAdmin(pg); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: JMS_TEST_POSTGRES: %v (start PostgreSQL, or unset JMS_TEST_POSTGRES)\n", err)
		os.Exit(1)
	}
	fmt.Println("=== the store tests again, on PostgreSQL (JMS_TEST_POSTGRES)")
	testEngine = PostgreSQL
	if c := m.Run(); c != 0 {
		code = c
	}
	pgAdmin.db.Close()
	os.Exit(code)
}

func openPGAdmin(raw string) error {
	loc, err := ParseLocation(raw)
	if err != nil {
		return err
	}
	if loc.Engine != PostgreSQL {
		return fmt.Errorf("%s is not a postgres:// URL", loc)
	}
	db, err := sql.Open("pgx", raw)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return fmt.Errorf("%s is unreachable: %w", loc, err)
	}
	pgAdmin.url, pgAdmin.db = raw, db
	return nil
}

// testSchemas maps a test's data directories to their PostgreSQL
// schemas, so that a test reopening dir reopens the same database.
var testSchemas sync.Map // dir -> database URL

// testDatabase returns where the store of a test's data directory dir
// lives: dir/jms.db on SQLite; on PostgreSQL a fresh schema of the test
// database (the same one for the same dir), dropped when t ends.
func testDatabase(t testing.TB, dir string) string {
	t.Helper()
	if testEngine != PostgreSQL {
		return filepath.Join(dir, "jms.db")
	}
	if u, ok := testSchemas.Load(dir); ok {
		return u.(string)
	}
	u := newTestSchema(t)
	testSchemas.Store(dir, u)
	t.Cleanup(func() { testSchemas.Delete(dir) })
	return u
}

// newTestSchema makes a schema, dropped when t ends, and returns the
// URL of the test database with that schema as its search path.
func newTestSchema(t testing.TB) string {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	schema := "jms_test_" + hex.EncodeToString(b)
	ctx := context.Background()
	if _, err := pgAdmin.db.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("make schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		if _, err := pgAdmin.db.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(pgAdmin.url)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// sqliteOnly skips a test of SQLite's own workings on the PostgreSQL pass.
func sqliteOnly(t testing.TB) {
	t.Helper()
	if testEngine != SQLite {
		t.Skip("checks SQLite's own workings; the SQLite pass runs it")
	}
}

// rawTestDB opens the database at where (from testDatabase) without the
// store: no migrations, queries rebound as the store's are.
func rawTestDB(t testing.TB, where string) *db {
	t.Helper()
	loc, err := ParseLocation(where)
	if err != nil {
		t.Fatal(err)
	}
	var pool *sql.DB
	if loc.Engine == PostgreSQL {
		pool, err = sql.Open("pgx", loc.url)
	} else {
		pool, err = sql.Open("sqlite", "file:"+escapeURIPath(loc.Path))
	}
	if err != nil {
		t.Fatal(err)
	}
	return &db{DB: pool, d: newDialect(loc.Engine)}
}
