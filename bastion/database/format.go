package database

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// Format is how a result is written.
type Format int

// The formats. Table falls back to Vertical when the columns cannot fit the
// width even truncated.
const (
	Table    Format = iota + 1 // aligned columns, cells truncated to fit the width
	Vertical                   // one "column: value" line per column, as mysql's \G
	TSV                        // header and rows, tab-separated, \t \n \\ escaped, NULL as NULL
	JSON                       // one JSON object per statement
)

// ParseFormat reads a format name: table, vertical, tsv, json.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "table", "":
		return Table, nil
	case "vertical":
		return Vertical, nil
	case "tsv":
		return TSV, nil
	case "json":
		return JSON, nil
	}
	return 0, fmt.Errorf("unknown result format %q (want table, vertical, tsv or json)", s)
}

// minCell is the narrowest a truncated table column gets before the table
// turns vertical.
const minCell = 4

// nullText is how NULL shows in tables and TSV.
const nullText = "NULL"

// WriteResult writes res in format f for a terminal width columns wide
// (0: 80). Table and Vertical end with a summary line; TSV and JSON carry
// data only.
func WriteResult(w io.Writer, res *Result, f Format, width int) error {
	if width <= 0 {
		width = 80
	}
	bw := bufio.NewWriter(w)
	switch f {
	case TSV:
		writeTSV(bw, res)
	case JSON:
		if err := writeJSON(bw, res); err != nil {
			return err
		}
	case Vertical:
		writeVertical(bw, res, width)
		fmt.Fprintln(bw, Summary(res))
	default:
		if !writeTable(bw, res, width) {
			writeVertical(bw, res, width)
		}
		fmt.Fprintln(bw, Summary(res))
	}
	return bw.Flush()
}

// Summary is the line after a result: its row count (and how many were
// kept) or the rows affected, and the time taken.
func Summary(res *Result) string {
	took := fmt.Sprintf("(%.3f sec)", res.Duration.Round(time.Millisecond).Seconds())
	if !res.HasRows() {
		if res.Tag != "" {
			return res.Tag + " " + took
		}
		return fmt.Sprintf("OK, %s affected %s", plural(res.Affected, "row"), took)
	}
	s := fmt.Sprintf("(%s) %s", plural(res.Count, "row"), took)
	if res.Truncated() {
		s += fmt.Sprintf("\nonly the first %d rows are shown", len(res.Rows))
	}
	return s
}

func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// cellText makes a value safe and one line for a terminal: control
// characters (escape sequences from the data must not reach the user's
// terminal) become ?, a line break ↵, a tab a space.
func cellText(v sql.NullString) string {
	if !v.Valid {
		return nullText
	}
	return clean(v.String)
}

func clean(s string) string {
	s = strings.ToValidUTF8(s, "?")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return '↵'
		case r == '\t':
			return ' '
		case r < 0x20 || r >= 0x7f && r < 0xa0:
			return '?'
		}
		return r
	}, s)
}

// writeTable writes an aligned table fitted to width; false when even the
// narrowest columns do not fit (the caller goes vertical).
func writeTable(w io.Writer, res *Result, width int) bool {
	n := len(res.Columns)
	if n == 0 {
		return true
	}
	cells := make([][]string, 0, len(res.Rows)+1)
	head := make([]string, n)
	for i, c := range res.Columns {
		head[i] = clean(c)
	}
	cells = append(cells, head)
	for _, r := range res.Rows {
		row := make([]string, n)
		for i := range row {
			if i < len(r) {
				row[i] = cellText(r[i])
			}
		}
		cells = append(cells, row)
	}
	widths, ok := fitWidths(naturalWidths(cells, n), width-3*(n-1)-2)
	if !ok {
		return false
	}
	for i, row := range cells {
		writeRow(w, row, widths)
		if i == 0 {
			seps := make([]string, n)
			for j, wd := range widths {
				seps[j] = strings.Repeat("-", wd+2)
			}
			fmt.Fprintln(w, strings.Join(seps, "+"))
		}
	}
	return true
}

func naturalWidths(cells [][]string, n int) []int {
	widths := make([]int, n)
	for _, row := range cells {
		for i, c := range row {
			widths[i] = max(widths[i], ansi.StringWidth(c))
		}
	}
	return widths
}

