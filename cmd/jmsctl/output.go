package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/term"
	"gopkg.in/yaml.v3"

	"github.com/jms-bastion/jms/printable"
)

// column is one column of a table or CSV listing.
type column[T any] struct {
	name  string
	value func(T) string
}

// listing is where and how a command's listing is drawn. Every listing
// goes through it, so that every table follows the same rules: cut to
// the terminal's width, or whole when the output is not a terminal.
type listing struct {
	w      io.Writer
	format string // table, json, yaml or csv
	// wide (-o wide) shows every column and every cell whole, ids in full.
	wide bool
	// width is the terminal's width that a table is cut to; 0 when the
	// output is not a terminal: a pipe gets whole cells.
	width int
	// noHeaders drops the header row of tables (--no-headers).
	noHeaders bool
	// showOrg puts an ORG column first in listings of org-owned rows
	// (--all-orgs, -o wide; see outputorg.go).
	showOrg bool
}

// listing returns how this command's listings are drawn, from the global
// flags and the terminal on stdout.
func (a *app) listing() listing {
	l := listing{w: a.stdout, format: a.output, wide: a.wide, noHeaders: a.noHeaders, showOrg: a.allOrgs || a.wide}
	if l.format == "table" && !l.wide {
		l.width = tableWidth(isTerminal(a.stdout), a.getenv("COLUMNS"), terminalWidth(a.stdout))
	}
	return l
}

// tableWidth is the width a table is cut to: none (0) when the output is
// not a terminal; else COLUMNS when it holds a sensible number, else the
// terminal's own width, else 80.
func tableWidth(isTerm bool, columnsEnv string, termWidth int) int {
	if !isTerm {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(columnsEnv)); err == nil && n >= minTableWidth && n <= maxTableWidth {
		return n
	}
	if termWidth >= minTableWidth && termWidth <= maxTableWidth {
		return termWidth
	}
	return 80
}

// The widths tableWidth believes; outside them it falls back to 80.
const (
	minTableWidth = 20
	maxTableWidth = 10000
)

// terminalWidth returns the width of the terminal f is, or 0.
func terminalWidth(f any) int {
	file, ok := f.(*os.File)
	if !ok {
		return 0
	}
	w, _, err := term.GetSize(file.Fd())
	if err != nil {
		return 0
	}
	return w
}

// render writes items in the listing's format: an aligned table, CSV
// with a header row, or JSON/YAML of the items themselves (their
// snake_case tags are the stable field names). Table and CSV cells go
// through printable.Escape: a login name or a command holding escape
// sequences shows them written out instead of acting on the admin's
// terminal (JSON and YAML escape control characters themselves).
func render[T any](l listing, items []T, cols []column[T]) error {
	cols = withOrgColumn(l, cols)
	if items == nil {
		items = []T{}
	}
	switch l.format {
	case "json", "yaml":
		return encode(l.w, l.format, items)
	case "csv":
		return renderCSV(l, items, cols)
	}
	rows := make([][]string, len(items))
	for i, it := range items {
		rows[i] = make([]string, len(cols))
		for j, c := range cols {
			rows[i][j] = cell(c.value(it))
		}
	}
	header := make([]string, len(cols))
	for i, c := range cols {
		header[i] = strings.ToUpper(c.name)
	}
	if !l.wide {
		for j, c := range cols {
			if isIDColumn(c.name) {
				shortenIDs(rows, j)
			}
		}
	}
	header, rows, hidden := fitWidth(header, rows, l.width)
	if !l.noHeaders {
		rows = append([][]string{header}, rows...)
	}
	if err := writeTable(l.w, rows); err != nil {
		return err
	}
	if len(hidden) > 0 && !l.noHeaders {
		_, err := fmt.Fprintf(l.w, "(%s not shown: -o wide shows every column)\n", strings.Join(hidden, ", "))
		return err
	}
	return nil
}

