package store

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A "#", "?", "%" or space in the data directory must not move the
// database: it is made at the exact path, private, with its pragmas.
func TestOpenPathWithURICharacters(t *testing.T) {
	sqliteOnly(t)
	ctx := context.Background()
	for _, name := range []string{"d#x", "d?x=1", "d%41x", "d%x", "with space", "a#b?c%d e"} {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, name)
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "jms.db")
			s, err := Open(ctx, path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var file, journal string
			var fk int
			if err := s.db.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file); err != nil {
				t.Fatal(err)
			}
			if file != path {
				t.Fatalf("database opened at %q, want %q", file, path)
			}
			if err := s.db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&journal); err != nil || journal != "wal" {
				t.Fatalf("journal_mode %q %v: the pragmas were lost", journal, err)
			}
			if err := s.db.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
				t.Fatalf("foreign_keys %d %v: the pragmas were lost", fk, err)
			}
			fi, err := os.Stat(path)
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("database file: %v %v", fi, err)
			}
			entries, _ := os.ReadDir(parent)
			if len(entries) != 1 {
				t.Fatalf("files made beside the data directory: %v", entries)
			}
		})
	}
}

func FuzzEscapeURIPath(f *testing.F) {
	for _, s := range []string{"/tmp/d#x/jms.db", "/a?b=c", "/%41", "/with space", "/é/ü", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		e := escapeURIPath(p)
		if strings.ContainsAny(e, "?#% ") && strings.ContainsAny(strings.ReplaceAll(e, "%", ""), "?# ") {
			t.Fatalf("escapeURIPath(%q) = %q keeps a URI delimiter", p, e)
		}
		back, err := url.PathUnescape(e)
		if err != nil || back != p {
			t.Fatalf("escapeURIPath(%q) = %q, unescapes to %q, %v", p, e, back, err)
		}
	})
}
