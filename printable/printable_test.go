package printable

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"plain", "alice", "alice"},
		{"chinese", "张三的服务器", "张三的服务器"},
		{"emoji and accents", "café 🚀", "café 🚀"},
		{"backslash kept", `C:\tmp \brm\b`, `C:\tmp \brm\b`},
		{"title and clear", "x\x1b]0;pwned\x07\x1b[2J", `x\x1b]0;pwned\x07\x1b[2J`},
		{"whitespace controls", "a\tb\nc\rd", `a\tb\nc\rd`},
		{"nul and del", "\x00\x7f", `\x00\x7f`},
		{"c1 csi", "a\u009b2Jb", `a\u009b2Jb`},
		{"c1 nel", "a\u0085b", `a\u0085b`},
		{"invalid utf-8 csi byte", "a\x9b2J", `a\x9b2J`},
		{"invalid utf-8 tail", "中\xe4\xb8", `中\xe4\xb8`},
		{"bidi override", "evil\u202egnp.exe", `evil\u202egnp.exe`},
		{"isolates and marks", "\u2066\u2069\u200e\u200f\u061c", `\u2066\u2069\u200e\u200f\u061c`},
		{"line separators", "a\u2028b\u2029c", `a\u2028b\u2029c`},
		{"nbsp kept", "a\u00a0b", "a\u00a0b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Escape(tt.in); got != tt.want {
				t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestEscapeUnchangedAllocatesNothing(t *testing.T) {
	s := strings.Repeat("web-01 张三 ", 10)
	if n := testing.AllocsPerRun(100, func() { _ = Escape(s) }); n != 0 {
		t.Errorf("Escape of safe text: %v allocations, want 0", n)
	}
}

// checkSafe fails when out holds a byte or character a terminal acts on.
func checkSafe(t *testing.T, in, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("Escape(%q) = %q: not valid UTF-8", in, out)
	}
	for _, r := range out {
		if unsafeRune(r) {
			t.Fatalf("Escape(%q) = %q: holds %U", in, out, r)
		}
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "alice", "张三", "\x1b]0;x\x07\x1b[2J", "\u009b6n", "\x9b6n", "a\u202eb", "\xe4\xb8", `\x1b`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := Escape(in)
		checkSafe(t, in, out)
		if firstUnsafe(in) == len(in) && out != in {
			t.Fatalf("Escape(%q) = %q: safe text changed", in, out)
		}
		// Every safe character of the input is still there, in order.
		var kept strings.Builder
		for _, r := range in {
			if r != utf8.RuneError && !unsafeRune(r) {
				kept.WriteRune(r)
			}
		}
		if !containsInOrder(out, kept.String()) {
			t.Fatalf("Escape(%q) = %q: lost text", in, out)
		}
		if again := Escape(out); again != out {
			t.Fatalf("Escape is not stable on %q: %q", out, again)
		}
	})
}

// containsInOrder reports whether the runes of sub appear in s in order.
func containsInOrder(s, sub string) bool {
	for _, r := range sub {
		i := strings.IndexRune(s, r)
		if i < 0 {
			return false
		}
		s = s[i+utf8.RuneLen(r):]
	}
	return true
}

func TestJSON(t *testing.T) {
	in := map[string]string{"user": "evil\x1b]0;x\x07\u009b6n\u202e张三", "plain": "web1"}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	got := string(JSON(b))
	want := `{"plain":"web1","user":"evil\u001b]0;x\u0007\u009b6n\u202e张三"}`
	if got != want {
		t.Fatalf("JSON(%s) = %s, want %s", b, got, want)
	}
	if safe := []byte(`{"a":"张三"}`); &JSON(safe)[0] != &safe[0] {
		t.Error("JSON copied text that needed no escaping")
	}
}

func FuzzJSON(f *testing.F) {
	for _, s := range []string{"", "alice", "张三", "\x1b]0;x\x07", "\u009b6n", "\x9b6n", "a\u202eb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		b, err := json.Marshal([]string{in, "x"})
		if err != nil {
			t.Fatal(err)
		}
		out := JSON(b)
		checkSafe(t, in, string(out))
		var back, want []string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("JSON(%s) = %s: %v", b, out, err)
		}
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(back, want) {
			t.Fatalf("JSON(%s) = %s decodes to %q, want %q", b, out, back, want)
		}
	})
}
