package recorder

import (
	"bytes"
	"strings"
	"testing"
)

func filterString(s string) string {
	var b bytes.Buffer
	_, _ = NewTerminalFilter(&b).Write([]byte(s))
	return b.String()
}

func TestTerminalFilter(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"text", "hello\r\nworld\t!", "hello\r\nworld\t!"},
		{"utf-8", "你好，世界 é", "你好，世界 é"},
		{"sgr", "\x1b[1;31mred\x1b[0m", "\x1b[1;31mred\x1b[0m"},
		{"cursor and erase", "\x1b[2J\x1b[H\x1b[10;5H\x1b[K\x1b[?25l\x1b[?1049h", "\x1b[2J\x1b[H\x1b[10;5H\x1b[K\x1b[?25l\x1b[?1049h"},
		{"DA", "a\x1b[cb\x1b[>cc\x1b[=c", "abc"},
		{"DSR and CPR", "a\x1b[6nb\x1b[5n\x1b[?6n", "ab"},
		{"window ops", "a\x1b[14tb\x1b[21t\x1b[8;100;100t", "ab"},
		{"DECRQM", "a\x1b[?2004$p", "a"},
		{"OSC title and clipboard", "a\x1b]0;evil\x07b\x1b]52;c;ZXZpbA==\x1b\\c", "abc"},
		{"OSC colour query", "\x1b]11;?\x07x", "x"},
		{"DCS DECRQSS and XTGETTCAP", "\x1bP$qm\x1b\\a\x1bP+q544e\x1b\\b", "ab"},
		{"APC PM SOS", "\x1b_x\x1b\\\x1b^y\x1b\\\x1bXz\x1b\\ok", "ok"},
		{"DECID", "a\x1bZb", "ab"},
		{"mouse, focus, paste modes", "\x1b[?1000h\x1b[?1006h\x1b[?1004h\x1b[?2004h\x1b[?25h", "\x1b[?25h"},
		{"mixed mode list", "\x1b[?25;1000h", ""},
		{"keyboard protocols", "\x1b[>4;1m\x1b[>1u\x1b[?u\x1b[=1;1u", ""},
		{"C1 as UTF-8", "a\u009b6nb\u009d0;t\u0007c", "a6nb0;tc"},
		{"raw 8-bit C1", "a\x9b6n\x9dz", "a6nz"},
		{"BEL and other C0", "a\x07b\x00c\x05d", "abcd"},
		{"CAN aborts", "\x1b[12\x18x", "x"},
		{"overlong CSI", "\x1b[" + strings.Repeat("1;", 40) + "mX", "X"},
		{"charset and save cursor", "\x1b(B\x1b7\x1b8\x1bM", "\x1b(B\x1b7\x1b8\x1bM"},
		{"cursor style", "\x1b[2 q", "\x1b[2 q"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := filterString(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// Whatever the split of the stream into writes, the output is the same.
func TestTerminalFilterSplits(t *testing.T) {
	in := "a\x1b]0;t\x07\x1b[1;31m中\u009b6n\x1b[6n\x1bP$q\x1b\\b\xc2\xa9"
	want := filterString(in)
	for i := 0; i <= len(in); i++ {
		var b bytes.Buffer
		f := NewTerminalFilter(&b)
		_, _ = f.Write([]byte(in[:i]))
		_, _ = f.Write([]byte(in[i:]))
		if b.String() != want {
			t.Fatalf("split at %d: %q, want %q", i, b.String(), want)
		}
	}
}

func FuzzTerminalFilter(f *testing.F) {
	for _, s := range []string{"\x1b[6n", "\x1b]52;c;x\x07", "\x1bP+q\x1b\\", "\u009b6n", "\x1b[?1000h", "中\x1b[31m"} {
		f.Add([]byte(s), uint(1))
	}
	f.Fuzz(func(t *testing.T, in []byte, split uint) {
		once := filterString(string(in))
		checkSafe(t, once)
		// Filtering is idempotent and independent of how writes split.
		if again := filterString(once); again != once {
			t.Fatalf("not idempotent: %q -> %q", once, again)
		}
		i := int(split % uint(len(in)+1))
		var b bytes.Buffer
		tf := NewTerminalFilter(&b)
		_, _ = tf.Write(in[:i])
		_, _ = tf.Write(in[i:])
		if b.String() != once {
			t.Fatalf("split at %d: %q, want %q", i, b.String(), once)
		}
	})
}

// checkSafe fails when s holds a string sequence, a query or a C1
// control.
func checkSafe(t *testing.T, s string) {
	t.Helper()
	for i := 0; i < len(s); i++ {
		if s[i] != 0x1b || i+1 >= len(s) {
			continue
		}
		switch s[i+1] {
		case ']', 'P', '_', '^', 'X', 'Z':
			t.Fatalf("string or DECID sequence passed at %d: %q", i, s)
		case '[':
			j := i + 2
			for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
				j++
			}
			if j < len(s) && strings.ContainsRune("cnptxyw", rune(s[j])) && !(s[j] == 'q') {
				t.Fatalf("query CSI passed at %d: %q", i, s[i:j+1])
			}
		}
	}
	for _, r := range s {
		if r >= 0x80 && r <= 0x9f {
			t.Fatalf("C1 control passed: %q", s)
		}
	}
}
