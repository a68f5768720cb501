package tui

import (
	"bytes"
	"errors"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/creack/pty"
	"go.uber.org/goleak"

	"github.com/jms-bastion/jms/recorder"
)

// ptyRun is a bubbletea program running on a real pseudo-terminal, as the
// SSH server runs the menu: the test types into the master side and reads
// what a person would see through a terminal emulator.
type ptyRun struct {
	t      *testing.T
	master *os.File
	slave  *os.File
	prog   *tea.Program

	mu  sync.Mutex
	scr *recorder.Screen
	raw bytes.Buffer

	final    chan tea.Model
	readDone chan struct{}
}

func startPTY(t *testing.T, m tea.Model, env []string, w, h int) *ptyRun {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	if err := pty.Setsize(slave, &pty.Winsize{Cols: uint16(w), Rows: uint16(h)}); err != nil {
		t.Fatal(err)
	}
	r := &ptyRun{
		t: t, master: master, slave: slave,
		scr:      recorder.NewScreen(w, h),
		final:    make(chan tea.Model, 1),
		readDone: make(chan struct{}),
	}
	r.prog = tea.NewProgram(m,
		tea.WithInput(slave),
		tea.WithOutput(slave),
		tea.WithEnvironment(env),
		tea.WithWindowSize(w, h),
		tea.WithoutSignalHandler(),
	)
	go func() {
		defer close(r.readDone)
		buf := make([]byte, 32*1024)
		for {
			n, err := master.Read(buf)
			if n > 0 {
				r.mu.Lock()
				r.raw.Write(buf[:n])
				_, _ = r.scr.Write(buf[:n])
				r.mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		final, err := r.prog.Run()
		if err != nil && !errors.Is(err, tea.ErrProgramKilled) {
			t.Errorf("program: %v", err)
		}
		r.final <- final
	}()
	return r
}

// text returns the emulated screen.
func (r *ptyRun) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.scr.Text()
}

func (r *ptyRun) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.raw.String()
}

// waitFor waits until the screen satisfies ok.
func (r *ptyRun) waitFor(what string, ok func(screen string) bool) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := r.text()
		if ok(s) {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting for %s; screen:\n%s", what, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *ptyRun) waitText(s string) {
	r.t.Helper()
	r.waitFor(strings.TrimSpace(s), func(screen string) bool { return strings.Contains(screen, s) })
}

func (r *ptyRun) typ(s string) {
	r.t.Helper()
	if _, err := r.master.Write([]byte(s)); err != nil {
		r.t.Fatal(err)
	}
}

// resize changes the terminal size as the SSH server does on a
// window-change request: the PTY's size and a WindowSizeMsg.
func (r *ptyRun) resize(w, h int) {
	r.t.Helper()
	if err := pty.Setsize(r.slave, &pty.Winsize{Cols: uint16(w), Rows: uint16(h)}); err != nil {
		r.t.Fatal(err)
	}
	r.mu.Lock()
	r.scr = recorder.NewScreen(w, h)
	r.mu.Unlock()
	r.prog.Send(tea.WindowSizeMsg{Width: w, Height: h})
}

// wait returns the final model once the program has ended, and closes the
// terminal.
func (r *ptyRun) wait() tea.Model {
	r.t.Helper()
	var m tea.Model
	select {
	case m = <-r.final:
	case <-time.After(10 * time.Second):
		r.prog.Kill()
		r.t.Fatalf("the program did not end; screen:\n%s", r.text())
	}
	r.slave.Close()
	r.master.Close()
	<-r.readDone
	return m
}

var xterm = []string{"TERM=xterm-256color", "LANG=C.UTF-8"}

