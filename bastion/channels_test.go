package bastion

import (
	"testing"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// TestWindowChangeAnsweredByChannel: window changes are answered by the
// channel and handed to the terminal watching it (no goroutine of the
// terminal's waits for them), kept with the PTY request before one
// watches, not passed on to charm.land/ssh, and ignored without a PTY or
// with a malformed payload; other requests still pass.
func TestWindowChangeAnsweredByChannel(t *testing.T) {
	wc := func(cols, rows uint32) *gossh.Request {
		return &gossh.Request{Type: "window-change", Payload: gossh.Marshal(struct{ C, R, W, H uint32 }{cols, rows, 0, 0})}
	}
	for _, tc := range []struct {
		name    string
		pty     bool
		reqs    []*gossh.Request
		want    []ssh.Window // the sizes the watcher sees
		passed  []string     // the request types passed on
		current int          // the PTY request's width at the end (0: no PTY)
	}{
		{name: "sizes reach the watcher", pty: true,
			reqs: []*gossh.Request{wc(100, 30), {Type: "shell"}, wc(120, 40)},
			want: []ssh.Window{{Width: 100, Height: 30}, {Width: 120, Height: 40}}, passed: []string{"shell"}, current: 120},
		{name: "no PTY", reqs: []*gossh.Request{wc(100, 30), {Type: "exec"}}, passed: []string{"exec"}},
		{name: "malformed and zero sizes", pty: true,
			reqs:   []*gossh.Request{{Type: "window-change", Payload: []byte{0, 0, 1}}, wc(0, 30)},
			passed: nil, current: 80},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &channel{}
			if tc.pty {
				c.pty = &ssh.Pty{Term: "xterm", Window: ssh.Window{Width: 80, Height: 24}}
			}
			var got []ssh.Window
			if _, hasPty := c.watchWindow(func(w ssh.Window) { got = append(got, w) }); hasPty != tc.pty {
				t.Fatalf("watchWindow reports a PTY: %v", hasPty)
			}
			in := make(chan *gossh.Request, len(tc.reqs))
			for _, r := range tc.reqs {
				in <- r
			}
			close(in)
			out := make(chan *gossh.Request)
			go c.filterRequests(in, out)
			var passed []string
			for r := range out {
				passed = append(passed, r.Type)
			}
			if len(passed) != len(tc.passed) || (len(passed) > 0 && passed[0] != tc.passed[0]) {
				t.Fatalf("passed on %v, want %v", passed, tc.passed)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("the watcher saw %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("the watcher saw %v, want %v", got, tc.want)
				}
			}
			if p, ok := c.ptyRequest(); ok && p.Window.Width != tc.current {
				t.Fatalf("the PTY request's width is %d, want %d", p.Window.Width, tc.current)
			}
		})
	}
}

// TestWindowBeforeWatching: a size that came before the terminal
// watched is the one watchWindow returns.
func TestWindowBeforeWatching(t *testing.T) {
	c := &channel{pty: &ssh.Pty{Window: ssh.Window{Width: 80, Height: 24}}}
	c.windowChange(&gossh.Request{Type: "window-change", Payload: gossh.Marshal(struct{ C, R, W, H uint32 }{132, 50, 0, 0})})
	p, ok := c.watchWindow(func(ssh.Window) {})
	if !ok || p.Window.Width != 132 || p.Window.Height != 50 {
		t.Fatalf("watchWindow: %+v %v, want 132x50", p.Window, ok)
	}
}

// TestParsePtyRequest: a pty-req's terminal, size and modes, and a
// malformed one refused.
func TestParsePtyRequest(t *testing.T) {
	modes := []byte{53, 0, 0, 0, 1, 0} // ECHO 1, then TTY_OP_END
	payload := gossh.Marshal(struct {
		Term       string
		C, R, W, H uint32
		Modes      string
	}{"xterm-256color", 132, 43, 640, 480, string(modes)})
	p, ok := parsePtyRequest(payload)
	want := ssh.Window{Width: 132, Height: 43, WidthPixels: 640, HeightPixels: 480}
	if !ok || p.Term != "xterm-256color" || p.Window != want || p.Modes[53] != 1 {
		t.Fatalf("parsePtyRequest: %+v %v", p, ok)
	}
	if _, ok := parsePtyRequest(payload[:10]); ok {
		t.Fatal("a truncated pty-req was taken")
	}
}

// FuzzChannelRequests: the client's pty-req and window-change payloads
// never panic, and what they give is what the bytes say.
func FuzzChannelRequests(f *testing.F) {
	f.Add(gossh.Marshal(struct{ C, R, W, H uint32 }{80, 24, 0, 0}))
	f.Add(gossh.Marshal(struct {
		Term       string
		C, R, W, H uint32
		Modes      string
	}{"xterm", 80, 24, 0, 0, "\x35\x00\x00\x00\x01\x00"}))
	f.Add([]byte{0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		if w, ok := parseWindowChange(b); ok && (w.Width <= 0 || w.Height <= 0) {
			t.Fatalf("window-change %x gave %+v", b, w)
		}
		_, _ = parsePtyRequest(b)
		c := &channel{pty: &ssh.Pty{}}
		c.windowChange(&gossh.Request{Type: "window-change", Payload: b})
	})
}

// TestTerminalFollowsChannelWindow: window changes that the channel
// answers while the terminal is being made, and after, reach the
// terminal and the attached view, the latest last (run with -race).
func TestTerminalFollowsChannelWindow(t *testing.T) {
	c := &channel{pty: &ssh.Pty{Term: "xterm", Window: ssh.Window{Width: 80, Height: 24}}}
	change := func(cols uint32) {
		c.windowChange(&gossh.Request{Type: "window-change", Payload: gossh.Marshal(struct{ C, R, W, H uint32 }{cols, 24, 0, 0})})
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for cols := uint32(81); cols <= 120; cols++ {
			change(cols)
		}
	}()
	in := make(chan []byte)
	term := newTerminal(&chanSession{in: in}, c)
	defer term.stop()
	defer close(in)
	<-done
	v := term.attach()
	p, winch, ok := v.Pty()
	if !ok || p.Window.Width != 120 {
		t.Fatalf("the terminal's window: %+v %v, want width 120", p.Window, ok)
	}
	change(132)
	if w := <-winch; w.Width != 132 {
		t.Fatalf("the view got %+v, want width 132", w)
	}
}
