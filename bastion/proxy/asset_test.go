package proxy

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

// testAsset is an in-process SSH server standing in for an asset. It runs
// a tiny command language instead of a shell (see run).
type testAsset struct {
	t        testing.TB
	l        net.Listener
	addr     string
	port     int
	hostKey  gossh.Signer
	password string
	userKey  gossh.PublicKey

	conns    atomic.Int64 // open connections
	accepted atomic.Int64 // connections accepted, ever
	// maxSessions, when not zero, caps the session channels open at
	// once on one connection, as sshd's MaxSessions.
	maxSessions atomic.Int64
	// stallOpen makes the next channel open go unanswered, as an asset
	// that hangs behind a live TCP connection.
	stallOpen atomic.Bool
	silent    atomic.Bool // stop answering global requests (keepalives)
	// hold, while not nil, keeps new connections waiting before the SSH
	// handshake, as a slow asset (holdHandshakes).
	hold chan struct{}

	mu      sync.Mutex
	ran     []string // every command run, in order
	open    map[net.Conn]bool
	lastPty ptyInfo
	lastEnv map[string]string
	wg      sync.WaitGroup
}

type ptyInfo struct {
	Term          string
	Width, Height int
	Modes         string
}

func newSigner(t testing.TB) gossh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// startAsset starts an asset accepting user "root" with password (when
// not empty) or the key userKey (when not nil).
func startAsset(t testing.TB, password string, userKey gossh.PublicKey) *testAsset {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &testAsset{t: t, l: l, addr: l.Addr().String(), port: l.Addr().(*net.TCPAddr).Port,
		hostKey: newSigner(t), password: password, userKey: userKey, open: map[net.Conn]bool{}}
	a.wg.Add(1)
	go a.accept()
	t.Cleanup(a.Close)
	return a
}

func (a *testAsset) config() *gossh.ServerConfig {
	cfg := &gossh.ServerConfig{}
	if a.password != "" {
		cfg.PasswordCallback = func(c gossh.ConnMetadata, pw []byte) (*gossh.Permissions, error) {
			if c.User() == "root" && string(pw) == a.password {
				return nil, nil
			}
			return nil, fmt.Errorf("wrong password")
		}
	}
	if a.userKey != nil {
		cfg.PublicKeyCallback = func(c gossh.ConnMetadata, k gossh.PublicKey) (*gossh.Permissions, error) {
			if c.User() == "root" && string(k.Marshal()) == string(a.userKey.Marshal()) {
				return nil, nil
			}
			return nil, fmt.Errorf("unknown key")
		}
	}
	a.mu.Lock()
	cfg.AddHostKey(a.hostKey)
	a.mu.Unlock()
	return cfg
}

// SetHostKey replaces the asset's host key (as a reinstalled machine).
func (a *testAsset) SetHostKey(s gossh.Signer) {
	a.mu.Lock()
	a.hostKey = s
	a.mu.Unlock()
}

func (a *testAsset) accept() {
	defer a.wg.Done()
	for {
		c, err := a.l.Accept()
		if err != nil {
			return
		}
		a.mu.Lock()
		a.open[c] = true
		a.mu.Unlock()
		a.conns.Add(1)
		a.accepted.Add(1)
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			defer func() {
				a.mu.Lock()
				delete(a.open, c)
				a.mu.Unlock()
				a.conns.Add(-1)
			}()
			a.serve(c)
		}()
	}
}

// holdHandshakes keeps the connections that arrive from now on waiting
// before the SSH handshake until releaseHandshakes.
func (a *testAsset) holdHandshakes() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.hold == nil {
		a.hold = make(chan struct{})
	}
}

func (a *testAsset) releaseHandshakes() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.hold != nil {
		close(a.hold)
		a.hold = nil
	}
}

// Close stops the asset and waits for its goroutines.
func (a *testAsset) Close() {
	a.releaseHandshakes()
	a.l.Close()
	a.mu.Lock()
	for c := range a.open {
		c.Close()
	}
	a.mu.Unlock()
	a.wg.Wait()
}

