package proxy

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/store"
)

// benchPTY opens an echoing PTY shell through a bastion with or without
// filters, and returns its stdin and stdout after the first prompt.
func benchPTY(b *testing.B, filters bool, cfg Config) (io.Writer, io.Reader) {
	h := newHarness(b, harnessOptions{cfg: cfg})
	if filters {
		// Ten filters, none of which holds the benchmark's commands.
		ctx := store.WithActor(context.Background(), "bench")
		for i, nf := range []store.NewFilter{
			{Action: "deny", Commands: []string{"reboot", "shutdown", "halt", "poweroff"}},
			{Action: "deny", Commands: []string{"rm -rf /"}},
			{Action: "deny", Regex: `\bmkfs(\.\w+)?\b`},
			{Action: "review", Regex: `^systemctl (stop|restart|disable) `},
			{Action: "review", Commands: []string{"iptables", "nft"}},
			{Action: "warn", Commands: []string{"env"}},
			{Action: "warn", Regex: `(?i)\bdrop\s+(table|database)\b`},
			{Action: "deny", Regex: `^dd .*of=/dev/`},
			{Action: "allow", Priority: 10, Commands: []string{"uptime"}},
			{Action: "deny", Commands: []string{"init 0", "init 6"}},
		} {
			nf.Name = "bench-" + strconv.Itoa(i)
			if _, err := h.st.AddFilter(ctx, nf); err != nil {
				b.Fatal(err)
			}
		}
	}
	c := h.dial()
	b.Cleanup(func() { c.Close() })
	s, err := c.NewSession()
	if err != nil {
		b.Fatal(err)
	}
	stdin, _ := s.StdinPipe()
	stdout, _ := s.StdoutPipe()
	if err := s.RequestPty("xterm-256color", 24, 80, gossh.TerminalModes{gossh.ECHO: 1}); err != nil {
		b.Fatal(err)
	}
	if err := s.Shell(); err != nil {
		b.Fatal(err)
	}
	readUntil(b, stdout, []byte("$ "))
	return stdin, stdout
}

// readUntil reads r until what it read ends with suffix; it returns how
// many bytes it read.
func readUntil(b *testing.B, r io.Reader, suffix []byte) int {
	var tail []byte
	buf := make([]byte, 64<<10)
	n := 0
	for {
		k, err := r.Read(buf)
		n += k
		tail = append(tail, buf[:k]...)
		if len(tail) > 64 {
			tail = tail[len(tail)-64:]
		}
		if bytes.HasSuffix(tail, suffix) {
			return n
		}
		if err != nil {
			b.Fatalf("read: %v after %d bytes", err, n)
		}
	}
}

// BenchmarkEchoLatency measures a keystroke's round trip through the
// bastion to an asset that echoes it: the time from typing a character to
// seeing it, with the session's filters (and thus its line tracker's
// judging) on and off. The line tracker runs in both (the command audit
// needs it); "on" adds the rules.
func BenchmarkEchoLatency(b *testing.B) {
	for _, filters := range []bool{false, true} {
		name := "filters=off"
		if filters {
			name = "filters=on"
		}
		b.Run(name, func(b *testing.B) {
			stdin, stdout := benchPTY(b, filters, Config{})
			key := []byte{'a'}
			one := make([]byte, 1)
			typed := 0
			for b.Loop() {
				if typed == 64 {
					// Keep the line short: erase it, untimed.
					b.StopTimer()
					stdin.Write([]byte{0x15})
					if _, err := io.ReadFull(stdout, make([]byte, 3*typed)); err != nil {
						b.Fatal(err)
					}
					typed = 0
					b.StartTimer()
				}
				if _, err := stdin.Write(key); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(stdout, one); err != nil || one[0] != 'a' {
					b.Fatalf("echo %q %v", one, err)
				}
				typed++
			}
		})
	}
}

// BenchmarkPTYOutput moves 64 MiB of NUL bytes through an interactive
// session (a command typed at the prompt), with filters on and off: the
// line tracker only scans output while a command runs. The Enter's settle
// time is cut to 1 ms so that it does not weigh on the figure.
func BenchmarkPTYOutput(b *testing.B) {
	const size = 64 << 20
	for _, filters := range []bool{false, true} {
		name := "filters=off"
		if filters {
			name = "filters=on"
		}
		b.Run(name, func(b *testing.B) {
			stdin, stdout := benchPTY(b, filters, Config{EchoSettle: time.Millisecond})
			cmd := []byte("zero " + strconv.Itoa(size) + "\r")
			b.SetBytes(size)
			for b.Loop() {
				if _, err := stdin.Write(cmd); err != nil {
					b.Fatal(err)
				}
				if n := readUntil(b, stdout, []byte("\x00$ ")); n < size {
					b.Fatalf("got %d bytes", n)
				}
			}
		})
	}
}
