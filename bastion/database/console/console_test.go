package console

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jms-bastion/jms/bastion/database"
	"github.com/jms-bastion/jms/bastion/database/dbtest"
	"github.com/jms-bastion/jms/bastion/filter"
)

func session(t *testing.T, engine string) *database.Session {
	t.Helper()
	s := dbtest.Fixture(t, engine)
	tg := database.Target{Engine: database.Engine(s.Engine), Address: s.Host, Port: s.Port, User: s.User, Password: s.Password, Database: s.Database}
	rules := database.NewRuleSet([]database.Rule{{ID: 1, Name: "no-drop", Action: filter.Deny, Priority: 50, Statements: []string{"DROP"}}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sess, err := database.Open(ctx, tg, database.Options{Judge: database.RuleJudge{Rules: rules}, Source: "console"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	return sess
}

func engines(t *testing.T, f func(t *testing.T, engine string)) {
	for _, e := range []string{"mysql", "postgresql"} {
		t.Run(e, func(t *testing.T) { f(t, e) })
	}
}

// lines is a LineReader over fixed lines, recording the prompts.
type lines struct {
	in      []string
	prompts []string
}

func (l *lines) SetPrompt(p string) { l.prompts = append(l.prompts, p) }

func (l *lines) ReadLine() (string, error) {
	if len(l.in) == 0 {
		return "", io.EOF
	}
	s := l.in[0]
	l.in = l.in[1:]
	return s, nil
}

func TestConsoleSession(t *testing.T) {
	engines(t, func(t *testing.T, engine string) {
		s := session(t, engine)
		var out bytes.Buffer
		c := New(s, &out, "db1", nil)
		lr := &lines{in: []string{
			"CREATE TABLE people (id int, name varchar(20));",
			"INSERT INTO people VALUES",
			"  (1, 'semi;colon'),",
			"  (2, 'two');",
			"SELECT id, name",
			"FROM people ORDER BY id;",
			`SELECT name FROM people WHERE id = 2\G`,
			"DROP TABLE people; SELECT 'after the drop';",
			`\d`,
			`\d people`,
			`\x`,
			"SELECT 1 AS one;",
			`\bogus`,
			"SELECT * FROM nosuch;",
			"SELECT 'half",
			`\q`,
			"SELECT 'never read';",
		}}
		if err := c.Loop(context.Background(), lr); err != nil {
			t.Fatal(err)
		}
		got := out.String()
		for _, want := range []string{
			"Connected to db1 (" + engine,
			" 1  | semi;colon\n 2  | two\n(2 rows)",
			"name: two",
			`Denied: DROP statement denied by filter "no-drop"`,
			"people",
			"Unknown console command \\bogus",
			"one: 1",
			"nosuch",
			"Bye",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("output lacks %q:\n%s", want, got)
			}
		}
		if strings.Contains(got, "after the drop") || strings.Contains(got, "never read") {
			t.Errorf("ran past the denial or the \\q:\n%s", got)
		}
		// The multi-line INSERT and SELECT got the continuation prompt.
		if !strings.Contains(strings.Join(lr.prompts, "|"), "db1> |  -> |  -> |db1> ") {
			t.Errorf("prompts %q", lr.prompts)
		}
	})
}

func TestExec(t *testing.T) {
	engines(t, func(t *testing.T, engine string) {
		s := session(t, engine)
		var out, errOut bytes.Buffer
		code := Exec(context.Background(), s, "SELECT 1 AS a, NULL AS b; SELECT 'x\ty' AS c", database.TSV, &out, &errOut)
		if code != 0 || out.String() != "a\tb\n1\tNULL\nc\nx\\ty\n" || errOut.Len() != 0 {
			t.Errorf("exit %d, out %q, err %q", code, out.String(), errOut.String())
		}
		out.Reset()
		code = Exec(context.Background(), s, "SELECT 1; DROP TABLE x; SELECT 2", database.JSON, &out, &errOut)
		if code != 1 || !strings.Contains(errOut.String(), "Denied:") || strings.Count(out.String(), "\n") != 1 {
			t.Errorf("exit %d, out %q, err %q", code, out.String(), errOut.String())
		}
		errOut.Reset()
		if code := Exec(context.Background(), s, "SELECT * FROM nosuch", database.TSV, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "ERROR") {
			t.Errorf("exit %d, err %q", code, errOut.String())
		}
	})
}

// TestLineEditor drives the console through golang.org/x/term as a PTY
// would: carriage returns end lines, output gets \r\n.
func TestLineEditor(t *testing.T) {
	s := session(t, "postgresql")
	in := strings.NewReader("SELECT 40 +\r2 AS answer;\rSELECT 'dropped\x03SELECT 'kept' AS k;\r\\q\r")
	var out bytes.Buffer
	ed := NewLineEditor(struct {
		io.Reader
		io.Writer
	}{in, &out}, 80, 24)
	c := New(s, ed, "pg1", nil)
	if err := c.Loop(context.Background(), ed); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), " answer\r\n--------\r\n 42\r\n") || !strings.Contains(out.String(), "^C") ||
		!strings.Contains(out.String(), " kept\r\n") || strings.Contains(out.String(), "dropped'") {
		t.Errorf("output %q", out.String())
	}
}