// dropConns closes every open connection, as a rebooting asset would.
func (a *testAsset) dropConns() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for c := range a.open {
		c.Close()
	}
}

func (a *testAsset) serve(nc net.Conn) {
	defer nc.Close()
	a.mu.Lock()
	hold := a.hold
	a.mu.Unlock()
	if hold != nil {
		<-hold
	}
	sc, chans, reqs, err := gossh.NewServerConn(nc, a.config())
	if err != nil {
		return
	}
	defer sc.Close()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for r := range reqs {
			if a.silent.Load() {
				continue // never answer: a dead asset behind a live TCP connection
			}
			if r.WantReply {
				r.Reply(false, nil)
			}
		}
	}()
	var open atomic.Int64 // session channels open on this connection
	for nch := range chans {
		if nch.ChannelType() != "session" {
			nch.Reject(gossh.UnknownChannelType, "no")
			continue
		}
		if a.stallOpen.CompareAndSwap(true, false) {
			continue // never answered: the client waits until it closes
		}
		if max := a.maxSessions.Load(); max > 0 && open.Load() >= max {
			nch.Reject(gossh.Prohibited, "open failed") // as sshd past MaxSessions
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			continue
		}
		open.Add(1)
		a.wg.Add(1)
		go func() { defer a.wg.Done(); defer open.Add(-1); a.session(ch, creqs) }()
	}
}

type assetSession struct {
	a     *testAsset
	ch    gossh.Channel
	onlcr bool // a PTY with ECHO: output "\n" becomes "\r\n"
	mu    sync.Mutex
	pty   *ptyInfo
	sigs  chan string
	gone  chan struct{} // closed when the channel or the connection closes
}

func (a *testAsset) session(ch gossh.Channel, reqs <-chan *gossh.Request) {
	defer ch.Close()
	reqsDone := make(chan struct{})
	s := &assetSession{a: a, ch: ch, sigs: make(chan string, 8), gone: reqsDone}
	start := make(chan string, 1)
	env := map[string]string{}
	go func() {
		defer close(reqsDone)
		started := false
		for req := range reqs {
			ok := true
			switch req.Type {
			case "pty-req":
				var p struct {
					Term                         string
					Columns, Rows, Width, Height uint32
					Modes                        string
				}
				if err := gossh.Unmarshal(req.Payload, &p); err != nil {
					ok = false
					break
				}
				s.mu.Lock()
				s.pty = &ptyInfo{Term: p.Term, Width: int(p.Columns), Height: int(p.Rows), Modes: p.Modes}
				s.mu.Unlock()
				a.mu.Lock()
				a.lastPty = *s.pty
				a.mu.Unlock()
			case "window-change":
				var w struct{ Columns, Rows, Width, Height uint32 }
				if err := gossh.Unmarshal(req.Payload, &w); err == nil {
					s.mu.Lock()
					if s.pty != nil {
						s.pty.Width, s.pty.Height = int(w.Columns), int(w.Rows)
					}
					s.mu.Unlock()
				}
			case "env":
				var kv struct{ Name, Value string }
				if gossh.Unmarshal(req.Payload, &kv) == nil {
					env[kv.Name] = kv.Value
				}
			case "signal":
				var sig struct{ Signal string }
				if gossh.Unmarshal(req.Payload, &sig) == nil {
					select {
					case s.sigs <- sig.Signal:
					default:
					}
				}
			case "exec", "shell":
				if started {
					ok = false
					break
				}
				started = true
				cmd := ""
				if req.Type == "exec" {
					var c struct{ Command string }
					gossh.Unmarshal(req.Payload, &c)
					cmd = c.Command
				}
				a.mu.Lock()
				a.lastEnv = env
				a.mu.Unlock()
				// Reply before the command runs: a command that ends at
				// once must not close the channel before the reply.
				if req.WantReply {
					req.Reply(true, nil)
				}
				start <- cmd
				continue
			default:
				ok = false
			}
			if req.WantReply {
				req.Reply(ok, nil)
			}
		}
	}()
	var cmd string
	select {
	case cmd = <-start:
	case <-reqsDone:
		return
	}
	var status int
	var signal string
	s.mu.Lock()
	echo := s.pty != nil && modeSet(s.pty.Modes, gossh.ECHO)
	s.mu.Unlock()
	switch {
	case cmd == "" && echo:
		s.onlcr = true
		status, signal = s.echoShell()
	case cmd == "":
		status, signal = s.shell()
	default:
		status, signal = s.run(cmd, ch)
	}
	if signal != "" {
		ch.SendRequest("exit-signal", false, gossh.Marshal(struct {
			Signal     string
			CoreDumped bool
			Error      string
			Lang       string
		}{Signal: signal}))
	} else if status >= 0 {
		ch.SendRequest("exit-status", false, gossh.Marshal(struct{ Status uint32 }{uint32(status)}))
	}
	ch.Close()
	<-reqsDone
}