// renderCSV writes items as CSV with a header row of the field names:
// always, as the import formats have it (--no-headers is for tables).
func renderCSV[T any](l listing, items []T, cols []column[T]) error {
	cw := csv.NewWriter(l.w)
	header := make([]string, len(cols))
	for i, c := range cols {
		header[i] = c.name
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, it := range items {
		row := make([]string, len(cols))
		for i, c := range cols {
			row[i] = printable.Escape(c.value(it))
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeTable writes rows in aligned columns, tableGap apart, measured in
// terminal cells (a Chinese character takes two), the last column not
// padded.
func writeTable(w io.Writer, rows [][]string) error {
	var widths []int
	for _, r := range rows {
		for j, c := range r {
			if j == len(widths) {
				widths = append(widths, 0)
			}
			widths[j] = max(widths[j], ansi.StringWidth(c))
		}
	}
	bw := bufio.NewWriter(w)
	for _, r := range rows {
		for j, c := range r {
			bw.WriteString(c)
			if j < len(r)-1 {
				bw.WriteString(strings.Repeat(" ", widths[j]-ansi.StringWidth(c)+tableGap))
			}
		}
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// tableGap is the room between two columns of a table.
const tableGap = 2

// fitWidth cuts a table (cells already on one line and escaped) to width
// terminal cells; width 0 leaves it whole. The widest cells are cut
// first (with "…"), no column below its header or 8 cells (the first
// column 20); if that is not enough, columns are dropped from the right
// and their headers returned, so that no line wraps.
func fitWidth(header []string, rows [][]string, width int) ([]string, [][]string, []string) {
	if width <= 0 || len(header) == 0 {
		return header, rows, nil
	}
	widths := make([]int, len(header))
	for j, h := range header {
		widths[j] = ansi.StringWidth(h)
		for _, r := range rows {
			widths[j] = max(widths[j], ansi.StringWidth(r[j]))
		}
	}
	// A column keeps its header's width and at least 8 cells, the first
	// one (the name a row is known by) 20.
	floors := make([]int, len(header))
	for j, h := range header {
		floors[j] = min(widths[j], max(8, ansi.StringWidth(h)))
	}
	floors[0] = min(widths[0], max(20, floors[0]))
	floor := func(j int) int { return floors[j] }
	total := func(n int) int {
		t := tableGap * (n - 1)
		for _, w := range widths[:n] {
			t += w
		}
		return t
	}
	n := len(header)
	for total(n) > width {
		widest := -1
		for j := range widths[:n] {
			if widths[j] > floor(j) && (widest < 0 || widths[j] > widths[widest]) {
				widest = j
			}
		}
		if widest < 0 {
			break
		}
		widths[widest]-- // one cell at a time: the widest give way evenly
	}
	for n > 1 && total(n) > width {
		n--
	}
	hidden := header[n:]
	header = header[:n]
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = make([]string, n)
		for j := range n {
			out[i][j] = ansi.Truncate(r[j], widths[j], "…")
		}
	}
	return header, out, hidden
}

// isIDColumn reports whether a column holds ids that commands take by
// any unique prefix, so that a table may show them short: a session's.
// (A secret key's id is no argument anywhere: it stays whole.)
func isIDColumn(name string) bool {
	return name == "id" || name == "session" || name == "session_id"
}

// minIDPrefix is the shortest prefix a table shows of a long id.
const minIDPrefix = 8

// shortenIDs replaces the ids in column j of rows by their shortest
// prefix of at least minIDPrefix characters that no other id of the
// column shares (as git and docker show them). Only hex-and-dash ids
// longer than that are shortened: a name or a number stays whole.
func shortenIDs(rows [][]string, j int) {
	ids := make([]string, 0, len(rows))
	for _, r := range rows {
		if isLongID(r[j]) {
			ids = append(ids, r[j])
		}
	}
	short := uniquePrefixes(ids, minIDPrefix)
	for _, r := range rows {
		if p, ok := short[r[j]]; ok {
			r[j] = p
		}
	}
}

// isLongID reports whether s is an id made of hex digits and dashes,
// longer than minIDPrefix.
func isLongID(s string) bool {
	if len(s) <= minIDPrefix {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F' || r == '-') {
			return false
		}
	}
	return true
}

// uniquePrefixes maps each of ids to its shortest prefix of at least min
// bytes that is the prefix of no other distinct id in ids. An id that is
// the prefix of another stays whole.
func uniquePrefixes(ids []string, minLen int) map[string]string {
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	out := make(map[string]string, len(sorted))
	for i, id := range sorted {
		n := minLen
		// In sorted order, the longest prefix id shares with any other
		// id is the one it shares with a neighbour.
		for _, k := range []int{i - 1, i + 1} {
			if k >= 0 && k < len(sorted) {
				n = max(n, commonPrefix(id, sorted[k])+1)
			}
		}
		out[id] = id[:min(n, len(id))]
	}
	return out
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// renderOne writes one item: JSON/YAML of the item, or "key: value"
// lines (escaped as render's cells are, whole) for table and CSV.
func renderOne[T any](l listing, item T, fields []column[T]) error {
	switch l.format {
	case "json", "yaml":
		return encode(l.w, l.format, item)
	case "csv":
		return renderCSV(l, []T{item}, fields)
	default:
		tw := tabwriter.NewWriter(l.w, 0, 0, 1, ' ', 0)
		for _, f := range fields {
			fmt.Fprintf(tw, "%s:\t%s\n", f.name, printable.Escape(f.value(item)))
		}
		return tw.Flush()
	}
}

// encode writes v as indented JSON or YAML, with the snake_case field
// names of its tags. Both escape control characters: JSON through
// printable.JSON (encoding/json leaves C1 controls raw), YAML by itself.
func encode(w io.Writer, format string, v any) error {
	switch format {
	case "json":
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(printable.JSON(b), '\n'))
		return err
	case "yaml":
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(v); err != nil {
			return err
		}
		return enc.Close()
	}
	return fmt.Errorf("unknown format %q", format)
}

// cell keeps a table cell on one line, with its control characters
// written out. It is whole: fitWidth cuts it for a terminal.
func cell(s string) string {
	return printable.Escape(strings.Join(strings.Fields(s), " "))
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func fmtTimePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return fmtTime(*t)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