func TestPTYMenu(t *testing.T) {
	defer goleak.VerifyNone(t)
	r := startPTY(t, fixtureMenu(80, 24), xterm, 80, 24)
	r.waitText("alice (user) · 12 assets")
	r.waitText("› 12  backup")
	r.waitText("win-ad-01")

	// Filter as you type.
	r.typ("db")
	r.waitText("db-replica")
	// Two matches: Enter does not guess.
	r.typ("\r")
	r.waitText("2 assets match: move to one")
	r.typ("-p")
	r.waitFor("the filter", func(s string) bool {
		return strings.Contains(s, "Search: db-p") && !strings.Contains(s, "db-replica") && !strings.Contains(s, "win-ad-01")
	})
	// Resize: the footer moves to the new bottom line.
	r.resize(100, 30)
	r.waitFor("the resized screen", func(s string) bool {
		lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
		return len(lines) == 30 && strings.Contains(lines[29], "enter connect")
	})
	// Two accounts on db-primary: the picker.
	r.typ("\r")
	r.waitText("Choose an account on db-primary")
	r.typ("\x1b[B") // down
	r.waitText("› root")
	r.typ("\r")
	m := r.wait().(Menu)
	a, acc, ok := m.Choice()
	if !ok || a.Asset.Name != "db-primary" || acc.Username != "root" {
		t.Fatalf("Choice = %s %s %v", a.Asset.Name, acc.Username, ok)
	}

	// The SSH handler dials, then runs the menu again where it was, with
	// the error of the connection.
	st := m.State()
	r = startPTY(t, NewMenu(MenuConfig{User: "alice", Role: "user", Banner: fixtureBanner, Assets: fixture(),
		Width: 100, Height: 30, Restore: &st, Flash: "db-primary: connection refused"}), xterm, 100, 30)
	r.waitText("✗ db-primary: connection refused")
	r.waitText("Search: db-p")
	r.waitText("›  3  db-primary")
	r.typ("\x04") // Ctrl-D
	if _, _, ok := r.wait().(Menu).Choice(); ok {
		t.Error("Ctrl-D chose an asset")
	}
}

// sgr matches SGR sequences; hasColour looks in them for the parameters
// that set a colour (basic, bright, 256 or true colour).
var sgr = regexp.MustCompile(`\x1b\[([0-9;:]*)m`)

func hasColour(out string) bool {
	for _, m := range sgr.FindAllStringSubmatch(out, -1) {
		for _, p := range strings.FieldsFunc(m[1], func(r rune) bool { return r == ';' || r == ':' }) {
			switch {
			case p == "38", p == "48":
				return true
			case len(p) == 2 && (p[0] == '3' || p[0] == '4' || p[0] == '9') && p[1] >= '0' && p[1] <= '7':
				return true
			case len(p) == 3 && p[:2] == "10" && p[2] >= '0' && p[2] <= '7':
				return true
			}
		}
	}
	return false
}

func TestPTYNoColour(t *testing.T) {
	defer goleak.VerifyNone(t)
	tests := []struct {
		name   string
		env    []string
		colour bool
	}{
		{"xterm-256color", xterm, true},
		{"NO_COLOR", append([]string{"NO_COLOR=1"}, xterm...), false},
		{"TERM=dumb", []string{"TERM=dumb"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMenu(MenuConfig{User: "alice", Role: "user", Assets: fixture(), Width: 80, Height: 24,
				Flash: "web-01: host key changed"})
			r := startPTY(t, m, tt.env, 80, 24)
			r.waitText("host key changed")
			r.waitText("win-ad-01")
			r.typ("g")
			r.waitText("prod (7)")
			r.typ("q")
			r.wait()
			out := r.output()
			if got := hasColour(out); got != tt.colour {
				t.Errorf("colour escapes = %v, want %v", got, tt.colour)
			}
			if !tt.colour && tt.name == "NO_COLOR" && !strings.Contains(out, "\x1b[7m") && !strings.Contains(out, ";7m") {
				t.Error("NO_COLOR lost the reverse video of the selection")
			}
		})
	}
}

func TestHasColour(t *testing.T) {
	for in, want := range map[string]bool{
		"\x1b[1;31mred":         true,
		"\x1b[38;5;12mx":        true,
		"\x1b[48;2;1;2;3mx":     true,
		"\x1b[94mx":             true,
		"\x1b[1;7mbold reverse": false,
		"\x1b[mreset":           false,
		"\x1b[2Jclear":          false,
	} {
		if got := hasColour(in); got != want {
			t.Errorf("hasColour(%q) = %v", in, got)
		}
	}
}

func TestPTYReplay(t *testing.T) {
	defer goleak.VerifyNone(t)
	master, slave, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer master.Close()
	if err := pty.Setsize(slave, &pty.Winsize{Cols: 100, Rows: 32}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	scr := recorder.NewScreen(100, 32)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			mu.Lock()
			scr.Write(buf[:n]) //nolint:errcheck
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	p := samplePlayer(t)
	p.Speed = 4
	done := make(chan error, 1)
	go func() { done <- RunReplay(t.Context(), p, 0, slave, slave) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		s := scr.Text()
		mu.Unlock()
		if strings.Contains(s, "résumé.pdf") && strings.Contains(s, "4× alice@web1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replay screen:\n%s", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := master.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("replay did not end on q")
	}
	slave.Close()
	master.Close()
	<-readDone
}
