package database

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jms-bastion/jms/bastion/filter"
)

// auditLog collects records.
type auditLog struct {
	mu   sync.Mutex
	recs []StatementRecord
}

func (a *auditLog) Statement(_ context.Context, r StatementRecord) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.recs = append(a.recs, r)
}

func open(t *testing.T, tg Target, o Options) *Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, tg, o)
	if err != nil {
		t.Fatalf("Open(%s): %v", tg, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustRun(t *testing.T, s *Session, q string) *Result {
	t.Helper()
	outs := s.Run(context.Background(), q)
	if len(outs) == 0 {
		t.Fatalf("%s: no statement", q)
	}
	last := outs[len(outs)-1]
	if last.Err != nil {
		t.Fatalf("%s: %v", q, last.Err)
	}
	return last.Result
}

func TestVersion(t *testing.T) {
	engines(t, func(t *testing.T, e Engine) {
		tg := fixture(t, e)
		v, err := Test(context.Background(), tg)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^\d+\.\d+`).MatchString(v) {
			t.Errorf("version %q", v)
		}
		t.Logf("%s server version %s", e, v)
	})
}

func TestWrongPasswordIsClear(t *testing.T) {
	tg := fixture(t, MySQL)
	tg.Password = "wrong"
	_, err := Test(context.Background(), tg)
	var se *ServerError
	if !errors.As(err, &se) || se.Code != "1045" {
		t.Fatalf("err = %v, want a server error 1045", err)
	}
	if !strings.Contains(err.Error(), "Access denied for user") || strings.Contains(err.Error(), "wrong") {
		t.Errorf("err = %q", err)
	}
}

func TestUnknownRoleIsClear(t *testing.T) {
	tg := adminTarget(t, PostgreSQL)
	tg.User = randomName(t)
	_, err := Test(context.Background(), tg)
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("err = %v", err)
	}
}

func TestDeniedStatementNeverReachesTheServer(t *testing.T) {
	engines(t, func(t *testing.T, e Engine) {
		tg := fixture(t, e)
		rules := NewRuleSet([]Rule{{ID: 1, Name: "no-drop", Action: filter.Deny, Priority: 50, Statements: []string{"DROP", "TRUNCATE"}}})
		audit := &auditLog{}
		s := open(t, tg, Options{Judge: RuleJudge{Rules: rules}, Audit: audit, Source: "console"})
		mustRun(t, s, "CREATE TABLE t (id int)")
		outs := s.Run(context.Background(), "INSERT INTO t VALUES (1); /* hi */ DROP TABLE t; INSERT INTO t VALUES (2)")
		if len(outs) != 2 || outs[0].Err != nil || !IsDenied(outs[1].Err) {
			t.Fatalf("outcomes %+v", outs)
		}
		if !strings.Contains(outs[1].Err.Error(), `denied by filter "no-drop"`) {
			t.Errorf("denial %q", outs[1].Err)
		}
		res := mustRun(t, s, "SELECT count(*) FROM t")
		if got := res.Rows[0][0].String; got != "1" {
			t.Errorf("rows in t = %s, want 1 (the DROP and what followed never ran)", got)
		}
		if len(audit.recs) != 4 {
			t.Fatalf("audit has %d records", len(audit.recs))
		}
		drop := audit.recs[2]
		if drop.Ran || drop.Verdict.Action != filter.Deny || drop.Kind != "DROP" || drop.Source != "console" {
			t.Errorf("audit of the drop: %+v", drop)
		}
		if ins := audit.recs[1]; !ins.Ran || ins.Rows != 1 {
			t.Errorf("audit of the insert: %+v", ins)
		}
	})
}

func TestResultsAreBounded(t *testing.T) {
	engines(t, func(t *testing.T, e Engine) {
		tg := fixture(t, e)
		audit := &auditLog{}
		s := open(t, tg, Options{MaxRows: 10, Audit: audit})
		q := "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM s WHERE n < 25) SELECT n FROM s"
		res := mustRun(t, s, q)
		if len(res.Rows) != 10 || res.Count != 25 || !res.Truncated() {
			t.Errorf("kept %d of %d rows", len(res.Rows), res.Count)
		}
		if audit.recs[0].Rows != 25 {
			t.Errorf("audit counts %d rows", audit.recs[0].Rows)
		}
		// The connection is usable after the rows left out were drained.
		if got := mustRun(t, s, "SELECT 42").Rows[0][0].String; got != "42" {
			t.Errorf("next query gave %s", got)
		}
	})
}

func TestServerErrorsAsTheServerGaveThem(t *testing.T) {
	engines(t, func(t *testing.T, e Engine) {
		tg := fixture(t, e)
		s := open(t, tg, Options{})
		outs := s.Run(context.Background(), "SELECT * FROM nosuch; SELECT 1")
		if len(outs) != 1 {
			t.Fatalf("%d outcomes: the statement after an error ran", len(outs))
		}
		want := map[Engine]string{
			MySQL:      "ERROR 1146 (42S02): Table '" + tg.Database + ".nosuch' doesn't exist",
			PostgreSQL: `ERROR:  relation "nosuch" does not exist`,
		}[e]
		if got := outs[0].Err.Error(); got != want {
			t.Errorf("error %q, want %q", got, want)
		}
	})
}

func TestSessionStateAndAffectedRows(t *testing.T) {
	engines(t, func(t *testing.T, e Engine) {
		tg := fixture(t, e)
		s := open(t, tg, Options{})
		mustRun(t, s, "CREATE TABLE t (id int, name varchar(20))")
		mustRun(t, s, "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, NULL)")
		if res := mustRun(t, s, "UPDATE t SET name = 'z' WHERE id < 3"); res.Affected != 2 {
			t.Errorf("UPDATE affected %d", res.Affected)
		}
		mustRun(t, s, "BEGIN")
		mustRun(t, s, "DELETE FROM t")
		mustRun(t, s, "ROLLBACK")
		res := mustRun(t, s, "SELECT id, name FROM t ORDER BY id")
		if res.Count != 3 || res.Rows[2][1].Valid {
			t.Errorf("after rollback: %+v", res.Rows)
		}
	})
}

func TestHelpers(t *testing.T) {
	engines(t, func(t *testing.T, e Engine) {
		tg := fixture(t, e)
		s := open(t, tg, Options{})
		mustRun(t, s, "CREATE TABLE people (id int NOT NULL, name varchar(20))")
		for _, line := range []string{`\d`, `\d people`, `\l`, "SHOW TABLES", "DESCRIBE people"} {
			q, ok, err := Helper(e, line)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			if !ok {
				q = line // MySQL runs SHOW TABLES and DESCRIBE itself
			}
			res := mustRun(t, s, q)
			var b strings.Builder
			if err := WriteResult(&b, res, Table, 80); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{`\d`: "people", `\d people`: "name", `\l`: tg.Database, "SHOW TABLES": "people", "DESCRIBE people": "name"}[line]
			if !strings.Contains(b.String(), want) {
				t.Errorf("%s:\n%s\nwant %q in it", line, b.String(), want)
			}
		}
	})
}

// TestInterrupt stops a long statement from another goroutine, as Ctrl-C in
// the console does; the session stays usable.
func TestInterrupt(t *testing.T) {
	engines(t, func(t *testing.T, e Engine) {
		tg := fixture(t, e)
		s := open(t, tg, Options{})
		q := map[Engine]string{MySQL: "SELECT SLEEP(60)", PostgreSQL: "SELECT pg_sleep(60)"}[e]
		done := make(chan []Outcome)
		go func() { done <- s.Run(context.Background(), q) }()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		var outs []Outcome
	wait:
		for {
			select {
			case outs = <-done:
				break wait
			case <-tick.C:
				// Until the statement is running, an interrupt finds nothing to stop.
				if err := s.Interrupt(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
		}
		switch e {
		case PostgreSQL:
			if outs[0].Err == nil || !strings.Contains(outs[0].Err.Error(), "canceling statement") {
				t.Errorf("outcome %+v", outs[0])
			}
		case MySQL: // SLEEP() interrupted returns 1 rather than failing
			if outs[0].Err == nil && outs[0].Result.Rows[0][0].String != "1" {
				t.Errorf("outcome %+v", outs[0])
			}
		}
		if got := mustRun(t, s, "SELECT 5").Rows[0][0].String; got != "5" {
			t.Errorf("after the interrupt: %s", got)
		}
	})
}
