//go:build linux

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/jms-bastion/jms/recorder"
	"github.com/jms-bastion/jms/store"
)

// liveSession records an active session of alice on web1 whose recording
// is being written, and returns its id and the recording's writer.
func liveSession(t *testing.T, dir string) (string, *recorder.Writer) {
	t.Helper()
	ctx := context.Background()
	st := initStore(t, dir)
	defer st.Close()
	id := "dddd4444-0000-4000-8000-000000000004"
	rel := filepath.Join("recordings", id+".cast")
	os.MkdirAll(filepath.Join(dir, "recordings"), 0o700)
	w, err := recorder.Create(filepath.Join(dir, rel), recorder.Header{Width: 80, Height: 24})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if _, err := st.StartSession(ctx, store.NewSession{ID: id, User: "alice", Asset: "web1", Account: "root",
		Source: "192.0.2.7:5000", RecordingPath: rel}); err != nil {
		t.Fatal(err)
	}
	return id, w
}

// syncBuf is a bytes.Buffer for one writer and one reader.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuf) Len() int { return len(s.String()) }

// termios returns the mode of the terminal f.
func termios(t *testing.T, f *os.File) *unix.Termios {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return tio
}

// TestSessionWatchTakesTheTerminal runs watch on a real PTY, as an auditor
// does: the terminal is raw while it runs (what she types neither echoes
// over the session nor waits for her shell), q stops it, and the
// terminal's mode is restored.
func TestSessionWatchTakesTheTerminal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	id, rec := liveSession(t, dir)
	rec.Output([]byte("hello-from-asset\r\n"))

	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no PTY here: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: 100})
	before := termios(t, tty)
	if before.Lflag&(unix.ECHO|unix.ICANON) != unix.ECHO|unix.ICANON {
		t.Fatalf("a new PTY is not in cooked mode: lflag %#x", before.Lflag)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "jmsctl", "session", "watch", id[:8])
	cmd.Env = append(os.Environ(), "JMS_DATA_DIR="+dir)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &unix.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var out syncBuf
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := ptmx.Read(b)
			out.Write(b[:n])
			if err != nil {
				return
			}
		}
	}()
	screen := func() string {
		scr := recorder.NewScreen(100, 24)
		scr.Write([]byte(out.String()))
		return scr.Text()
	}
	waitFor := func(what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(screen(), what) {
			if time.Now().After(deadline) {
				t.Fatalf("the watcher's screen lacks %q:\n%s\n(raw %q)", what, screen(), out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("hello-from-asset")
	waitFor("watching alice@web1 as root, session dddd4444 started")

	if mode := termios(t, tty); mode.Lflag&(unix.ECHO|unix.ICANON) != 0 {
		t.Errorf("the terminal is not raw while watching: lflag %#x", mode.Lflag)
	}
	// What the auditor types is neither echoed nor left for her shell.
	ptmx.Write([]byte("echo typed-by-auditor\r"))
	rec.Output([]byte("more-from-asset\r\n"))
	waitFor("more-from-asset")
	if strings.Contains(out.String(), "typed-by-auditor") {
		t.Errorf("the auditor's keys echoed over the session:\n%s", screen())
	}
	select {
	case err := <-done:
		t.Fatalf("watch ended on keys other than q: %v", err)
	default:
	}

	ptmx.Write([]byte("q"))
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("watch: %v\n%s", err, out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("q did not stop watch")
	}
	after := termios(t, tty)
	if after.Lflag != before.Lflag || after.Iflag != before.Iflag || after.Oflag != before.Oflag {
		t.Errorf("the terminal's mode is not restored: lflag %#x iflag %#x oflag %#x, want %#x %#x %#x",
			after.Lflag, after.Iflag, after.Oflag, before.Lflag, before.Iflag, before.Oflag)
	}
	if n, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCINQ); err != nil || n != 0 {
		t.Errorf("%d bytes typed during watch are left for the shell (%v)", n, err)
	}
	// The reader may not have read the last bytes yet.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.HasSuffix(strings.TrimRight(out.String(), "\r\n"), "\x1b[?1049l") {
			break
		}
	}
	if !strings.HasSuffix(strings.TrimRight(out.String(), "\r\n"), "\x1b[?1049l") {
		t.Errorf("watch did not leave the alternate screen: %q", out.String()[max(0, out.Len()-40):])
	}
}
