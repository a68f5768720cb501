package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/jms-bastion/jms/store"
)

var importDir = filepath.Join("..", "..", "testdata", "import")

func parseFixture(t *testing.T, name string) ([]store.ImportAsset, error) {
	t.Helper()
	f, err := os.Open(filepath.Join(importDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	format, err := importFormat(name, "")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := parseAssets(f, format)
	if err != nil {
		return nil, err
	}
	// the store checks what the parser leaves (address, platform …)
	for i := range rows {
		if err := rows[i].Normalize(); err != nil {
			return nil, fmt.Errorf("%s: %w", rows[i].At, err)
		}
	}
	return rows, nil
}

func TestParseAssetFixtures(t *testing.T) {
	var want []store.NewAsset
	for _, name := range []string{"assets.csv", "assets.json", "assets.yaml"} {
		rows, err := parseFixture(t, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got []store.NewAsset
		for _, r := range rows {
			if r.Labels == nil {
				r.Labels = map[string]string{}
			}
			got = append(got, r.NewAsset)
		}
		if want == nil {
			want = got
			if len(want) != 3 || want[1].Port != 5432 || want[0].Labels["team"] != "web" || want[1].Comment != "main db, billing" {
				t.Fatalf("%s: %+v", name, want)
			}
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s differs from assets.csv:\n got %+v\nwant %+v", name, got, want)
		}
	}
}

func TestParseAssetErrors(t *testing.T) {
	for _, c := range []struct{ file, want string }{
		{"assets-bad-address.csv", "line 3: address: required"},
		{"assets-bad-port.json", `item 3: port: "0" is not a port (1-65535)`},
		{"assets-bad-column.csv", `line 1: unknown column "rack"`},
		{"assets-bad-platform.yaml", `line 3: platform: unknown platform "beos"`},
	} {
		t.Run(c.file, func(t *testing.T) {
			_, err := parseFixture(t, c.file)
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("got %v, want %q…", err, c.want)
			}
		})
	}
}

func TestParseInline(t *testing.T) {
	for _, c := range []struct {
		name, format, in, want string
	}{
		{"empty csv", "csv", "", "the file is empty"},
		{"no name column", "csv", "address\n1.2.3.4\n", `line 1: no "name" column`},
		{"column twice", "csv", "name,name\n", `line 1: column "name" appears twice`},
		{"ragged", "csv", "name,address\nweb1\n", "line 2: wrong number of fields"},
		{"bad quote", "csv", "name,address\n\"web1,1.2.3.4\n", "line 2"},
		{"json object", "json", `{"name":"x"}`, "want a JSON array"},
		{"json item", "json", `[1]`, "item 1: want an object"},
		{"json labels", "json", `[{"name":"x","labels":[1]}]`, "item 1: labels: want a list of strings"},
		{"json bad", "json", `[{"name":`, "not valid JSON"},
		{"yaml map", "yaml", "name: x\n", "line 1: want a sequence"},
		{"yaml item", "yaml", "- x\n", "line 1: want a mapping"},
		{"yaml unknown", "yaml", "- name: x\n  rack: 1\n", `line 2: unknown field "rack"`},
		{"yaml twice", "yaml", "- name: x\n  name: y\n", "line 2: name: given twice"},
		{"yaml nested", "yaml", "- name: [a]\n", "line 1: name: want a single value"},
		{"labels twice", "csv", "name,labels\nx,a=1;a=2\n", `line 2: labels: label "a" given twice`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseAssets(strings.NewReader(c.in), c.format)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want …%q…", err, c.want)
			}
		})
	}
}

func TestParseUsers(t *testing.T) {
	var prev []store.ImportUser
	for _, name := range []string{"users.csv", "users.yaml"} {
		b, err := os.ReadFile(filepath.Join(importDir, name))
		if err != nil {
			t.Fatal(err)
		}
		format, _ := importFormat(name, "")
		rows, err := parseUsers(bytes.NewReader(b), format)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(rows) != 2 || len(rows[0].Keys) != 1 || len(rows[0].Groups) != 2 || rows[1].Comment != "reads recordings" {
			t.Fatalf("%s: %+v", name, rows)
		}
		for i := range rows {
			rows[i].At, rows[i].Present = "", nil
			if rows[i].Role == "" {
				rows[i].Role = "user"
			}
			if rows[i].Keys == nil {
				rows[i].Keys = []string{}
			}
		}
		if prev != nil && !reflect.DeepEqual(rows, prev) {
			t.Errorf("%s differs from users.csv:\n got %+v\nwant %+v", name, rows, prev)
		}
		prev = rows
	}
}