// shell runs one command per input line, writing its output raw.
func (s *assetSession) shell() (int, string) {
	io.WriteString(s.ch, "$ ")
	r := bufio.NewReader(s.ch)
	for {
		line, err := r.ReadString('\r')
		line = strings.TrimSpace(line)
		if line != "" {
			if f := strings.Fields(line); f[0] == "exit" {
				n := 0
				if len(f) > 1 {
					n, _ = strconv.Atoi(f[1])
				}
				return n, ""
			}
			if status, sig := s.run(line, nil); sig != "" {
				return status, sig
			}
			io.WriteString(s.ch, "$ ")
		}
		if err != nil {
			return 0, ""
		}
	}
}

// modeSet reports whether the encoded terminal modes of a pty-req set
// opcode to a non-zero value.
func modeSet(modes string, opcode uint8) bool {
	b := []byte(modes)
	for len(b) >= 5 && b[0] != 0 {
		if b[0] == opcode {
			return b[1]|b[2]|b[3]|b[4] != 0
		}
		b = b[5:]
	}
	return false
}

// Ran returns the commands run so far.
func (a *testAsset) Ran() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.ran...)
}

// echoShell is shell with a line discipline, as a PTY with ECHO gives:
// typed characters are echoed, backspace erases one, ^U the line, ^C
// abandons it, Enter runs it; ^T runs it too (a key bound to
// accept-line), the command noecho stops the echo (stty -echo), and the
// command passwd reads one line at a "Password: " prompt without echo.
func (s *assetSession) echoShell() (int, string) {
	io.WriteString(s.ch, "$ ")
	var line []byte
	echo, secret := true, false
	buf := make([]byte, 1024)
	for {
		n, err := s.ch.Read(buf)
		for _, c := range buf[:n] {
			switch {
			case strings.TrimSpace(string(line)) == "noecho" && (c == '\r' || c == '\n'):
				io.WriteString(s.ch, "\r\n$ ")
				line, echo = nil, false
			case strings.TrimSpace(string(line)) == "passwd" && (c == '\r' || c == '\n'):
				io.WriteString(s.ch, "\r\nPassword: ")
				line, echo, secret = nil, false, true
			case secret && (c == '\r' || c == '\n' || c == 0x03):
				io.WriteString(s.ch, "\r\n$ ")
				line, echo, secret = nil, true, false
			case c == '\r' || c == '\n' || c == 0x14:
				io.WriteString(s.ch, "\r\n")
				cmd := strings.TrimSpace(string(line))
				line = nil
				if f := strings.Fields(cmd); len(f) > 0 && f[0] == "exit" {
					n := 0
					if len(f) > 1 {
						n, _ = strconv.Atoi(f[1])
					}
					return n, ""
				}
				if cmd != "" {
					if status, sig := s.run(cmd, nil); sig != "" {
						return status, sig
					}
				}
				io.WriteString(s.ch, "$ ")
			case c == 0x7f || c == 0x08:
				if len(line) > 0 {
					line = line[:len(line)-1]
					io.WriteString(s.ch, "\b \b")
				}
			case c == 0x15:
				io.WriteString(s.ch, strings.Repeat("\b \b", len(line)))
				line = nil
			case c == 0x03:
				io.WriteString(s.ch, "^C\r\n$ ")
				line = nil
			case c >= 0x20:
				line = append(line, c)
				if echo {
					s.ch.Write([]byte{c})
				}
			}
		}
		if err != nil {
			return 0, ""
		}
	}
}

