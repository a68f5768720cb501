package main

// The parsers and writers of `asset import|export` and `user
// import|export`: CSV with a header row, a JSON array of objects, or a
// YAML sequence of mappings. Every error names where it is: the line
// (CSV and YAML; the CSV header is line 1) or the item (JSON, counted
// from 1), then the field: "line 3: address: required".

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/jms-bastion/jms/store"
)

// Columns of the import and export files, in export order.
var (
	assetFields = []string{"name", "address", "port", "platform", "node", "labels", "comment"}
	userFields  = []string{"name", "email", "role", "groups", "keys", "comment"}
)

// maxImportSize bounds what an import reads.
const maxImportSize = 64 << 20

// importFormat picks the format from --format or the file's extension.
func importFormat(file, flag string) (string, error) {
	if flag != "" {
		switch flag {
		case "csv", "json", "yaml":
			return flag, nil
		case "yml":
			return "yaml", nil
		}
		return "", fmt.Errorf("--format %q: want csv, json or yaml", flag)
	}
	switch strings.ToLower(filepath.Ext(file)) {
	case ".csv":
		return "csv", nil
	case ".json":
		return "json", nil
	case ".yaml", ".yml":
		return "yaml", nil
	}
	if file == "-" {
		return "", errors.New("reading stdin: give --format csv, json or yaml")
	}
	return "", fmt.Errorf("%s: cannot tell the format from the extension: give --format csv, json or yaml", file)
}

// value is one field of a row as the file gives it: a scalar, a list
// (JSON/YAML arrays) or a map (JSON objects, YAML mappings).
type value struct {
	line int // YAML: the value's line; 0 otherwise
	str  string
	list []string
	m    map[string]string
	kind byte // 's', 'l' or 'm'
}

// row is one record of an import file.
type row struct {
	at     string
	fields map[string]value
}

// parseRows reads the records of data in format, refusing fields that
// are not in known.
func parseRows(data []byte, format string, known []string) ([]row, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a BOM from spreadsheets
	switch format {
	case "csv":
		return parseCSV(data, known)
	case "json":
		return parseJSON(data, known)
	case "yaml":
		return parseYAML(data, known)
	}
	return nil, fmt.Errorf("unknown format %q", format)
}

func unknownFieldErr(kind, name string, known []string) error {
	return fmt.Errorf("unknown %s %q (known: %s)", kind, name, strings.Join(known, ", "))
}

func parseCSV(data []byte, known []string) ([]row, error) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comment = '#'
	cr.FieldsPerRecord = 0
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("the file is empty: want a header row (" + strings.Join(known, ",") + ")")
	}
	if err != nil {
		return nil, csvErr(err)
	}
	hline, _ := cr.FieldPos(0)
	cols := make([]string, len(header))
	seen := map[string]bool{}
	var unknown []string
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if !slices.Contains(known, h) {
			unknown = append(unknown, strconv.Quote(h))
			continue
		}
		if seen[h] {
			return nil, fmt.Errorf("line %d: column %q appears twice", hline, h)
		}
		seen[h] = true
		cols[i] = h
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("line %d: unknown column %s (known: %s)", hline, strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	for _, need := range []string{"name"} {
		if !seen[need] {
			return nil, fmt.Errorf("line %d: no %q column", hline, need)
		}
	}
	var rows []row
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvErr(err)
		}
		line, _ := cr.FieldPos(0)
		r := row{at: fmt.Sprintf("line %d", line), fields: make(map[string]value, len(cols))}
		for i, c := range cols {
			r.fields[c] = value{str: strings.TrimSpace(rec[i]), kind: 's'}
		}
		rows = append(rows, r)
	}
	return rows, nil
}

func csvErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("line %d: %v", pe.Line, pe.Err)
	}
	return err
}

