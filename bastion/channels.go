package bastion

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/store"
)

// Limits on what a client may ask of one session channel.
const (
	maxEnvRequests  = 64   // env requests kept per channel
	maxEnvValue     = 1024 // bytes of one env value
	channelReqBurst = 256  // channel requests at once …
	channelReqRate  = 64   // … and per second after that
)

// sessionChannel opens a session channel under the per-connection cap
// and filters its requests before charm.land/ssh's session handler sees
// them.
func (s *Server) sessionChannel(srv *ssh.Server, conn *gossh.ServerConn, nc gossh.NewChannel, ctx ssh.Context) {
	cs := stateOf(ctx)
	s.keepalives(ctx, cs, conn)
	if !cs.openChannel(s.cfg.MaxChannels) {
		_ = nc.Reject(gossh.ResourceShortage, fmt.Sprintf("jms: too many channels on this connection (at most %d)", s.cfg.MaxChannels))
		return
	}
	defer cs.closeChannel()
	ssh.DefaultSessionHandler(srv, conn, &newSessionChannel{NewChannel: nc, s: s}, ctx)
}

// ruleChecked refuses a new channel, of any type, when a login rule
// denies its user now: a connection opened before "deny after 18:00"
// (or kept by ControlMaster) opens nothing after 18:00. A store that
// cannot answer refuses the channel.
func (s *Server) ruleChecked(h ssh.ChannelHandler) ssh.ChannelHandler {
	return func(srv *ssh.Server, conn *gossh.ServerConn, nc gossh.NewChannel, ctx ssh.Context) {
		user, source := "", hostOf(conn.RemoteAddr())
		if conn.Permissions != nil {
			user = conn.Permissions.Extensions[extUser]
		}
		u, err := s.st.GetUser(ctx, user)
		var rule store.LoginRule
		denied := false
		if err == nil {
			rule, denied, err = s.ruleDenies(ctx, user, u.Groups, source)
		}
		switch {
		case err != nil:
			s.log.Error("checking login rules for a channel", "user", user, "err", err)
			_ = nc.Reject(gossh.ResourceShortage, "jms: internal error")
		case denied:
			s.audit(ctx, user, source, methodConnect, store.LoginFailure, "denied by login rule "+rule.Name)
			_ = nc.Reject(gossh.Prohibited, "jms: "+ruleRefusal(rule, user, source))
		default:
			h(srv, conn, nc, ctx)
		}
	}
}

// refuseChannel refuses every channel type but session, saying why.
func (s *Server) refuseChannel(_ *ssh.Server, conn *gossh.ServerConn, nc gossh.NewChannel, _ ssh.Context) {
	var msg string
	switch nc.ChannelType() {
	case "direct-tcpip", "forwarded-tcpip", "direct-streamlocal@openssh.com", "forwarded-streamlocal@openssh.com":
		msg = "jms: port forwarding is not enabled on this bastion"
	case "auth-agent@openssh.com":
		msg = "jms: agent forwarding is not enabled on this bastion"
	case "x11":
		msg = "jms: X11 forwarding is not enabled on this bastion"
	default:
		msg = fmt.Sprintf("jms: channel type %q is not supported", nc.ChannelType())
	}
	s.log.Info("channel refused", "user", boundName(conn.User()), "source", conn.RemoteAddr().String(), "type", nc.ChannelType())
	_ = nc.Reject(gossh.Prohibited, msg)
}

// globalRequest answers every global request (tcpip-forward,
// keepalive@openssh.com, …) with a failure, and closes a connection
// that floods them.
func (s *Server) globalRequest(ctx ssh.Context, _ *ssh.Server, req *gossh.Request) (bool, []byte) {
	cs := stateOf(ctx)
	cs.mu.Lock()
	ok := cs.globalReqs.allow(time.Now())
	cs.mu.Unlock()
	if !ok {
		s.log.Warn("closing a connection that floods global requests", "source", cs.source)
		if c, _ := ctx.Value(ssh.ContextKeyConn).(*gossh.ServerConn); c != nil {
			_ = c.Close()
		}
	}
	return false, nil
}

// newSessionChannel wraps a session channel being opened so that its
// requests pass through filterRequests.
type newSessionChannel struct {
	gossh.NewChannel
	s *Server
}

func (n *newSessionChannel) Accept() (gossh.Channel, <-chan *gossh.Request, error) {
	ch, reqs, err := n.NewChannel.Accept()
	if err != nil {
		return nil, nil, err
	}
	c := &channel{Channel: ch}
	out := make(chan *gossh.Request)
	go c.filterRequests(reqs, out)
	return c, out, nil
}

// channel is a session channel as the handler sees it: the handler
// finds it behind sess.Stderr() (see channelOf), with the PTY request
// the client made.
type channel struct {
	gossh.Channel

	mu       sync.Mutex
	pty      *ssh.Pty
	onWindow func(ssh.Window) // the terminal's, once it watches the window
}

// channelStderr is the channel's stderr, carrying the channel.
type channelStderr struct {
	io.ReadWriter
	ch *channel
}

func (c *channel) Stderr() io.ReadWriter {
	return &channelStderr{ReadWriter: c.Channel.Stderr(), ch: c}
}

