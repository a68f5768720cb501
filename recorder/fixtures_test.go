package recorder

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The fixtures under testdata/recordings are valid recordings; truncated.cast
// ends in a line cut short, as a crash leaves it.
func TestFixtures(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "recordings", "*.cast"))
	if len(paths) == 0 {
		t.Skip("no fixtures")
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := Validate(bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
			r, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			text, err := ScreenText(r, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			want := "alice@web1:~$ ls\ndocs  notes.txt  résumé.pdf\nalice@web1:~$ exit\n"
			if filepath.Base(p) == "truncated.cast" {
				want = "alice@web1:~$ ls\ndocs  notes.txt  résumé.pdf\nalice@web1:~$\n"
				if !r.Truncated() {
					t.Error("Truncated = false")
				}
			}
			if text != want {
				t.Errorf("screen %q, want %q", text, want)
			}
		})
	}
}
