package filter

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"go.uber.org/goleak"
	"gopkg.in/yaml.v3"
)

type attempt struct {
	Name    string   `yaml:"name"`
	Keys    string   `yaml:"keys"`
	Line    *string  `yaml:"line"`
	Verdict string   `yaml:"verdict"`
	Ran     []string `yaml:"ran"`
	Chunk   bool     `yaml:"chunk"`
	Width   int      `yaml:"width"`
}

func loadCorpus(t *testing.T) []attempt {
	t.Helper()
	b, err := os.ReadFile("../../testdata/filter/corpus.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var as []attempt
	if err := yaml.Unmarshal(b, &as); err != nil {
		t.Fatal(err)
	}
	if len(as) < 40 {
		t.Fatalf("corpus has %d attempts, want at least 40", len(as))
	}
	return as
}

func corpusRules() *RuleSet {
	return NewRuleSet([]Rule{
		{ID: 1, Name: "no-danger", Action: Deny, Priority: 50, Commands: []string{"danger"}},
		{ID: 2, Name: "boom-review", Action: Review, Priority: 50, Regex: regexp.MustCompile(`^boom( |$)`)},
	})
}

// keystrokes splits typed keys the way a terminal sends them: one byte at
// a time, an escape sequence or a bracketed paste at once.
func keystrokes(keys string) []string {
	var out []string
	for i := 0; i < len(keys); {
		if strings.HasPrefix(keys[i:], pasteStart) {
			end := strings.Index(keys[i:], pasteEnd)
			if end < 0 {
				out = append(out, keys[i:])
				break
			}
			out = append(out, keys[i:i+end+len(pasteEnd)])
			i += end + len(pasteEnd)
			continue
		}
		if keys[i] == 0x1b {
			n, _ := escLen([]byte(keys[i:]))
			if n == 0 {
				n = len(keys) - i
			}
			out = append(out, keys[i:i+n])
			i += n
			continue
		}
		out = append(out, keys[i:i+1])
		i++
	}
	return out
}

func TestCorpusStatic(t *testing.T) {
	rs := corpusRules()
	for _, a := range loadCorpus(t) {
		if a.Verdict != "allow" && a.Verdict != "deny" {
			t.Errorf("%s: verdict %q", a.Name, a.Verdict)
		}
		if a.Line != nil {
			v := rs.Evaluate(*a.Line)
			if got := severe(v); got != a.Verdict && !strings.Contains(a.Keys, "\r"+"\x1b[A") {
				t.Errorf("%s: Evaluate(%q) = %v, attempt says %s", a.Name, *a.Line, v.Action, a.Verdict)
			}
		}
	}
}

func severe(v Verdict) string {
	if v.Action == Deny || v.Action == Review {
		return "deny"
	}
	return "allow"
}

// TestCorpusBash replays the corpus against a real bash under a pty,
// through the LineTracker as the proxy would: forward keystrokes, on Enter
// wait for the echo and judge the line, send ^C instead of a denied Enter.
func TestCorpusBash(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	defer goleak.VerifyNone(t)
	rs := corpusRules()
	for _, a := range loadCorpus(t) {
		t.Run(a.Name, func(t *testing.T) {
			replay(t, bash, rs, a)
		})
	}
}

func replay(t *testing.T, bash string, rs *RuleSet, a attempt) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	mark := filepath.Join(dir, "mark")
	for _, d := range []string{bin, mark} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"danger", "safe", "boom"} {
		script := "#!/bin/sh\ntouch \"$MARK/" + name + "\"\n"
		if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	w := a.Width
	if w == 0 {
		w = 80
	}
	cmd := exec.Command(bash, "--norc", "--noprofile", "-i")
	cmd.Dir = bin
	cmd.Env = []string{
		"PATH=" + bin + ":/usr/bin:/bin", "HOME=" + dir, "TERM=xterm-256color",
		"MARK=" + mark, "HISTFILE=/dev/null", "INPUTRC=/dev/null", "LANG=C.UTF-8",
		`PS1=\[\e[01;32m\]user@host\[\e[00m\]:\[\e[01;34m\]\W\[\e[00m\]$ `,
	}
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(w), Rows: 24})
	if err != nil {
		t.Fatal(err)
	}
	tr := NewLineTracker(w, 24)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 32<<10)
		for {
			n, err := f.Read(buf)
			if n > 0 {
				tr.Output(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = f.Close()
		wg.Wait()
	}()

	settle := func(d time.Duration) {
		ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
		defer cancel()
		tr.WaitEcho(ctx, d)
	}
	// Wait for the first prompt.
	deadline := time.Now().Add(5 * time.Second)
	for !tr.sawPrompt() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	settle(50 * time.Millisecond)

	worst := Verdict{Action: Allow}
	var lastLine *string
	frozen := false
	chunks := keystrokes(a.Keys)
	if a.Chunk {
		chunks = []string{a.Keys}
	}
	for _, k := range chunks {
		for _, seg := range tr.Input([]byte(k)) {
			switch seg.Kind {
			case Forward:
				mustWrite(t, f, seg.Data)
			case Submit, Probe:
				settle(40 * time.Millisecond)
				var sub Submission
				if seg.Kind == Submit {
					sub = tr.Submitted()
				} else {
					sub = tr.Peek()
				}
				var vs []Verdict
				for _, c := range sub.Readings {
					vs = append(vs, rs.Evaluate(c))
				}
				v := Worst(vs...)
				worst = Worst(worst, v)
				refused := v.Action == Deny || v.Action == Review
				if !frozen && (seg.Kind == Submit || refused) {
					// The line checked: the last one submitted, or the
					// one a filter refused.
					lastLine, frozen = &sub.Line, refused
				}
				if refused {
					mustWrite(t, f, CancelLine)
					tr.Cancel()
				} else {
					mustWrite(t, f, seg.Data)
					if seg.Kind == Submit {
						// Keys typed before bash is back at its prompt
						// meet a cooked terminal (an arrow echoes as ^[[A):
						// on a loaded machine the command may take longer
						// than the settle.
						tr.waitPromptEnd(3 * time.Second)
					}
				}
			case Paste:
				var vs []Verdict
				for _, l := range append(seg.Lines, seg.Joined...) {
					vs = append(vs, rs.Evaluate(l))
				}
				v := Worst(vs...)
				worst = Worst(worst, v)
				if v.Action != Deny && v.Action != Review {
					mustWrite(t, f, seg.Data)
				}
			}
		}
		settle(30 * time.Millisecond)
	}
	settle(150 * time.Millisecond)

	if got := severe(worst); got != a.Verdict {
		t.Errorf("verdict %s (%s), want %s; last line %q; screen:\n%s", got, worst.Message, a.Verdict, deref(lastLine), tr.screenText())
	}
	if a.Line != nil && (lastLine == nil || *lastLine != *a.Line) {
		t.Errorf("line %q, want %q; screen:\n%s", deref(lastLine), *a.Line, tr.screenText())
	}
	if _, err := os.Stat(filepath.Join(mark, "danger")); err == nil && a.Verdict == "deny" {
		t.Errorf("danger ran although denied")
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Error(err)
	}
	for _, r := range a.Ran {
		if _, err := os.Stat(filepath.Join(mark, r)); err != nil {
			t.Errorf("%s did not run: %v; screen:\n%s", r, err, tr.screenText())
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "<none>"
	}
	return *s
}

func mustWrite(t *testing.T, f *os.File, b []byte) {
	t.Helper()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

// waitPromptEnd waits until the last line of the output kept since the
// last submit ends in a prompt ("$ ", or bash's "> " for a continued
// line), or for at most d.
func (t *LineTracker) waitPromptEnd(d time.Duration) {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		t.mu.Lock()
		tail := t.tail
		last := tail[bytes.LastIndexByte(tail, '\n')+1:]
		ready := bytes.HasSuffix(last, []byte("$ ")) || bytes.HasSuffix(last, []byte("> "))
		t.mu.Unlock()
		if ready {
			return
		}
	}
}