func parseJSON(data []byte, known []string) ([]row, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("not valid JSON at byte %d: %v", se.Offset, err)
		}
		return nil, fmt.Errorf("want a JSON array of objects: %v", err)
	}
	rows := make([]row, 0, len(items))
	for i, raw := range items {
		at := fmt.Sprintf("item %d", i+1)
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
			return nil, fmt.Errorf("%s: want an object", at)
		}
		r := row{at: at, fields: make(map[string]value, len(obj))}
		for _, k := range sortedMapKeys(obj) {
			if !slices.Contains(known, k) {
				return nil, fmt.Errorf("%s: %w", at, unknownFieldErr("field", k, known))
			}
			v, err := jsonValue(obj[k])
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", at, k, err)
			}
			r.fields[k] = v
		}
		rows = append(rows, r)
	}
	return rows, nil
}

func jsonValue(raw json.RawMessage) (value, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return value{}, err
	}
	switch v := x.(type) {
	case nil:
		return value{kind: 's'}, nil
	case string:
		return value{str: v, kind: 's'}, nil
	case json.Number:
		return value{str: v.String(), kind: 's'}, nil
	case []any:
		out := value{kind: 'l', list: []string{}}
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return value{}, errors.New("want a list of strings")
			}
			out.list = append(out.list, s)
		}
		return out, nil
	case map[string]any:
		out := value{kind: 'm', m: map[string]string{}}
		for k, e := range v {
			switch e := e.(type) {
			case string:
				out.m[k] = e
			case json.Number:
				out.m[k] = e.String()
			default:
				return value{}, fmt.Errorf("%s: want a string", k)
			}
		}
		return out, nil
	}
	return value{}, errors.New("want a string")
}

func parseYAML(data []byte, known []string) ([]row, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not valid YAML: %v", err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil // an empty file: nothing to import
	}
	seq := doc.Content[0]
	if seq.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("line %d: want a sequence (- name: …)", seq.Line)
	}
	rows := make([]row, 0, len(seq.Content))
	for _, item := range seq.Content {
		at := fmt.Sprintf("line %d", item.Line)
		if item.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("%s: want a mapping (name: …, address: …)", at)
		}
		r := row{at: at, fields: make(map[string]value, len(item.Content)/2)}
		for i := 0; i+1 < len(item.Content); i += 2 {
			kn, vn := item.Content[i], item.Content[i+1]
			k := kn.Value
			if kn.Kind != yaml.ScalarNode || !slices.Contains(known, k) {
				return nil, fmt.Errorf("line %d: %w", kn.Line, unknownFieldErr("field", k, known))
			}
			if _, dup := r.fields[k]; dup {
				return nil, fmt.Errorf("line %d: %s: given twice", kn.Line, k)
			}
			v, err := yamlValue(vn)
			if err != nil {
				return nil, fmt.Errorf("line %d: %s: %w", vn.Line, k, err)
			}
			r.fields[k] = v
		}
		rows = append(rows, r)
	}
	return rows, nil
}

func yamlValue(n *yaml.Node) (value, error) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return value{line: n.Line, kind: 's'}, nil
		}
		return value{line: n.Line, str: n.Value, kind: 's'}, nil
	case yaml.SequenceNode:
		out := value{line: n.Line, kind: 'l', list: []string{}}
		for _, e := range n.Content {
			if e.Kind != yaml.ScalarNode {
				return value{}, errors.New("want a list of strings")
			}
			out.list = append(out.list, e.Value)
		}
		return out, nil
	case yaml.MappingNode:
		out := value{line: n.Line, kind: 'm', m: map[string]string{}}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode {
				return value{}, errors.New("want a mapping of strings")
			}
			out.m[k.Value] = v.Value
		}
		return out, nil
	}
	return value{}, errors.New("want a string")
}

func sortedMapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// fieldErr says where a field's error is: its own line in YAML, else the row's.
func fieldErr(r row, field string, err error) error {
	at := r.at
	if v, ok := r.fields[field]; ok && v.line > 0 {
		at = fmt.Sprintf("line %d", v.line)
	}
	return fmt.Errorf("%s: %s: %w", at, field, err)
}

func (r row) str(field string) (string, error) {
	v, ok := r.fields[field]
	if !ok {
		return "", nil
	}
	if v.kind != 's' {
		return "", fieldErr(r, field, errors.New("want a single value"))
	}
	return v.str, nil
}

