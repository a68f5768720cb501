package filter

import (
	"testing"
	"time"
)

func FuzzSplit(f *testing.F) {
	for _, s := range []string{"ls; rm -rf /", "echo $(a `b` \"$(c)\")", "bash -c 'sh -c \"reboot\"'", "a <(b) >(c) | d && e || f &", "'", "\"$(", "((((", "$'\\x", "find -exec a ;", "env -S 'a b'"} {
		f.Add(s)
	}
	rs := NewRuleSet([]Rule{{ID: 1, Name: "r", Action: Deny, Priority: 1, Commands: []string{"reboot", "rm -rf /"}}})
	f.Fuzz(func(t *testing.T, s string) {
		start := time.Now()
		for _, c := range Split(s) {
			_ = Normalize(c)
		}
		_ = rs.Evaluate(s)
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("took %v on %d bytes", d, len(s))
		}
	})
}

func FuzzWords(f *testing.F) {
	for _, s := range []string{"'re'boot", `r\eboot`, `$'\x72\u00e9\101'`, `a "b $(c) d" e`, "2>&1 >x", "#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = Words(s)
		_ = Normalize(s)
	})
}

func FuzzLineTracker(f *testing.F) {
	f.Add([]byte("$ "), []byte("reb\x7fboot\t\r"), []byte("\x1b[?1049h\x1b[2J"), uint8(3))
	f.Add([]byte("\x1b[6n\x1b[c"), []byte("\x1b[200~a\nb\x1b[201~"), []byte("\x1b[A"), uint8(7))
	f.Fuzz(func(t *testing.T, out, in, out2 []byte, w uint8) {
		tr := NewLineTracker(int(w%200), int(w%50))
		tr.Output(out)
		for _, seg := range tr.Input(in) {
			if seg.Kind == Submit {
				_ = tr.Line()
			}
		}
		tr.Output(out2)
		tr.Resize(int(w), 10)
		_ = tr.Input(out2)
		_ = tr.Candidates()
		_ = tr.AtPrompt()
	})
}