// channelOf returns the channel under sess. charm.land/ssh returns the
// channel's own Stderr when it does not emulate a PTY, which this
// server never does.
func channelOf(sess ssh.Session) *channel {
	if cs, ok := sess.Stderr().(*channelStderr); ok {
		return cs.ch
	}
	return nil
}

// ptyRequest returns the client's pty-req, if it made one.
func (c *channel) ptyRequest() (ssh.Pty, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pty == nil {
		return ssh.Pty{}, false
	}
	return *c.pty, true
}

// watchWindow has fn called with each window change from now on, and
// returns the PTY request as it stands (its window the latest), if any.
func (c *channel) watchWindow(fn func(ssh.Window)) (ssh.Pty, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onWindow = fn
	if c.pty == nil {
		return ssh.Pty{}, false
	}
	return *c.pty, true
}

// windowChange answers a window-change request here rather than in
// charm.land/ssh, whose answer is a channel that needs a goroutine of its
// own to read: the size is kept with the PTY request and handed to the
// terminal watching it. Without a PTY it is refused, as charm.land/ssh
// would.
func (c *channel) windowChange(req *gossh.Request) {
	w, ok := parseWindowChange(req.Payload)
	c.mu.Lock()
	if c.pty == nil {
		ok = false
	}
	var fn func(ssh.Window)
	if ok {
		c.pty.Window = w
		fn = c.onWindow
	}
	c.mu.Unlock()
	if fn != nil {
		fn(w)
	}
	if req.WantReply {
		_ = req.Reply(ok, nil)
	}
}

// parseWindowChange reads a window-change payload (RFC 4254 6.7).
func parseWindowChange(b []byte) (ssh.Window, bool) {
	var msg windowDims
	if err := gossh.Unmarshal(b, &msg); err != nil || msg.Columns == 0 || msg.Rows == 0 {
		return ssh.Window{}, false
	}
	return msg.window(), true
}

// windowDims is a window's size as pty-req and window-change carry it.
type windowDims struct{ Columns, Rows, WidthPx, HeightPx uint32 }

func (d windowDims) window() ssh.Window {
	return ssh.Window{Width: int(d.Columns), Height: int(d.Rows), WidthPixels: int(d.WidthPx), HeightPixels: int(d.HeightPx)}
}

// filterRequests passes the channel's requests on, except: env
// variables other than those allowedEnv names, agent and X11 forwarding
// (refused), window changes (answered here: windowChange), and requests
// beyond the rate limit. It notes the pty-req.
func (c *channel) filterRequests(in <-chan *gossh.Request, out chan<- *gossh.Request) {
	defer close(out)
	envs := 0
	rate := bucket{capacity: channelReqBurst, perSecond: channelReqRate}
	for req := range in {
		if !rate.allow(time.Now()) {
			_ = req.Reply(false, nil)
			continue
		}
		switch req.Type {
		case "env":
			var kv struct{ Key, Value string }
			if gossh.Unmarshal(req.Payload, &kv) != nil || !allowedEnv(kv.Key) || len(kv.Value) > maxEnvValue || envs >= maxEnvRequests {
				_ = req.Reply(false, nil)
				continue
			}
			envs++
		case "auth-agent-req@openssh.com", "x11-req":
			_ = req.Reply(false, nil)
			continue
		case "window-change":
			c.windowChange(req)
			continue
		case "pty-req":
			p, ok := parsePtyRequest(req.Payload)
			if !ok {
				_ = req.Reply(false, nil)
				continue
			}
			c.mu.Lock()
			if c.pty == nil {
				c.pty = &p
			}
			c.mu.Unlock()
		}
		out <- req
	}
}

// allowedEnv reports whether a client may set the variable: TERM, LANG
// and LC_* as OpenSSH's AcceptEnv habit, and COLORTERM and NO_COLOR (as
// Debian's sshd_config), which choose the menu's colours.
func allowedEnv(name string) bool {
	switch {
	case name == "TERM", name == "LANG", name == "COLORTERM", name == "NO_COLOR":
		return true
	case strings.HasPrefix(name, "LC_") && len(name) > 3:
		for _, r := range name[3:] {
			if !(r >= 'A' && r <= 'Z' || r == '_') {
				return false
			}
		}
		return true
	}
	return false
}

// parsePtyRequest reads a pty-req payload (RFC 4254 6.2).
func parsePtyRequest(b []byte) (ssh.Pty, bool) {
	var msg struct {
		Term                             string
		Columns, Rows, WidthPx, HeightPx uint32
		Modes                            string
	}
	if err := gossh.Unmarshal(b, &msg); err != nil {
		return ssh.Pty{}, false
	}
	dims := windowDims{msg.Columns, msg.Rows, msg.WidthPx, msg.HeightPx}
	p := ssh.Pty{Term: msg.Term, Window: dims.window(), Modes: gossh.TerminalModes{}}
	m := []byte(msg.Modes)
	for len(m) >= 5 && m[0] != 0 && m[0] < 160 {
		p.Modes[m[0]] = binary.BigEndian.Uint32(m[1:5])
		m = m[5:]
	}
	return p, true
}
