package pgproxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jms-bastion/jms/bastion/database"
	"github.com/jms-bastion/jms/bastion/database/dbtest"
	"github.com/jms-bastion/jms/bastion/filter"
)

type auditLog struct {
	mu   sync.Mutex
	recs []database.StatementRecord
}

func (a *auditLog) Statement(_ context.Context, r database.StatementRecord) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.recs = append(a.recs, r)
}

func (a *auditLog) find(text string) (database.StatementRecord, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.recs {
		if r.Text == text {
			return r, true
		}
	}
	return database.StatementRecord{}, false
}

// serve runs p on a fresh local port, as the SSH forward would hand it
// connections, and returns the port.
func serve(t *testing.T, p *Proxy) int { return serveB(t, p) }

func serveB(t testing.TB, p *Proxy) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); _ = p.Serve(ctx, c) }()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

func setup(t *testing.T) (*Proxy, *auditLog, dbtest.Server) {
	t.Helper()
	s := dbtest.Fixture(t, "postgresql")
	audit := &auditLog{}
	rules := database.NewRuleSet([]database.Rule{
		{ID: 1, Name: "no-drop", Action: filter.Deny, Priority: 50, Statements: []string{"DROP", "TRUNCATE"}},
		{ID: 2, Name: "updates", Action: filter.Warn, Priority: 50, Statements: []string{"UPDATE"}},
	})
	p := &Proxy{
		Target: database.Target{Engine: database.PostgreSQL, Address: s.Host, Port: s.Port, User: s.User, Password: s.Password, Database: s.Database},
		Hooks:  database.Hooks{Judge: database.RuleJudge{Rules: rules}, Audit: audit},
	}
	dbtest.Exec(t, s, "CREATE TABLE t (id int)", "INSERT INTO t VALUES (1), (2)")
	return p, audit, s
}

func needPsql(t *testing.T) {
	t.Helper()
	dbtest.Client(t, "psql", "postgresql", "apt-get install -y postgresql-client")
}