// list reads a list: a JSON/YAML list, or a string of items separated by ";".
func (r row) list(field string) ([]string, error) {
	v, ok := r.fields[field]
	if !ok {
		return nil, nil
	}
	var items []string
	switch v.kind {
	case 'l':
		items = v.list
	case 's':
		items = strings.Split(v.str, ";")
	default:
		return nil, fieldErr(r, field, errors.New("want a list"))
	}
	out := []string{}
	for _, it := range items {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	return out, nil
}

func (r row) present() map[string]bool {
	p := make(map[string]bool, len(r.fields))
	for k := range r.fields {
		p[k] = true
	}
	return p
}

// parseLabels reads "k=v;k=v".
func parseLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ";") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("%q is not key=value", kv)
		}
		k = strings.TrimSpace(k)
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("label %q given twice", k)
		}
		out[k] = strings.TrimSpace(v)
	}
	return out, nil
}

// formatLabels writes labels as "k=v;k=v", sorted by key.
func formatLabels(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for _, k := range sortedMapKeys(m) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ";")
}

// parseAssets reads the assets of an import file.
func parseAssets(r io.Reader, format string) ([]store.ImportAsset, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxImportSize+1))
	if err != nil {
		return nil, fmt.Errorf("read import: %w", err)
	}
	if len(data) > maxImportSize {
		return nil, fmt.Errorf("the import is larger than %d MiB", maxImportSize>>20)
	}
	rows, err := parseRows(data, format, assetFields)
	if err != nil {
		return nil, err
	}
	out := make([]store.ImportAsset, 0, len(rows))
	for _, r := range rows {
		ia := store.ImportAsset{At: r.at, Present: r.present()}
		for _, f := range []struct {
			name string
			dst  *string
		}{{"name", &ia.Name}, {"address", &ia.Address}, {"platform", &ia.Platform}, {"node", &ia.Node}, {"comment", &ia.Comment}} {
			if *f.dst, err = r.str(f.name); err != nil {
				return nil, err
			}
		}
		ia.Name, ia.Address, ia.Platform = strings.TrimSpace(ia.Name), strings.TrimSpace(ia.Address), strings.TrimSpace(ia.Platform)
		port, err := r.str("port")
		if err != nil {
			return nil, err
		}
		if port = strings.TrimSpace(port); port != "" {
			n, err := strconv.Atoi(port)
			if err != nil || n < 1 || n > 65535 {
				return nil, fieldErr(r, "port", fmt.Errorf("%q is not a port (1-65535)", port))
			}
			ia.Port = n
		}
		if v, ok := r.fields["labels"]; ok {
			switch v.kind {
			case 'm':
				ia.Labels = v.m
			case 's':
				if ia.Labels, err = parseLabels(v.str); err != nil {
					return nil, fieldErr(r, "labels", err)
				}
			default:
				return nil, fieldErr(r, "labels", errors.New("want key=value;key=value or a mapping"))
			}
		}
		out = append(out, ia)
	}
	return out, nil
}

// parseUsers reads the people of an import file. In CSV, groups are
// "a;b" and keys are authorized_keys lines separated by ";".
func parseUsers(r io.Reader, format string) ([]store.ImportUser, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxImportSize+1))
	if err != nil {
		return nil, fmt.Errorf("read import: %w", err)
	}
	if len(data) > maxImportSize {
		return nil, fmt.Errorf("the import is larger than %d MiB", maxImportSize>>20)
	}
	rows, err := parseRows(data, format, userFields)
	if err != nil {
		return nil, err
	}
	out := make([]store.ImportUser, 0, len(rows))
	for _, r := range rows {
		iu := store.ImportUser{At: r.at, Present: r.present()}
		for _, f := range []struct {
			name string
			dst  *string
		}{{"name", &iu.Name}, {"email", &iu.Email}, {"role", &iu.Role}, {"comment", &iu.Comment}} {
			if *f.dst, err = r.str(f.name); err != nil {
				return nil, err
			}
		}
		iu.Name, iu.Role = strings.TrimSpace(iu.Name), strings.TrimSpace(iu.Role)
		if iu.Groups, err = r.list("groups"); err != nil {
			return nil, err
		}
		if iu.Keys, err = r.list("keys"); err != nil {
			return nil, err
		}
		out = append(out, iu)
	}
	return out, nil
}

