package filter

import (
	"strings"
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
	f.Add([]byte("$ "), []byte("tou\\\rch x\x14y\x01z\r"), []byte("cat <<E\r\nE\r\n$ "), uint8(4))
	f.Fuzz(func(t *testing.T, out, in, out2 []byte, w uint8) {
		tr := NewLineTracker(int(w%200), int(w%50))
		tr.Output(out)
		for _, seg := range tr.Input(in) {
			switch seg.Kind {
			case Submit:
				_ = tr.Line()
			case Probe:
				if sub := tr.Peek(); len(sub.Readings) > 0 && w%2 == 0 {
					tr.Cancel()
				}
			case Paste:
				if w%3 == 0 {
					tr.Forget()
				}
			}
		}
		tr.Output(out2)
		tr.Resize(int(w), 10)
		_ = tr.Input(out2)
		_ = tr.Submitted()
		_ = tr.AtPrompt()
	})
}

// FuzzContinuation: the line-by-line Joiner and Incomplete on the whole
// text agree, and neither takes long on hostile input.
func FuzzContinuation(f *testing.F) {
	for _, s := range []string{"tou\\\nch /tmp/x", "echo 'a\nb'", "cat <<EOF\nx\nEOF", "cat <<-'E F'\n\tE F", "ls |\nwc", "$(\n`\n\"\n)", "a <<A <<B\nA\nB", "$'\\'\n'", "((((\n))))", "# it's\nls"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start := time.Now()
		var j Joiner
		complete := true
		lines := strings.Split(s, "\n")
		for _, l := range lines {
			_, complete = j.Add(l)
		}
		if complete == Incomplete(s) {
			t.Fatalf("Joiner complete %v, Incomplete %v", complete, Incomplete(s))
		}
		if !complete && j.Held() == "" && len(lines) > 0 && lines[len(lines)-1] != "" {
			t.Fatalf("incomplete with nothing held")
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("took %v on %d bytes", d, len(s))
		}
	})
}

// FuzzReadsCommands: the exec classifier never panics or hangs, and a
// command that reads commands from stdin still does behind env and a path.
func FuzzReadsCommands(f *testing.F) {
	for _, s := range []string{"sh", "bash -s", "python3 -", "su -lc x", "ssh -p 1 h bash", "env -S 'sh -i'", "sudo -iu root", "runuser -u a -- sh", "perl -Mx -", "ssh --"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start := time.Now()
		got := ReadsCommands(s)
		ws := Words(s)
		plain := !strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r > '~' })
		if got && plain && len(ws) > 0 && !strings.ContainsAny(s, "#;&|()`$<>\\'\"=/-{}!") {
			// Without shell syntax, env and a path must not hide the
			// program.
			if moved := "env /usr/bin/" + strings.Join(ws, " "); !ReadsCommands(moved) {
				t.Fatalf("ReadsCommands(%q) but not %q", s, moved)
			}
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("took %v on %d bytes", d, len(s))
		}
	})
}
