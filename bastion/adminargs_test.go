package bastion

import (
	"slices"
	"strings"
	"testing"
)

func TestSplitAdminArgs(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: "", want: nil},
		{in: "   ", want: nil},
		{in: "asset list -o json", want: []string{"asset", "list", "-o", "json"}},
		{in: "  asset\tlist\n", want: []string{"asset", "list"}},
		{in: `asset add web1 --comment 'two words'`, want: []string{"asset", "add", "web1", "--comment", "two words"}},
		{in: `--comment "say \"hi\" \\ \a"`, want: []string{"--comment", `say "hi" \ \a`}},
		{in: `a\ b c`, want: []string{"a b", "c"}},
		{in: `'' x`, want: []string{"", "x"}},
		{in: `'it'\''s'`, want: []string{"it's"}},
		{in: `'a|b;c$d'`, want: []string{"a|b;c$d"}},
		{in: `"a|b;c"`, want: []string{"a|b;c"}},
		{in: `\$HOME`, want: []string{"$HOME"}},
		{in: "x \\\ny", want: []string{"x", "y"}},
		{in: "x \\\n", want: []string{"x"}},
		{in: `web*`, want: []string{"web*"}},
		{in: "asset list | grep web", wantErr: `"|" needs a shell`},
		{in: "asset list > out", wantErr: `">" needs a shell`},
		{in: "asset list; user list", wantErr: `";" needs a shell`},
		{in: "asset show $NAME", wantErr: `"$" needs a shell`},
		{in: `asset show "$NAME"`, wantErr: `"$" needs a shell`},
		{in: "asset show `id`", wantErr: "\"`\" needs a shell"},
		{in: "asset add 'web1", wantErr: "unterminated ' quote"},
		{in: `asset add "web1`, wantErr: `unterminated " quote`},
		{in: `asset add web1\`, wantErr: "a backslash ends the command"},
		{in: strings.Repeat("x", maxAdminCommand+1), wantErr: "longer than"},
	}
	for _, tt := range tests {
		got, err := splitAdminArgs(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("splitAdminArgs(%q) = %q, %v; want error with %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("splitAdminArgs(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// FuzzSplitAdminArgs: the command line comes from anyone who logged in.
// It never panics; what it splits contains no blank-separated word that
// the same words, quoted again, would not give back.
func FuzzSplitAdminArgs(f *testing.F) {
	for _, s := range []string{"asset list -o json", `'a b' "c\"d" e\ f`, "x | y", `"unterminated`, "a\\\nb", "''"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cmd string) {
		args, err := splitAdminArgs(cmd)
		if err != nil {
			return
		}
		var quoted []string
		for _, a := range args {
			quoted = append(quoted, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
		}
		again, err := splitAdminArgs(strings.Join(quoted, " "))
		if err != nil || !slices.Equal(again, args) {
			t.Fatalf("quoted again %q: %q, %v; want %q", quoted, again, err, args)
		}
	})
}