// psql runs the real client against the proxy: any user, any password.
func psql(t *testing.T, port int, sslmode string, env []string, args ...string) (string, error) {
	t.Helper()
	conn := fmt.Sprintf("host=127.0.0.1 port=%d user=alice sslmode=%s connect_timeout=20", port, sslmode)
	cmd := exec.Command("psql", append([]string{"-X", "-v", "ON_ERROR_STOP=1", "-At", conn}, args...)...)
	cmd.Env = append(os.Environ(), append([]string{"PGPASSWORD=anything"}, env...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestPsqlThroughTheProxy(t *testing.T) {
	needPsql(t)
	p, audit, _ := setup(t)
	port := serve(t, p)

	out, err := psql(t, port, "disable", nil, "-c", "SELECT count(*) FROM t")
	if err != nil || strings.TrimSpace(out) != "2" {
		t.Fatalf("SELECT: %v\n%s", err, out)
	}
	out, err = psql(t, port, "disable", nil, "-c", "DROP TABLE t")
	if err == nil || !strings.Contains(out, `ERROR:  jms: DROP statement denied by filter "no-drop"`) {
		t.Fatalf("DROP: %v\n%s", err, out)
	}
	out, err = psql(t, port, "disable", nil, "-c", "SELECT 1; /* x */ truncate t")
	if err == nil || !strings.Contains(out, "TRUNCATE statement denied") {
		t.Fatalf("batch with TRUNCATE: %v\n%s", err, out)
	}
	// psql sends a script statement by statement: the denial stops it.
	out, err = psql(t, port, "disable", nil, "-c", "SELECT count(*) FROM t")
	if err != nil || strings.TrimSpace(out) != "2" {
		t.Fatalf("the table changed: %v\n%s", err, out)
	}
	out, err = psql(t, port, "disable", nil, "-c", "UPDATE t SET id = id")
	if err != nil || !strings.Contains(out, `WARNING:  jms: UPDATE statement flagged by filter "updates"`) || !strings.Contains(out, "UPDATE 2") {
		t.Fatalf("UPDATE: %v\n%s", err, out)
	}
	if r, ok := audit.find("DROP TABLE t"); !ok || r.Ran || r.Verdict.Action != filter.Deny || r.Source != "pg-proxy" {
		t.Errorf("audit of the DROP: %+v %v", r, ok)
	}
	if r, ok := audit.find("SELECT count(*) FROM t"); !ok || !r.Ran || r.Rows != 1 {
		t.Errorf("audit of the SELECT: %+v %v", r, ok)
	}
}

func TestPsqlAskingForTLS(t *testing.T) {
	needPsql(t)
	p, _, _ := setup(t)
	port := serve(t, p)
	out, err := psql(t, port, "prefer", nil, "-c", "SELECT 'in'")
	if err != nil || !strings.Contains(out, "SSH tunnel") || !strings.Contains(out, "in") {
		t.Errorf("sslmode=prefer: %v\n%s", err, out)
	}
	out, err = psql(t, port, "require", nil, "-c", "SELECT 1")
	if err == nil || !strings.Contains(out, "does not support SSL") {
		t.Errorf("sslmode=require: %v\n%s", err, out)
	}
}

func TestClientAuthHook(t *testing.T) {
	needPsql(t)
	p, _, _ := setup(t)
	p.ClientAuth = func(_ context.Context, user, password string) error {
		if user == "alice" && password == "token-123" {
			return nil
		}
		return errors.New("bad token")
	}
	port := serve(t, p)
	if out, err := psql(t, port, "disable", []string{"PGPASSWORD=token-123"}, "-c", "SELECT 7"); err != nil || strings.TrimSpace(out) != "7" {
		t.Errorf("good token: %v\n%s", err, out)
	}
	if out, err := psql(t, port, "disable", []string{"PGPASSWORD=nope"}, "-c", "SELECT 7"); err == nil || !strings.Contains(out, "password authentication failed") {
		t.Errorf("bad token: %v\n%s", err, out)
	}
}

func TestWrongStoredPassword(t *testing.T) {
	needPsql(t)
	p, _, _ := setup(t)
	p.Target.User = dbtest.Name(t) // trust auth: a missing role is how a bad account shows
	port := serve(t, p)
	out, err := psql(t, port, "disable", nil, "-c", "SELECT 1")
	if err == nil || !strings.Contains(out, "the bastion could not log in to the database") || !strings.Contains(out, "does not exist") {
		t.Errorf("%v\n%s", err, out)
	}
}

// TestExtendedProtocol drives Parse/Bind/Execute with pgx: a denied Parse
// fails in its place in the pipeline, and the connection stays usable.
func TestExtendedProtocol(t *testing.T) {
	p, audit, s := setup(t)
	port := serve(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := pgconn.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d user=bob password=x dbname=%s sslmode=disable", port, s.Database))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	res := conn.ExecParams(ctx, "SELECT id FROM t WHERE id > $1 ORDER BY id", [][]byte{[]byte("0")}, nil, nil, nil).Read()
	if res.Err != nil || len(res.Rows) != 2 {
		t.Fatalf("select: %v %d rows", res.Err, len(res.Rows))
	}
	_, err = conn.Prepare(ctx, "dropper", "DROP TABLE t", nil)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42501" || !strings.Contains(pe.Message, "denied") {
		t.Fatalf("prepare DROP: %v", err)
	}
	res = conn.ExecParams(ctx, "DROP TABLE t", nil, nil, nil, nil).Read()
	if !errors.As(res.Err, &pe) || pe.Code != "42501" {
		t.Fatalf("exec DROP: %v", res.Err)
	}
	// A pipeline: the denied statement fails in its place, the one before runs.
	batch := &pgconn.Batch{}
	batch.ExecParams("INSERT INTO t VALUES (3)", nil, nil, nil, nil)
	batch.ExecParams("TRUNCATE t", nil, nil, nil, nil)
	results, err := conn.ExecBatch(ctx, batch).ReadAll()
	if !errors.As(err, &pe) || pe.Code != "42501" || len(results) == 0 || results[0].Err != nil {
		t.Fatalf("batch: %v %+v", err, results)
	}
	res = conn.ExecParams(ctx, "SELECT count(*) FROM current_database(), t", nil, nil, nil, nil).Read()
	if res.Err != nil || string(res.Rows[0][0]) != "2" {
		t.Fatalf("after the batch: %v %q (the batch is one transaction: its INSERT rolled back with the denial)", res.Err, res.Rows)
	}
	if r, ok := audit.find("SELECT id FROM t WHERE id > $1 ORDER BY id"); !ok || !r.Ran || r.Rows != 2 {
		t.Errorf("audit of the extended select: %+v %v", r, ok)
	}
}

// TestReviewThroughTheProxy: a statement a review filter holds waits for
// the reviewer; approved it runs, rejected it fails as a denial.
func TestReviewThroughTheProxy(t *testing.T) {
	needPsql(t)
	p, audit, _ := setup(t)
	approve := map[string]bool{"DELETE FROM t WHERE id = 1": true}
	p.Judge = database.RuleJudge{
		Rules: database.NewRuleSet([]database.Rule{{ID: 3, Name: "deletes", Action: filter.Review, Priority: 1, Statements: []string{"DELETE"}}}),
		Review: func(_ context.Context, st database.Statement, _ database.Verdict) (bool, int64, error) {
			return approve[st.Text], 42, nil
		},
	}
	port := serve(t, p)
	if out, err := psql(t, port, "disable", nil, "-c", "DELETE FROM t WHERE id = 1"); err != nil || !strings.Contains(out, "DELETE 1") {
		t.Fatalf("approved: %v\n%s", err, out)
	}
	if out, err := psql(t, port, "disable", nil, "-c", "DELETE FROM t"); err == nil || !strings.Contains(out, "rejected (ticket 42)") {
		t.Fatalf("rejected: %v\n%s", err, out)
	}
	if r, ok := audit.find("DELETE FROM t WHERE id = 1"); !ok || !r.Ran || r.Rows != 1 || r.Verdict.Ticket != 42 {
		t.Errorf("audit of the approved DELETE: %+v %v", r, ok)
	}
}