// fitWidths caps the widest columns so that they add up to budget at most;
// ok is false when budget cannot give each column minCell.
func fitWidths(widths []int, budget int) ([]int, bool) {
	total := 0
	for _, w := range widths {
		total += w
	}
	if total <= budget {
		return widths, true
	}
	if budget < len(widths)*minCell {
		return nil, false
	}
	// Lower a common cap until the capped widths fit.
	lo, hi := minCell, 0
	for _, w := range widths {
		hi = max(hi, w)
	}
	for lo < hi {
		c := (lo + hi + 1) / 2
		if cappedSum(widths, c) <= budget {
			lo = c
		} else {
			hi = c - 1
		}
	}
	out := make([]int, len(widths))
	for i, w := range widths {
		out[i] = min(w, lo)
	}
	return out, true
}

func cappedSum(widths []int, c int) int {
	s := 0
	for _, w := range widths {
		s += min(w, c)
	}
	return s
}

func writeRow(w io.Writer, row []string, widths []int) {
	var b strings.Builder
	for i, c := range row {
		if i > 0 {
			b.WriteString(" |")
		}
		if ansi.StringWidth(c) > widths[i] {
			c = ansi.Truncate(c, widths[i], "…")
		}
		b.WriteByte(' ')
		b.WriteString(c)
		if i < len(row)-1 {
			b.WriteString(strings.Repeat(" ", widths[i]-ansi.StringWidth(c)))
		}
	}
	fmt.Fprintln(w, b.String())
}

// writeVertical writes each row as "column: value" lines, values wrapped to
// the width.
func writeVertical(w io.Writer, res *Result, width int) {
	label := 0
	for _, c := range res.Columns {
		label = max(label, ansi.StringWidth(clean(c)))
	}
	label = min(label, width/3)
	valueWidth := max(width-label-2, 10)
	for i, r := range res.Rows {
		fmt.Fprintf(w, "*************************** %d. row ***************************\n", i+1)
		for j, c := range res.Columns {
			name := ansi.Truncate(clean(c), label, "…")
			val := ""
			if j < len(r) {
				val = cellText(r[j])
			}
			lines := strings.Split(ansi.Hardwrap(val, valueWidth, true), "\n")
			fmt.Fprintf(w, "%*s: %s\n", label, name, lines[0])
			for _, l := range lines[1:] {
				fmt.Fprintf(w, "%*s  %s\n", label, "", l)
			}
		}
	}
}

var tsvEscaper = strings.NewReplacer("\\", `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`, "\x00", `\0`)

func writeTSV(w io.Writer, res *Result) {
	if !res.HasRows() {
		return
	}
	line := make([]string, len(res.Columns))
	for i, c := range res.Columns {
		line[i] = tsvEscaper.Replace(c)
	}
	fmt.Fprintln(w, strings.Join(line, "\t"))
	for _, r := range res.Rows {
		for i := range line {
			line[i] = nullText
			if i < len(r) && r[i].Valid {
				line[i] = tsvEscaper.Replace(r[i].String)
			}
		}
		fmt.Fprintln(w, strings.Join(line, "\t"))
	}
}

// jsonResult is the JSON form of a result.
type jsonResult struct {
	Columns   []string    `json:"columns,omitempty"`
	Rows      [][]*string `json:"rows,omitempty"`
	Count     int64       `json:"count"`
	Truncated bool        `json:"truncated,omitempty"`
	Affected  *int64      `json:"affected,omitempty"`
	Tag       string      `json:"tag,omitempty"`
}

func writeJSON(w io.Writer, res *Result) error {
	j := jsonResult{Columns: res.Columns, Count: res.Count, Truncated: res.Truncated(), Tag: res.Tag}
	if res.HasRows() {
		j.Rows = make([][]*string, len(res.Rows))
		for i, r := range res.Rows {
			j.Rows[i] = make([]*string, len(r))
			for k, v := range r {
				if v.Valid {
					j.Rows[i][k] = &v.String
				}
			}
		}
	} else {
		j.Affected = &res.Affected
	}
	b, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("writing the result as JSON: %w", err)
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}
