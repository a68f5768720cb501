package proxy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/sshdial"
)

// remote is the shell or command started on the asset: its session
// channel, spoken to directly rather than through gossh.Client and
// gossh.Session, whose four goroutines per connection (global requests,
// channel opens, the connection's end, the session's requests) would each
// hold a stack for as long as the session is open. The control loop
// serves all of that instead (serve); see docs/performance.md.
type remote struct {
	conn   *sshdial.Conn
	ch     gossh.Channel
	reqs   <-chan *gossh.Request // the session channel's requests
	stdin  io.WriteCloser
	stdout io.Reader
	stderr io.Reader

	// ended is closed once the channel's requests end (the channel is
	// closed); exit then holds how the command ended.
	ended chan struct{}
	exit  exitInfo
}

// exitInfo is what the asset said of the end of the command.
type exitInfo struct {
	status int    // exit-status; -1 when none came
	signal string // exit-signal's name; "" when none came
	bad    bool   // an exit-signal that could not be read
}

// How a session channel may close without an exit status to pass on.
var (
	errExitMissing    = errors.New("remote command exited without exit status or exit signal")
	errExitUnreadable = errors.New("the asset's exit-signal cannot be read")
)

// stdinPipe is the session's stdin: closing it sends EOF.
type stdinPipe struct{ ch gossh.Channel }

func (p stdinPipe) Write(b []byte) (int, error) { return p.ch.Write(b) }
func (p stdinPipe) Close() error                { return p.ch.CloseWrite() }

// openRemote opens a session channel on the asset.
func openRemote(conn *sshdial.Conn) (*remote, error) {
	ch, reqs, err := conn.OpenChannel("session", nil)
	if err != nil {
		return nil, err
	}
	return &remote{conn: conn, ch: ch, reqs: reqs, stdin: stdinPipe{ch}, stdout: ch, stderr: ch.Stderr(),
		ended: make(chan struct{}), exit: exitInfo{status: -1}}, nil
}

// request sends a channel request that wants a reply and turns a
// refusal into failed.
func (r *remote) request(name string, payload []byte, failed string) error {
	ok, err := r.ch.SendRequest(name, true, payload)
	if err == nil && !ok {
		err = errors.New(failed)
	}
	return err
}

func (r *remote) setenv(name, value string) error {
	return r.request("env", gossh.Marshal(&struct{ Name, Value string }{name, value}), "ssh: setenv failed")
}

// requestPty asks for a terminal as gossh.Session.RequestPty does.
func (r *remote) requestPty(term string, h, w int, modes gossh.TerminalModes) error {
	var tm []byte
	for k, v := range modes {
		tm = append(tm, k)
		tm = binary.BigEndian.AppendUint32(tm, v)
	}
	tm = append(tm, 0) // TTY_OP_END
	msg := struct {
		Term                         string
		Columns, Rows, Width, Height uint32
		Modelist                     string
	}{term, uint32(w), uint32(h), uint32(w * 8), uint32(h * 8), string(tm)}
	return r.request("pty-req", gossh.Marshal(&msg), "ssh: pty-req failed")
}

func (r *remote) shell() error { return r.request("shell", nil, "ssh: could not start shell") }

func (r *remote) start(cmd string) error {
	return r.request("exec", gossh.Marshal(&struct{ Command string }{cmd}), fmt.Sprintf("ssh: command %v failed", cmd))
}

func (r *remote) windowChange(h, w int) error {
	msg := struct{ Columns, Rows, Width, Height uint32 }{uint32(w), uint32(h), uint32(w * 8), uint32(h * 8)}
	_, err := r.ch.SendRequest("window-change", false, gossh.Marshal(&msg))
	return err
}

func (r *remote) signal(sig string) error {
	_, err := r.ch.SendRequest("signal", false, gossh.Marshal(&struct{ Signal string }{sig}))
	return err
}

func (r *remote) close() error { return r.ch.Close() }

// channelRequest takes one of the session channel's requests: the exit
// status or signal is kept; anything else (an OpenSSH server's
// keepalive@openssh.com) is refused, as gossh.Session does.
func (r *remote) channelRequest(req *gossh.Request) {
	switch req.Type {
	case "exit-status":
		if len(req.Payload) >= 4 {
			r.exit.status = int(binary.BigEndian.Uint32(req.Payload))
		}
	case "exit-signal":
		var sig struct {
			Signal     string
			CoreDumped bool
			Error      string
			Lang       string
		}
		if err := gossh.Unmarshal(req.Payload, &sig); err != nil {
			r.exit.bad = true
		} else {
			r.exit.signal = sig.Signal
		}
	}
	if req.WantReply {
		_ = req.Reply(false, nil)
	}
}

// closeConn closes the asset's connection and takes what it still
// delivers, until x/crypto closes each of its queues: its connection loop
// blocks on a full queue of global requests, channel opens or requests of
// the session channel (sreqs; nil when none was opened), and unread ones
// would keep it (and its reader) from ever ending.
func closeConn(c *sshdial.Conn, sreqs <-chan *gossh.Request) {
	_ = c.Close()
	a := assetEvents{reqs: sreqs, global: c.Reqs, chans: c.Chans}
	for a.reqs != nil || a.global != nil || a.chans != nil {
		select {
		case _, ok := <-a.reqs:
			if !ok {
				a.reqs = nil
			}
		case _, ok := <-a.global:
			if !ok {
				a.global = nil
			}
		case nc, ok := <-a.chans:
			if !ok {
				a.chans = nil
			} else {
				rejectChannel(nc)
			}
		}
	}
}

// rejectChannel rejects a channel the asset opens, as gossh.Client does
// for a client that asked for none (no forwarding, no agent).
func rejectChannel(nc gossh.NewChannel) {
	_ = nc.Reject(gossh.UnknownChannelType, "unknown channel type")
}

// signalNumbers numbers the signals an exit-signal may name, for the status
// 128+n that gossh.Session.Wait gives (and shells do).
var signalNumbers = map[string]int{
	"ABRT": 6, "ALRM": 14, "FPE": 8, "HUP": 1, "ILL": 4, "INT": 2,
	"KILL": 9, "PIPE": 13, "QUIT": 3, "SEGV": 11, "TERM": 15,
}

// outcome maps the end of the command as gossh.Session.Wait does: an
// exit status, or 128+n for a signal (exited); otherwise missing reports
// whether the channel closed without either (rather than with an
// exit-signal that could not be read).
func (e exitInfo) outcome() (status int, exited, missing bool) {
	switch {
	case e.bad:
		return ExitLost, false, false
	case e.status >= 0:
		return e.status, true, false
	case e.signal != "":
		return 128 + signalNumbers[e.signal], true, false
	}
	return ExitLost, false, true
}
