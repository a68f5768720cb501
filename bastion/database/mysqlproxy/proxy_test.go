package mysqlproxy

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/go-sql-driver/mysql"
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
	s := dbtest.Fixture(t, "mysql")
	audit := &auditLog{}
	rules := database.NewRuleSet([]database.Rule{
		{ID: 1, Name: "no-drop", Action: filter.Deny, Priority: 50, Statements: []string{"DROP", "TRUNCATE"}},
	})
	p := &Proxy{
		Target: database.Target{Engine: database.MySQL, Address: s.Host, Port: s.Port, User: s.User, Password: s.Password, Database: s.Database},
		Hooks:  database.Hooks{Judge: database.RuleJudge{Rules: rules}, Audit: audit},
	}
	dbtest.Exec(t, s, "CREATE TABLE t (id int)", "INSERT INTO t VALUES (1), (2)")
	return p, audit, s
}

func needMysql(t *testing.T) {
	t.Helper()
	dbtest.Client(t, "mysql", "mysql", "apt-get install -y mariadb-client")
}

// mysqlCLI runs the real client against the proxy, as alice with any password.
func mysqlCLI(t *testing.T, port int, args ...string) (string, error) {
	t.Helper()
	base := []string{"--no-defaults", "--protocol=tcp", "-h", "127.0.0.1", "-P", fmt.Sprint(port), "-u", "alice", "-panything", "-N", "-B"}
	out, err := exec.Command("mysql", append(base, args...)...).CombinedOutput()
	return string(out), err
}

func TestMysqlClientThroughTheProxy(t *testing.T) {
	needMysql(t)
	p, audit, _ := setup(t)
	port := serve(t, p)
	out, err := mysqlCLI(t, port, "-e", "SELECT count(*) FROM t")
	if err != nil || strings.TrimSpace(out) != "2" {
		t.Fatalf("SELECT: %v\n%s", err, out)
	}
	out, err = mysqlCLI(t, port, "-e", "DROP TABLE t")
	if err == nil || !strings.Contains(out, `ERROR 1227 (42000) at line 1: jms: DROP statement denied by filter "no-drop"`) {
		t.Fatalf("DROP: %v\n%s", err, out)
	}
	out, err = mysqlCLI(t, port, "-e", "INSERT INTO t VALUES (3); /*!50000 TRUNCATE t */; INSERT INTO t VALUES (4)")
	if err == nil || !strings.Contains(out, "TRUNCATE statement denied") {
		t.Fatalf("script: %v\n%s", err, out)
	}
	out, err = mysqlCLI(t, port, "-e", "SELECT group_concat(id ORDER BY id) FROM t; SHOW TABLES")
	if err != nil || strings.TrimSpace(out) != "1,2,3\nt" {
		t.Fatalf("after: %v\n%q", err, out)
	}
	if r, ok := audit.find("DROP TABLE t"); !ok || r.Ran || r.Verdict.Action != filter.Deny || r.Source != "mysql-proxy" {
		t.Errorf("audit of the DROP: %+v %v", r, ok)
	}
	if r, ok := audit.find("SELECT count(*) FROM t"); !ok || !r.Ran || r.Rows != 1 {
		t.Errorf("audit of the SELECT: %+v %v", r, ok)
	}
	if r, ok := audit.find("INSERT INTO t VALUES (3)"); !ok || !r.Ran || r.Rows != 1 {
		t.Errorf("audit of the INSERT: %+v %v", r, ok)
	}
}

func TestMysqlClientAskingForTLS(t *testing.T) {
	needMysql(t)
	p, _, _ := setup(t)
	port := serve(t, p)
	out, err := mysqlCLI(t, port, "--ssl-verify-server-cert", "-e", "SELECT 1")
	if err == nil || !strings.Contains(strings.ToLower(out), "ssl") {
		t.Errorf("--ssl-verify-server-cert: %v\n%s", err, out)
	}
}

func TestWrongStoredPassword(t *testing.T) {
	needMysql(t)
	p, _, _ := setup(t)
	p.Target.Password = "wrong"
	port := serve(t, p)
	out, err := mysqlCLI(t, port, "-e", "SELECT 1")
	if err == nil || !strings.Contains(out, "jms: the bastion could not log in to the database") || !strings.Contains(out, "Access denied") || strings.Contains(out, "wrong") {
		t.Errorf("%v\n%s", err, out)
	}
}