type onlcrWriter struct{ w io.Writer }

func (o onlcrWriter) Write(p []byte) (int, error) {
	if _, err := o.w.Write(bytes.ReplaceAll(p, []byte("\n"), []byte("\r\n"))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// run runs one command of the test language:
//
//	echo WORDS       WORDS and "\n" on stdout
//	err WORDS        WORDS and "\n" on stderr
//	exit N           exit status N
//	cat              stdin to stdout until EOF
//	sha              sha256 and length of stdin
//	zero N           N NUL bytes on stdout
//	raw              "a\nb\r\n" on stdout, untouched
//	term             TERM WxH of the PTY
//	waitsig          waits for a signal and dies of it
//	hang             blocks until the connection ends; no exit status
//	env NAME         the value of an env request
//	sh               runs the lines of stdin as commands (shell)
func (s *assetSession) run(line string, stdin io.Reader) (int, string) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return 0, ""
	}
	s.a.mu.Lock()
	s.a.ran = append(s.a.ran, line)
	s.a.mu.Unlock()
	var out io.Writer = s.ch
	if s.onlcr {
		out = onlcrWriter{s.ch}
	}
	arg := strings.Join(f[1:], " ")
	switch f[0] {
	case "echo":
		io.WriteString(out, arg+"\n")
	case "err":
		io.WriteString(s.ch.Stderr(), arg+"\n")
	case "exit":
		n, _ := strconv.Atoi(arg)
		return n, ""
	case "cat":
		if stdin != nil {
			io.Copy(out, stdin)
		}
	case "ready": // cat, once it said it runs
		io.WriteString(out, "ready\n")
		io.Copy(out, stdin)
	case "sha":
		h := sha256.New()
		n, _ := io.Copy(h, stdin)
		fmt.Fprintf(out, "%s %d\n", hex.EncodeToString(h.Sum(nil)), n)
	case "zero":
		n, _ := strconv.ParseInt(arg, 10, 64)
		buf := make([]byte, 32<<10)
		for n > 0 {
			k := min(n, int64(len(buf)))
			if _, err := out.Write(buf[:k]); err != nil {
				return 1, ""
			}
			n -= k
		}
	case "raw":
		io.WriteString(out, "a\nb\r\n")
	case "term":
		s.mu.Lock()
		p := s.pty
		s.mu.Unlock()
		if p == nil {
			io.WriteString(out, "no pty\n")
		} else {
			fmt.Fprintf(out, "%s %dx%d\r\n", p.Term, p.Width, p.Height)
		}
	case "waitsig":
		io.WriteString(out, "waiting\n")
		return -1, <-s.sigs
	case "hang":
		io.WriteString(out, "hanging\n")
		<-s.gone // until the connection or the channel closes
		return -1, ""
	case "sh":
		// A shell reading its commands from stdin.
		return s.shell()
	case "env":
		s.a.mu.Lock()
		v := s.a.lastEnv[arg]
		s.a.mu.Unlock()
		io.WriteString(out, v+"\n")
	default:
		fmt.Fprintf(s.ch.Stderr(), "%s: command not found\n", f[0])
		return 127, ""
	}
	return 0, ""
}