// writeAssets writes assets as an import file.
func writeAssets(w io.Writer, format string, assets []store.NewAsset) error {
	for i := range assets {
		if assets[i].Labels == nil {
			assets[i].Labels = map[string]string{}
		}
	}
	switch format {
	case "csv":
		return writeCSV(w, assetFields, len(assets), func(i int) []string {
			a := assets[i]
			return []string{a.Name, a.Address, strconv.Itoa(a.Port), a.Platform, a.Node, formatLabels(a.Labels), a.Comment}
		})
	default:
		return writeStructured(w, format, assets)
	}
}

// writeUsers writes people as an import file.
func writeUsers(w io.Writer, format string, users []store.ImportUser) error {
	switch format {
	case "csv":
		for _, u := range users {
			for _, k := range u.Keys {
				if strings.Contains(k, ";") {
					return fmt.Errorf("user %s has a key whose comment holds ';', which CSV uses between keys: export as json or yaml", u.Name)
				}
			}
		}
		return writeCSV(w, userFields, len(users), func(i int) []string {
			u := users[i]
			return []string{u.Name, u.Email, u.Role, strings.Join(u.Groups, ";"), strings.Join(u.Keys, ";"), u.Comment}
		})
	default:
		return writeStructured(w, format, users)
	}
}

func writeCSV(w io.Writer, header []string, n int, rec func(int) []string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		if err := cw.Write(rec(i)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func writeStructured[T any](w io.Writer, format string, items []T) error {
	if items == nil {
		items = []T{}
	}
	return encode(w, format, items)
}

// exportFormat is the format an export writes: -o, with csv for the
// default table.
// exportFormat is the format of an export: --format when given (the
// import's name for it), else -o, with CSV for the default table.
func exportFormat(output, format string) (string, error) {
	if format != "" {
		output = format
	}
	switch output {
	case "table", "csv":
		return "csv", nil
	case "json", "yaml":
		return output, nil
	}
	return "", fmt.Errorf("--format %q: want csv, json or yaml", format)
}

func newUserImportCmd(a *app) *cobra.Command {
	var format string
	var opts store.ImportOptions
	cmd := &cobra.Command{
		Use:   "import FILE|- [--format csv|json|yaml] [--dry-run] [--upsert]",
		Short: "Add (or update) people from a CSV, JSON or YAML file, all or nothing",
		Long: `import reads people with the fields name, email, role, groups, keys and
comment. In CSV (a header row, columns in any order) groups are "ops;dev" and
keys are OpenSSH public key lines separated by ";"; in JSON and YAML both are
lists. Groups that do not exist are made. Passwords are never imported: people
log in with their keys, or an admin sets a password with 'user passwd'.
The import is one transaction: a bad row fails it all, and the error names
the line (CSV, YAML) or item (JSON) and the field. --upsert updates people who
exist (their groups and keys become those of the file; fields the file leaves
out keep their value); --dry-run says what would change, per updated person
the fields and their values before and after (-o json: a "changes" map).`,
		Example: `  jmsctl user import people.csv --dry-run
  jmsctl user export -o yaml > people.yaml && jmsctl user import people.yaml --upsert`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImport(a, cmd, args[0], format, "user", opts, parseUsers, (*store.Store).ImportUsers)
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "csv, json or yaml (default: from the extension)")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "say what would change, change nothing")
	cmd.Flags().BoolVar(&opts.Upsert, "upsert", false, "update the people whose name exists")
	return cmd
}

func newUserExportCmd(a *app) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "export [-o|--format csv|json|yaml]",
		Short: "Write every person to stdout in an import format (no password, no MFA seed)",
		Example: `  jmsctl user export > people.csv
  jmsctl user export -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			users, err := s.ExportUsers(cmd.Context())
			if err != nil {
				return err
			}
			format, err := exportFormat(a.output, format)
			if err != nil {
				return err
			}
			return writeUsers(a.stdout, format, users)
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "csv, json or yaml (the same as -o; default csv)")
	return cmd
}
