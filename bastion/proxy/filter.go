package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jms-bastion/jms/bastion/filter"
	"github.com/jms-bastion/jms/bastion/sessionerr"
	"github.com/jms-bastion/jms/printable"
	"github.com/jms-bastion/jms/store"
)

// Command filtering. Every session is judged by the filters whose scope
// covers it (bastion/filter does the judging):
//
//   - exec: the command, before anything is dialed;
//   - a shell with a PTY: each line the person submits, read off the
//     asset's echo by a filter.LineTracker at the Enter key, which is held
//     until the line is judged;
//   - a shell without a PTY, and an exec command that reads commands from
//     its input (sh, bash -s, python3 -, su, ssh …): each command of its
//     input, before it is passed on (gate.go).
//
// Every submitted line goes to the command audit, with or without filters.

// noRulesEchoWait bounds the wait for the echo of a line when no filter
// applies: the line is only read for the audit, so Enter is not held for
// a settle time, only (briefly) for the echo of the last keystroke.
const noRulesEchoWait = 50 * time.Millisecond

// maxHeldLine bounds a command of a shell without a PTY that is held back
// until it is complete (its newline, the end of a continuation); a longer
// one cannot be judged and is refused (passed on when no filter applies).
const maxHeldLine = 1 << 20

// rulesFor loads and compiles the filters in the session's scope.
func (p *Proxy) rulesFor(ctx context.Context, req Request) (*filter.RuleSet, int, error) {
	fs, err := p.st.FiltersFor(ctx, req.User, req.Asset.ID, req.Account.Username)
	if err != nil {
		return nil, 0, fmt.Errorf("load the command filters: %w", err)
	}
	rules, err := Rules(fs)
	if err != nil {
		return nil, 0, err
	}
	return filter.NewRuleSet(rules), len(rules), nil
}

