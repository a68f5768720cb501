package database

import (
	"database/sql"
	"encoding/json"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

func ns(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }

var null = sql.NullString{}

func TestWriteResultTable(t *testing.T) {
	res := &Result{Columns: []string{"id", "name"}, Rows: [][]sql.NullString{{ns("1"), ns("alice")}, {ns("2"), null}}, Count: 2}
	var b strings.Builder
	if err := WriteResult(&b, res, Table, 80); err != nil {
		t.Fatal(err)
	}
	want := " id | name\n----+-------\n 1  | alice\n 2  | NULL\n(2 rows) (0.000 sec)\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
}

func TestWideTableFitsTheWidth(t *testing.T) {
	long := strings.Repeat("x", 200)
	res := &Result{Columns: []string{"id", "body", "note"}, Rows: [][]sql.NullString{{ns("1"), ns(long), ns("short")}}, Count: 1}
	for _, width := range []int{80, 40} {
		var b strings.Builder
		if err := WriteResult(&b, res, Table, width); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
			if w := ansi.StringWidth(line); w > width {
				t.Errorf("width %d: line %d wide: %q", width, w, line)
			}
		}
		if !strings.Contains(b.String(), "…") || !strings.Contains(b.String(), "short") {
			t.Errorf("width %d: truncation lost the other columns:\n%s", width, b.String())
		}
	}
}

func TestManyColumnsGoVertical(t *testing.T) {
	var cols []string
	var row []sql.NullString
	for i := range 30 {
		cols = append(cols, "column_"+string(rune('a'+i%26)))
		row = append(row, ns(strings.Repeat("v", 30)))
	}
	res := &Result{Columns: cols, Rows: [][]sql.NullString{row}, Count: 1}
	var b strings.Builder
	if err := WriteResult(&b, res, Table, 80); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "1. row") {
		t.Fatalf("not vertical:\n%s", b.String())
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if ansi.StringWidth(line) > 80 {
			t.Errorf("line %d wide", ansi.StringWidth(line))
		}
	}
}

func TestControlCharactersNeverReachTheTerminal(t *testing.T) {
	res := &Result{Columns: []string{"x\x1b[2J"}, Rows: [][]sql.NullString{{ns("a\x1b]0;pwned\x07b\nc\x9b")}}, Count: 1}
	for _, f := range []Format{Table, Vertical} {
		var b strings.Builder
		if err := WriteResult(&b, res, f, 80); err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(b.String(), "\x1b\x07\u009b") {
			t.Errorf("format %d let a control character through: %q", f, b.String())
		}
		if !strings.Contains(b.String(), "b↵c") {
			t.Errorf("format %d: %q", f, b.String())
		}
	}
}

func TestWriteResultTSVAndJSON(t *testing.T) {
	res := &Result{Columns: []string{"a", "b"}, Rows: [][]sql.NullString{{ns("x\ty"), null}, {ns(`back\slash`), ns("l1\nl2")}}, Count: 3}
	var b strings.Builder
	if err := WriteResult(&b, res, TSV, 0); err != nil {
		t.Fatal(err)
	}
	if want := "a\tb\nx\\ty\tNULL\nback\\\\slash\tl1\\nl2\n"; b.String() != want {
		t.Errorf("TSV %q, want %q", b.String(), want)
	}
	b.Reset()
	if err := WriteResult(&b, res, JSON, 0); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Columns   []string
		Rows      [][]*string
		Count     int
		Truncated bool
	}
	if err := json.Unmarshal([]byte(b.String()), &got); err != nil {
		t.Fatalf("%v: %s", err, b.String())
	}
	if got.Count != 3 || !got.Truncated || got.Rows[0][1] != nil || *got.Rows[1][1] != "l1\nl2" {
		t.Errorf("JSON %s", b.String())
	}
	b.Reset()
	if err := WriteResult(&b, &Result{Affected: 2}, JSON, 0); err != nil || strings.TrimSpace(b.String()) != `{"count":0,"affected":2}` {
		t.Errorf("JSON of an update: %s %v", b.String(), err)
	}
}

func TestSummary(t *testing.T) {
	tests := []struct {
		res  *Result
		want string
	}{
		{&Result{Affected: 1}, "OK, 1 row affected (0.000 sec)"},
		{&Result{Tag: "INSERT 0 3", Affected: 3}, "INSERT 0 3 (0.000 sec)"},
		{&Result{Columns: []string{"a"}, Rows: make([][]sql.NullString, 2), Count: 5}, "(5 rows) (0.000 sec)\nonly the first 2 rows are shown"},
	}
	for _, tt := range tests {
		if got := Summary(tt.res); got != tt.want {
			t.Errorf("Summary = %q, want %q", got, tt.want)
		}
	}
}
