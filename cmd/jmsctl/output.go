package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/jms-bastion/jms/printable"
)

// column is one column of a table or CSV listing.
type column[T any] struct {
	name  string
	value func(T) string
}

// render writes items in the chosen format: an aligned table, CSV with
// a header row, or JSON/YAML of the items themselves (their snake_case
// tags are the stable field names). Table and CSV cells go through
// printable.Escape: a login name or a command holding escape sequences
// shows them written out instead of acting on the admin's terminal (JSON
// and YAML escape control characters themselves).
func render[T any](w io.Writer, format string, items []T, cols []column[T]) error {
	if items == nil {
		items = []T{}
	}
	switch format {
	case "json", "yaml":
		return encode(w, format, items)
	case "csv":
		cw := csv.NewWriter(w)
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
	default:
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		header := make([]string, len(cols))
		for i, c := range cols {
			header[i] = strings.ToUpper(c.name)
		}
		fmt.Fprintln(tw, strings.Join(header, "\t"))
		for _, it := range items {
			row := make([]string, len(cols))
			for i, c := range cols {
				row[i] = cell(c.value(it))
			}
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		return tw.Flush()
	}
}

// renderOne writes one item: JSON/YAML of the item, or "key: value"
// lines (escaped as render's cells are) for table and CSV.
func renderOne[T any](w io.Writer, format string, item T, fields []column[T]) error {
	switch format {
	case "json", "yaml":
		return encode(w, format, item)
	case "csv":
		return render(w, format, []T{item}, fields)
	default:
		tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
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

// cell keeps a table cell on one line and short enough for 80 columns,
// with its control characters written out.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 40 {
		s = string(r[:39]) + "…"
	}
	return printable.Escape(s)
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