func TestExportParsesBack(t *testing.T) {
	assets := []store.NewAsset{
		{Name: "a", Address: "1.2.3.4", Port: 22, Platform: "linux", Node: "/x", Labels: map[string]string{"k": "v", "z": "a=b"}, Comment: "with, comma \"quoted\""},
		{Name: "b", Address: "h", Port: 2222, Platform: "unix", Labels: map[string]string{}},
	}
	for _, format := range []string{"csv", "json", "yaml"} {
		var buf bytes.Buffer
		if err := writeAssets(&buf, format, assets); err != nil {
			t.Fatal(err)
		}
		rows, err := parseAssets(&buf, format)
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		for i, r := range rows {
			if r.Labels == nil {
				r.Labels = map[string]string{}
			}
			if !reflect.DeepEqual(r.NewAsset, assets[i]) {
				t.Errorf("%s row %d: got %+v, want %+v", format, i, r.NewAsset, assets[i])
			}
		}
	}
}

// FuzzParseAssets: no input makes a parser panic, and what parses has
// a location on every row.
func FuzzParseAssets(f *testing.F) {
	entries, _ := os.ReadDir(importDir)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(importDir, e.Name()))
		if err == nil {
			format, _ := importFormat(e.Name(), "")
			f.Add(b, format)
		}
	}
	f.Add([]byte("name,address\n\"a\nb\",c\n"), "csv")
	f.Add([]byte("- &a {name: x}\n- *a\n"), "yaml")
	f.Add([]byte(`[{"labels":{"a":1}}]`), "json")
	f.Fuzz(func(t *testing.T, data []byte, format string) {
		for _, fm := range []string{"csv", "json", "yaml", format} {
			rows, err := parseAssets(bytes.NewReader(data), fm)
			if err != nil {
				continue
			}
			for _, r := range rows {
				if r.At == "" {
					t.Fatalf("%s: a row without a location", fm)
				}
				_ = r.Normalize()
			}
			_, _ = parseUsers(bytes.NewReader(data), fm)
		}
	})
}

// BenchmarkAssetListJSON10k runs `jmsctl asset list -o json` over
// 10,000 assets: open the data dir, query, encode. The bar is 0.5 s.
func BenchmarkAssetListJSON10k(b *testing.B) {
	env := benchDataDir(b, 10000)
	ctx := context.Background()
	for b.Loop() {
		a := newApp(strings.NewReader(""), io.Discard, io.Discard, env)
		root := newRootCmd(a)
		root.SetArgs([]string{"asset", "list", "-o", "json"})
		if err := root.ExecuteContext(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAssetImportCSV10k runs `jmsctl asset import` of a 10,000-row
// CSV file into an empty data dir. The bar is 2 s.
func BenchmarkAssetImportCSV10k(b *testing.B) {
	ctx := context.Background()
	file := filepath.Join(b.TempDir(), "assets.csv")
	if err := os.WriteFile(file, benchCSV(10000), 0o600); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		env := benchDataDir(b, 0)
		b.StartTimer()
		a := newApp(strings.NewReader(""), io.Discard, io.Discard, env)
		root := newRootCmd(a)
		root.SetArgs([]string{"asset", "import", file})
		if err := root.ExecuteContext(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func benchCSV(n int) []byte {
	var buf bytes.Buffer
	buf.WriteString("name,address,port,platform,node,labels,comment\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&buf, "host-%05d,10.%d.%d.%d,22,linux,/dc%d/rack%02d,env=%s;team=t%d,imported\n",
			i, i/65536, i/256%256, i%256, i%3, i%40, []string{"prod", "dev"}[i%2], i%7)
	}
	return buf.Bytes()
}

// benchDataDir initialises a data dir holding n assets and returns the
// environment that names it.
func benchDataDir(b *testing.B, n int) []string {
	b.Helper()
	dir := b.TempDir()
	env := []string{"JMS_DATA_DIR=" + filepath.Join(dir, "data")}
	run := func(stdin io.Reader, args ...string) {
		a := newApp(stdin, io.Discard, io.Discard, env)
		root := newRootCmd(a)
		root.SetArgs(args)
		if err := root.ExecuteContext(context.Background()); err != nil {
			b.Fatal(args, err)
		}
	}
	run(strings.NewReader("correct horse battery\n"), "init", "--admin-password-stdin")
	if n > 0 {
		run(bytes.NewReader(benchCSV(n)), "asset", "import", "-", "--format", "csv")
	}
	return env
}
