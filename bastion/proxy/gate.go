package proxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/jms-bastion/jms/bastion/filter"
	"github.com/jms-bastion/jms/store"
)

// lineGate passes the input of a shell without a PTY (or of an exec
// command that reads commands from its input) to the asset a command at a
// time, as the shell will read it: the lines of a command that the shell
// reads over several lines (a trailing backslash, open quotes, a
// here-document) are held until it is complete, then judged joined and
// each on its own; all of them are sent, or none.
type lineGate struct {
	s   *session
	q   *recQueue
	dst io.Writer

	partial []byte        // the line being read, not ended yet
	lines   []string      // the lines of the command held
	data    []byte        // their bytes, as they go to the asset
	join    filter.Joiner // where the command stands
	skip    bool          // the rest of an overlong line: dropped (or passed on without filters)
	dead    bool          // the asset's side is gone
}

// lineInput is the sink of a shell without a PTY: its input goes to the
// asset command by command (see lineGate); at the person's EOF, the
// asset's stdin is closed.
func (s *session) lineInput(ctx context.Context, dst io.WriteCloser, q *recQueue) func(p []byte, err error) {
	g := &lineGate{s: s, q: q, dst: dst}
	stopped := false
	return func(p []byte, err error) {
		if stopped {
			return
		}
		if len(p) > 0 && !g.dead {
			if s.done.Load() || !s.recordInput(q, p) {
				stopped = true
				return
			}
			g.feed(ctx, p)
		}
		if err != nil {
			g.finish(ctx)
			dst.Close()
			stopped = true
		}
	}
}

// feed takes a chunk of input.
func (g *lineGate) feed(ctx context.Context, p []byte) {
	for len(p) > 0 {
		chunk, ended := p, false
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			chunk, ended = p[:i+1], true
		}
		p = p[len(chunk):]
		if g.skip {
			if g.s.nrules == 0 {
				g.send(chunk)
			}
			g.skip = !ended
			continue
		}
		g.partial = append(g.partial, chunk...)
		switch {
		case len(g.data)+len(g.partial) > maxHeldLine:
			g.overflow(ctx)
			g.skip = !ended
		case ended:
			line := g.partial
			g.partial = nil
			g.line(ctx, line)
		}
	}
}

// line takes one whole line (with its line break).
func (g *lineGate) line(ctx context.Context, raw []byte) {
	text := strings.TrimRight(string(raw), "\r\n")
	g.data = append(g.data, raw...)
	g.lines = append(g.lines, text)
	if cmd, complete := g.join.Add(text); complete {
		g.pass(ctx, cmd)
	}
}

// finish judges what is held at the end of the input: the shell reads it
// as it is.
func (g *lineGate) finish(ctx context.Context) {
	if len(g.partial) > 0 && !g.skip {
		line := g.partial
		g.partial = nil
		g.line(ctx, line)
	}
	if len(g.lines) > 0 {
		cmd := strings.Join(g.lines, "\n")
		g.join.Reset()
		g.pass(ctx, cmd)
	}
}

// pass judges a command held whole and sends its lines, or drops them.
func (g *lineGate) pass(ctx context.Context, cmd string) {
	data, lines := g.data, g.lines
	g.data, g.lines = nil, nil
	if strings.TrimSpace(cmd) == "" {
		g.send(data)
		return
	}
	readings := lines
	if len(lines) > 1 {
		readings = append(readings, cmd)
	}
	s := g.s
	v := s.judge(readings...)
	if v.Rule != nil && len(lines) == 1 {
		cmd = v.Line
	}
	switch v.Action {
	case filter.Deny:
		s.audit(ctx, cmd, store.VerdictDeny, v)
		s.notice(g.q, v.Message)
		return
	case filter.Review:
		o := s.hold(ctx, g.q, cmd, v, nil)
		s.audit(ctx, cmd, store.ReviewVerdict(o.status), v)
		if o.status != store.TicketApproved {
			return
		}
	default:
		s.audit(ctx, cmd, verdictName(v), v)
	}
	g.send(data)
}

// overflow handles a command too long to judge: with filters it is
// refused, without them it is passed on; either way the audit has its
// beginning.
func (g *lineGate) overflow(ctx context.Context) {
	held := append(g.data, g.partial...)
	g.data, g.lines, g.partial = nil, nil, nil
	g.join.Reset()
	s := g.s
	text := short(string(held))
	if s.nrules == 0 {
		s.audit(ctx, text, store.VerdictAllow, filter.Verdict{})
		g.send(held)
		return
	}
	s.audit(ctx, text, store.VerdictDeny, filter.Verdict{})
	s.notice(g.q, fmt.Sprintf("jms: command %q is over %d MiB, too long to judge: not run", text, maxHeldLine>>20))
}

// send passes bytes on to the asset.
func (g *lineGate) send(p []byte) {
	if g.dead || len(p) == 0 {
		return
	}
	if _, err := g.dst.Write(p); err != nil {
		g.dead = true
	}
}