// TestDriverThroughTheProxy uses go-sql-driver: multi-statements judged
// whole, prepared statements (binary protocol) judged at prepare.
func TestDriverThroughTheProxy(t *testing.T) {
	p, audit, s := setup(t)
	port := serve(t, p)
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = "bob", "x", "tcp", fmt.Sprintf("127.0.0.1:%d", port), s.Database
	cfg.MultiStatements = true
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	db.SetMaxOpenConns(1)

	var ids []int
	rows, err := db.Query("SELECT id FROM t WHERE id > ? ORDER BY id", 0)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if fmt.Sprint(ids) != "[1 2]" {
		t.Fatalf("ids %v", ids)
	}
	if _, err := db.Exec("DELETE FROM t WHERE id = ?; DROP TABLE t", 1); err == nil || !strings.Contains(err.Error(), "denied") {
		t.Fatalf("prepared DROP: %v", err)
	}
	if _, err := db.Exec("SELECT 1; DROP TABLE t"); err == nil || !strings.Contains(err.Error(), "Error 1227") {
		t.Fatalf("multi-statement DROP: %v", err)
	}
	res, err := db.Exec("UPDATE t SET id = id + 10; UPDATE t SET id = id + 10 WHERE id = 11")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 2 && n != 1 {
		t.Errorf("affected %d", n)
	}
	var sum int
	if err := db.QueryRow("SELECT sum(id) FROM t").Scan(&sum); err != nil || sum != 1+2+20+10 {
		t.Errorf("sum %d %v", sum, err)
	}
	if r, ok := audit.find("SELECT id FROM t WHERE id > ? ORDER BY id"); !ok || !r.Ran || r.Rows != 2 {
		t.Errorf("audit of the prepared select: %+v %v", r, ok)
	}
	if r, ok := audit.find("UPDATE t SET id = id + 10 WHERE id = 11"); !ok || !r.Ran || r.Rows != 1 {
		t.Errorf("audit of the second update: %+v %v", r, ok)
	}
}

// TestInteractiveClient runs mysql on a terminal (script(1) gives it one):
// with a database named it reads every table's columns for completion
// (COM_FIELD_LIST) before the prompt.
func TestInteractiveClient(t *testing.T) {
	needMysql(t)
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("script(1) is not installed")
	}
	p, _, s := setup(t)
	port := serve(t, p)
	cmdline := fmt.Sprintf("mysql --no-defaults --protocol=tcp -h 127.0.0.1 -P %d -u alice -px %s", port, s.Database)
	cmd := exec.Command("script", "-qec", cmdline, "/dev/null")
	cmd.Stdin = strings.NewReader("SELECT id * 100 FROM t ORDER BY id;\nDROP TABLE t;\nSHOW TABLES;\nquit\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"      100 |", "      200 |", "jms: DROP statement denied", "Tables_in_" + s.Database} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestClientAuthHook(t *testing.T) {
	needMysql(t)
	p, _, _ := setup(t)
	p.ClientAuth = func(_ context.Context, user string, matches func(string) bool) error {
		if user == "alice" && matches("token-123") {
			return nil
		}
		return fmt.Errorf("bad token")
	}
	port := serve(t, p)
	run := func(pw string) (string, error) {
		base := []string{"--no-defaults", "--protocol=tcp", "-h", "127.0.0.1", "-P", fmt.Sprint(port), "-u", "alice", "-p" + pw, "-N", "-B"}
		out, err := exec.Command("mysql", append(base, "-e", "SELECT 7")...).CombinedOutput()
		return string(out), err
	}
	if out, err := run("token-123"); err != nil || strings.TrimSpace(out) != "7" {
		t.Errorf("good token: %v\n%s", err, out)
	}
	if out, err := run("nope"); err == nil || !strings.Contains(out, "ERROR 1045 (28000): jms: access denied for user 'alice'") {
		t.Errorf("bad token: %v\n%s", err, out)
	}
}

// TestReviewThroughTheProxy: approved, the held statement runs; rejected,
// the client gets the denial.
func TestReviewThroughTheProxy(t *testing.T) {
	needMysql(t)
	p, _, _ := setup(t)
	p.Judge = database.RuleJudge{
		Rules: database.NewRuleSet([]database.Rule{{ID: 3, Name: "deletes", Action: filter.Review, Priority: 1, Statements: []string{"DELETE"}}}),
		Review: func(_ context.Context, st database.Statement, _ database.Verdict) (bool, int64, error) {
			return st.Text == "DELETE FROM t WHERE id = 1", 42, nil
		},
	}
	port := serve(t, p)
	if out, err := mysqlCLI(t, port, "-e", "DELETE FROM t WHERE id = 1; SELECT count(*) FROM t"); err != nil || strings.TrimSpace(out) != "1" {
		t.Fatalf("approved: %v\n%s", err, out)
	}
	if out, err := mysqlCLI(t, port, "-e", "DELETE FROM t"); err == nil || !strings.Contains(out, "rejected (ticket 42)") {
		t.Fatalf("rejected: %v\n%s", err, out)
	}
}