// Rules turns the store's filters into rules for bastion/filter.
func Rules(fs []store.Filter) ([]filter.Rule, error) {
	rules := make([]filter.Rule, 0, len(fs))
	for _, f := range fs {
		act, err := filter.ParseAction(f.Action)
		if err != nil {
			return nil, fmt.Errorf("filter %q: %w", f.Name, err)
		}
		r := filter.Rule{ID: f.ID, Name: f.Name, Action: act, Priority: f.Priority}
		if f.Regex != "" {
			if r.Regex, err = filter.CompilePattern(f.Regex); err != nil {
				return nil, fmt.Errorf("filter %q: %w", f.Name, err)
			}
		}
		for _, c := range f.Commands {
			for _, l := range strings.Split(c, "\n") {
				if l = strings.TrimSpace(l); l != "" {
					r.Commands = append(r.Commands, l)
				}
			}
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// judge evaluates lines (several readings of one line, or the lines of a
// paste) and returns the most severe verdict.
func (s *session) judge(lines ...string) filter.Verdict {
	if s.nrules == 0 {
		return filter.Verdict{Action: filter.Allow}
	}
	vs := make([]filter.Verdict, 0, len(lines))
	for _, l := range lines {
		vs = append(vs, s.rules.Evaluate(l))
	}
	return filter.Worst(vs...)
}

// audit records a submitted command line.
func (s *session) audit(ctx context.Context, line, verdict string, v filter.Verdict) {
	name := ""
	if v.Rule != nil {
		name = v.Rule.Name
	}
	s.p.cfg.Metrics.Verdict(verdict)
	now := s.p.cfg.Now()
	e := store.CommandEvent{SessionID: s.id, At: now, OffsetMS: max(0, now.Sub(s.start).Milliseconds()),
		User: s.req.User, Asset: s.req.Asset.Name, Account: s.req.Account.Username,
		Command: line, Verdict: verdict, Filter: name}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := s.p.st.AddCommandEvent(actx, e); err != nil {
		s.log.Error("cannot record a command in the audit", "command", line, "verdict", verdict, "err", err)
	}
	if v.Rule != nil {
		s.log.Info("command judged", "command", line, "verdict", verdict, "filter", name)
	}
}

// nl is the line end for messages to the person.
func (s *session) nl() string {
	if s.isPty {
		return "\r\n"
	}
	return "\n"
}

// notice shows the person one line of the bastion's own, on its own line,
// and records it. In an exec session or a shell without a PTY it goes to
// stderr, so that stdout carries only the asset's output.
func (s *session) notice(q *recQueue, msg string) {
	nl := s.nl()
	if s.isPty {
		b := []byte(nl + msg + nl)
		s.outMu.Lock()
		_, _ = s.down.Write(b)
		s.outMu.Unlock()
		if q != nil && s.recOK.Load() {
			q.notice(b)
		}
		return
	}
	_, _ = io.WriteString(s.down.Stderr(), msg+nl)
	if q != nil && s.recOK.Load() {
		q.notice([]byte(msg + "\r\n"))
	} else if q == nil {
		s.recordNotice(msg)
	}
}

// review outcomes.
type reviewOutcome struct {
	status string // store.TicketApproved, TicketRejected or TicketCanceled
	gone   bool   // the person's input ended while waiting
}

// hold opens a ticket for cmd and waits for its decision, for the person
// to cancel (^C on in, when in is not nil; in closing cancels too), for
// ctx to end, or for the review timeout.
func (s *session) hold(ctx context.Context, q *recQueue, cmd string, v filter.Verdict, in <-chan []byte) reviewOutcome {
	name := ""
	if v.Rule != nil {
		name = v.Rule.Name
	}
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	t, err := s.p.st.AddTicket(tctx, store.NewTicket{SessionID: s.id, User: s.req.User, Asset: s.req.Asset.Name,
		Account: s.req.Account.Username, Command: cmd, Filter: name})
	cancel()
	if err != nil {
		s.log.Error("cannot open a review ticket: command refused", "command", cmd, "err", err)
		s.notice(q, fmt.Sprintf("jms: command %q needs approval (filter %q) but no ticket could be opened: not run", short(cmd), name))
		return reviewOutcome{status: store.TicketCanceled}
	}
	s.log.Info("command held for review", "command", cmd, "filter", name, "ticket", t.ID)
	how := "Ctrl-C cancels"
	if in == nil {
		how = "disconnect to cancel"
	}
	s.notice(q, fmt.Sprintf("jms: command %q waits for approval (ticket %d); %s", short(cmd), t.ID, how))

	cancelTicket := func(why, msg string) reviewOutcome {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, err := s.p.st.CancelTicket(cctx, t.ID, why); err != nil && !errors.Is(err, store.ErrTicketDecided) {
			s.log.Error("cannot cancel a review ticket", "ticket", t.ID, "err", err)
		}
		if msg != "" {
			s.notice(q, msg)
		}
		return reviewOutcome{status: store.TicketCanceled}
	}
	poll := time.NewTicker(s.p.cfg.ReviewPoll)
	defer poll.Stop()
	timeout := time.NewTimer(s.p.cfg.ReviewTimeout)
	defer timeout.Stop()
	for {
		select {
		case <-ctx.Done():
			return cancelTicket("the session ended", "")
		case c, ok := <-in:
			if !ok {
				o := cancelTicket("the person left", "")
				o.gone = true
				return o
			}
			if bytes.IndexByte(c, 0x03) >= 0 {
				return cancelTicket("canceled with Ctrl-C", fmt.Sprintf("jms: ticket %d canceled", t.ID))
			}
			// Anything else typed while the command waits is dropped.
		case <-timeout.C:
			return cancelTicket("no decision within "+s.p.cfg.ReviewTimeout.String(),
				fmt.Sprintf("jms: ticket %d canceled: no decision within %s", t.ID, s.p.cfg.ReviewTimeout))
		case <-poll.C:
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			d, err := s.p.st.TicketStatus(pctx, t.ID)
			cancel()
			if err != nil {
				s.log.Warn("cannot read a review ticket", "ticket", t.ID, "err", err)
				continue
			}
			if d.Status == store.TicketPending {
				continue
			}
			s.notice(q, decisionNotice(t.ID, d))
			s.log.Info("review decided", "ticket", t.ID, "status", d.Status, "by", d.DecidedBy, "reason", d.Reason)
			return reviewOutcome{status: d.Status}
		}
	}
}

// maxReason bounds the reason shown with a decision.
const maxReason = 200

// decisionNotice is the line that tells the person how her held command
// was decided, with the admin's reason: "jms: ticket 2 rejected by
// os:root (not during the freeze): command not run". The name and the
// reason are admin input on her terminal: escaped, and the reason cut
// at maxReason bytes.
func decisionNotice(id int64, d store.TicketDecision) string {
	by := "an admin"
	if d.DecidedBy != "" {
		by = printable.Escape(d.DecidedBy)
	}
	why := ""
	if d.Reason != "" {
		r := printable.Escape(d.Reason)
		if len(r) > maxReason {
			cut := maxReason
			for cut > 0 && !utf8.RuneStart(r[cut]) {
				cut--
			}
			r = r[:cut] + "…"
		}
		why = " (" + r + ")"
	}
	switch d.Status {
	case store.TicketApproved:
		return fmt.Sprintf("jms: ticket %d approved by %s%s", id, by, why)
	case store.TicketRejected:
		return fmt.Sprintf("jms: ticket %d rejected by %s%s: command not run", id, by, why)
	}
	return fmt.Sprintf("jms: ticket %d %s: command not run", id, printable.Escape(d.Status))
}

func short(cmd string) string {
	cmd = strings.ReplaceAll(cmd, "\n", "; ")
	if len(cmd) > 80 {
		return cmd[:77] + "..."
	}
	return cmd
}

// verdictName is the audit's verdict for a non-review verdict.
func verdictName(v filter.Verdict) string {
	switch v.Action {
	case filter.Deny:
		return store.VerdictDeny
	case filter.Warn:
		return store.VerdictWarn
	case filter.Review:
		return store.VerdictReview
	}
	return store.VerdictAllow
}

// judgeExec judges an exec session's command before anything runs. It
// returns nil when the command may run, or the error to end the session
// with (the person reads it on stderr; the exit status is ExitDenied).
func (s *session) judgeExec(ctx context.Context) error {
	cmd := s.req.Command
	v := s.judge(cmd)
	switch v.Action {
	case filter.Deny:
		s.audit(ctx, cmd, store.VerdictDeny, v)
		s.recordNotice(v.Message)
		return &sessionerr.UserError{Msg: v.Message, Err: errDenied}
	case filter.Review:
		o := s.hold(ctx, nil, cmd, v, nil)
		s.audit(ctx, cmd, store.ReviewVerdict(o.status), v)
		if o.status != store.TicketApproved {
			msg := fmt.Sprintf("jms: command %q not run: review %s", short(cmd), o.status)
			return &sessionerr.UserError{Msg: msg, Err: errDenied}
		}
		return nil
	}
	s.audit(ctx, cmd, verdictName(v), v)
	return nil
}

var errDenied = errors.New("denied by a command filter")

// trackInput carries the input of a session with a PTY through the line
// tracker: keystrokes pass at once, Enter waits for the line to be judged.
// The chunks come on in (from a reader of their own, so that a held
// command can watch for ^C while it waits) until it closes.
func (s *session) trackInput(ctx context.Context, in <-chan []byte, dst io.WriteCloser, q *recQueue) {
	recordInput := s.p.cfg.RecordInput
	dead := false // the asset's side is gone: drain and drop
	write := func(p []byte) {
		if dead {
			return
		}
		if _, err := dst.Write(p); err != nil {
			dead = true
		}
	}
	for c := range in {
		if dead || s.done.Load() {
			continue
		}
		if recordInput && s.recOK.Load() {
			if rerr := s.rec.Input(c); rerr != nil && !s.recordFailed(rerr) {
				dead = true
				continue
			}
		}
		for _, seg := range s.tracker.Input(c) {
			switch seg.Kind {
			case filter.Forward:
				write(seg.Data)
			case filter.Submit:
				if s.submit(ctx, q, seg, in, write) {
					dead = true
				}
			case filter.Probe:
				if s.probe(ctx, q, seg, in, write) {
					dead = true
				}
			case filter.Ran:
				s.ran(ctx, seg)
			case filter.Paste:
				if s.paste(ctx, q, seg, in, write) {
					dead = true
				}
			}
		}
	}
	dst.Close()
}

// waitEcho waits for the echo of what was typed before a line is read:
// the settle time when filters apply, and only briefly otherwise (the line
// is then read for the audit alone).
func (s *session) waitEcho(ctx context.Context, settle time.Duration) {
	deadline := s.p.cfg.EchoDeadline
	if s.nrules == 0 {
		settle, deadline = 0, noRulesEchoWait
	}
	wctx, cancel := context.WithTimeout(ctx, deadline)
	s.tracker.WaitEcho(wctx, settle)
	cancel()
}

// submit judges the line an Enter submits and sends the Enter, or
// cancels the line on the asset. It reports whether the input ended while
// a review waited.
func (s *session) submit(ctx context.Context, q *recQueue, seg filter.Segment, in <-chan []byte, write func([]byte)) bool {
	s.waitEcho(ctx, s.p.cfg.EchoSettle)
	sub := s.tracker.Submitted()
	if blank(sub) {
		write(seg.Data)
		return false
	}
	return s.decide(ctx, q, seg, sub, s.judge(sub.Readings...), in, write)
}

// probe judges the line a control key may submit (a key bound to
// accept-line) before the key goes. An allowed line is audited only once
// the key turns out to have submitted it (a Ran segment); the line is read
// also when no filter applies, for that audit.
func (s *session) probe(ctx context.Context, q *recQueue, seg filter.Segment, in <-chan []byte, write func([]byte)) bool {
	s.waitEcho(ctx, 0)
	sub := s.tracker.Peek()
	v := s.judge(sub.Readings...)
	if blank(sub) || v.Action == filter.Allow || v.Action == filter.Warn {
		write(seg.Data)
		return false
	}
	return s.decide(ctx, q, seg, sub, v, in, write)
}

// blank reports whether a submission holds nothing to judge.
func blank(sub filter.Submission) bool {
	for _, r := range sub.Readings {
		if strings.TrimSpace(r) != "" {
			return false
		}
	}
	return true
}

// decide acts on the verdict of a submitted line: sends the key (Enter or
// a probe key), or cancels the line; audits it; holds it for review.
func (s *session) decide(ctx context.Context, q *recQueue, seg filter.Segment, sub filter.Submission, v filter.Verdict,
	in <-chan []byte, write func([]byte)) bool {
	line := sub.Line
	if sub.Command != "" {
		line = sub.Command
	}
	if v.Rule != nil {
		line = v.Line
	}
	msg := v.Message
	if sub.Secret {
		// Typed at a prompt that asks for a secret: never shown, never
		// recorded, never held for review.
		if v.Action == filter.Allow || v.Action == filter.Warn {
			write(seg.Data)
			return false
		}
		line = "(not echoed, at a password prompt)"
		msg = fmt.Sprintf("jms: input typed at a password prompt matches filter %q: not sent", v.Rule.Name)
		v.Action = filter.Deny
	}
	cancelLine := func() {
		write(filter.CancelLine)
		s.tracker.Cancel()
	}
	switch v.Action {
	case filter.Deny:
		s.audit(ctx, line, store.VerdictDeny, v)
		s.notice(q, msg)
		cancelLine()
	case filter.Review:
		o := s.hold(ctx, q, line, v, in)
		s.audit(ctx, line, store.ReviewVerdict(o.status), v)
		if o.gone {
			return true
		}
		if o.status == store.TicketApproved {
			write(seg.Data)
		} else {
			cancelLine()
		}
	default:
		if !sub.Pending && !sub.Secret {
			// A continuation is audited once, whole, when it ends.
			s.audit(ctx, line, verdictName(v), v)
		}
		write(seg.Data)
	}
	return false
}

// pasteSecret handles a paste at a prompt that asks for a secret: it is
// judged, but never shown, recorded or held for review.
func (s *session) pasteSecret(ctx context.Context, q *recQueue, seg filter.Segment, v filter.Verdict, write func([]byte)) {
	if v.Action == filter.Allow || v.Action == filter.Warn {
		write(seg.Data)
		return
	}
	s.tracker.Forget()
	v.Action = filter.Deny
	s.audit(ctx, "(pasted at a password prompt)", store.VerdictDeny, v)
	s.notice(q, fmt.Sprintf("jms: text pasted at a password prompt matches filter %q: not sent", v.Rule.Name))
}

// ran audits a line that a probe key turned out to have submitted.
func (s *session) ran(ctx context.Context, seg filter.Segment) {
	for _, l := range seg.Lines {
		v := s.judge(l)
		s.audit(ctx, l, verdictName(v), v)
	}
}

// paste judges every line of a paste (or of several lines typed at once)
// and every command they continue, and sends all of it or none of it.
func (s *session) paste(ctx context.Context, q *recQueue, seg filter.Segment, in <-chan []byte, write func([]byte)) bool {
	if seg.TooLong {
		msg := fmt.Sprintf("jms: a paste of over %d MiB is too long to judge: not sent", maxHeldLine>>20)
		s.audit(ctx, "(a paste of over 1 MiB)", store.VerdictDeny, filter.Verdict{})
		s.notice(q, msg)
		return false
	}
	v := s.judge(append(slices.Clone(seg.Lines), seg.Joined...)...)
	if seg.Secret {
		s.pasteSecret(ctx, q, seg, v, write)
		return false
	}
	verdict := verdictName(v)
	gone := false
	send := v.Action != filter.Deny
	switch v.Action {
	case filter.Deny:
		s.notice(q, v.Message)
	case filter.Review:
		o := s.hold(ctx, q, strings.Join(seg.Lines, "\n"), v, in)
		verdict, gone = store.ReviewVerdict(o.status), o.gone
		send = o.status == store.TicketApproved && !gone
	}
	for _, l := range seg.Lines {
		lv := v
		if v.Action == filter.Allow || v.Action == filter.Warn {
			// Each line sent is audited with its own verdict.
			lv = s.judge(l)
			verdict = verdictName(lv)
		}
		s.audit(ctx, l, verdict, lv)
	}
	if send {
		write(seg.Data)
	} else {
		s.tracker.Forget()
	}
	return gone
}
