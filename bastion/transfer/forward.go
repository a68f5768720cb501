package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/bastion/sessionerr"
	"github.com/jms-bastion/jms/metrics"
	"github.com/jms-bastion/jms/store"
)

// ForwardRequest is one direct-tcpip channel a person opened (ssh -L,
// ssh -W, ProxyJump).
type ForwardRequest struct {
	User   string // the bastion user
	Source string // the client's address
	Host   string // the destination: an asset's name, address or id
	Port   int
	// OnStart, when set, is called once the forward's session row exists
	// and the channel is accepted: the server's live-session registry can
	// then end it (a kill, a revoked grant, the idle timeout).
	OnStart func(ForwardSession)
}

// ForwardSession is a forward that started, as the live-session
// registry needs it.
type ForwardSession struct {
	ID      string
	AssetID int64
	Asset   string
	Port    int
	// LastActive returns when a byte last went either way.
	LastActive func() time.Time
}

// directTCPIP is the payload of a direct-tcpip channel open (RFC 4254
// 7.2).
type directTCPIP struct {
	Host     string
	Port     uint32
	OrigHost string
	OrigPort uint32
}

// ParseDirectTCPIP reads the destination of a direct-tcpip channel.
func ParseDirectTCPIP(extra []byte) (host string, port int, err error) {
	var m directTCPIP
	if err := gossh.Unmarshal(extra, &m); err != nil {
		return "", 0, fmt.Errorf("direct-tcpip: %w", err)
	}
	if m.Port == 0 || m.Port > 65535 {
		return "", 0, fmt.Errorf("direct-tcpip: port %d out of range", m.Port)
	}
	return m.Host, int(m.Port), nil
}

// forwardDialTimeout bounds the TCP connect to the asset.
const forwardDialTimeout = 10 * time.Second

// Forward serves one direct-tcpip channel as a session of kind forward.
// It is allowed only to an asset the person has the forward action on,
// to that asset's own address and to the ports the grants list (none
// listed: the asset's SSH port). The bastion dials the asset's address
// itself and copies bytes both ways, unread: it cannot record or filter
// them. The session row exists from the start (listed, killable) and
// ends with the bytes each way; the forward ends when ctx does, with
// context.Cause(ctx) as its reason. The transfer audit records it once
// it ends; a refusal is audited too and the client is told why.
func (s *Service) Forward(ctx context.Context, nc gossh.NewChannel, req ForwardRequest) {
	id := uuid.NewString()
	dest := net.JoinHostPort(req.Host, strconv.Itoa(req.Port))
	log := s.log.With("session", id, "user", req.User, "dest", dest, "kind", store.SessionForward)
	ev := store.TransferEvent{SessionID: id, User: req.User, Operation: OpForward, Path: dest}
	acc, err := s.forwardTarget(ctx, req)
	ev.AssetID, ev.Asset, ev.Account = acc.Asset.ID, acc.Asset.Name, accountNames(acc)
	if err != nil {
		msg := "jms: internal error"
		var ue *UserError
		if errors.As(err, &ue) {
			msg = ue.Msg
		} else {
			log.Error("forward", "err", err)
		}
		ev.Result, ev.Detail = ResultDenied, msg
		s.audit(ctx, ev)
		log.Info("forward refused", "why", msg)
		_ = nc.Reject(gossh.Prohibited, msg)
		return
	}
	addr := net.JoinHostPort(acc.Asset.Address, strconv.Itoa(req.Port))
	ev.Path = acc.Asset.Name + ":" + strconv.Itoa(req.Port)
	d := net.Dialer{Timeout: forwardDialTimeout}
	up, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		msg := fmt.Sprintf("jms: cannot reach %s (%s): %v", acc.Asset.Name, addr, dialReason(err))
		ev.Result, ev.Detail = ResultFailed, msg
		s.audit(ctx, ev)
		log.Warn("forward failed", "addr", addr, "err", err)
		_ = nc.Reject(gossh.ConnectionFailed, msg)
		return
	}
	defer up.Close()
	s.runForward(ctx, nc, up, req, acc.Asset, ev, log)
}

// runForward runs a forward whose asset answered at up as a session: its
// row from the start, the live registry told (req.OnStart), the bytes
// piped and counted, and its end recorded on the row and in the
// transfer audit (ev).
func (s *Service) runForward(ctx context.Context, nc gossh.NewChannel, up net.Conn, req ForwardRequest, asset store.Asset, ev store.TransferEvent, log *slog.Logger) {
	ns := store.NewSession{ID: ev.SessionID, Kind: store.SessionForward, User: req.User, AssetID: asset.ID, Asset: asset.Name, Account: ev.Account,
		Source: req.Source, Target: ev.Path, Command: "forward " + ev.Path + " (" + up.RemoteAddr().String() + ")", StartedAt: s.now(), Node: s.node}
	if _, err := s.st.StartSession(ctx, ns); err != nil {
		log.Error("cannot record the start of the forward", "err", err)
		_ = nc.Reject(gossh.ConnectionFailed, "jms: internal error")
		return
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		s.endSession(ctx, ns.ID, store.SessionEnd{Status: store.StatusFailed, Reason: "the client went away: " + err.Error()}, log)
		return
	}
	go gossh.DiscardRequests(reqs)
	log.Info("forward open", "asset", asset.Name, "addr", up.RemoteAddr().String(), "source", req.Source)
	m := newMeter(time.Now) // activity is measured on the real clock, as the idle watch reads it
	m.mx = s.metrics
	if req.OnStart != nil {
		req.OnStart(ForwardSession{ID: ns.ID, AssetID: asset.ID, Asset: asset.Name, Port: req.Port, LastActive: m.lastActive})
	}
	pipe(ctx, ch, up, m)
	in, out := m.in.Load(), m.out.Load()
	end := forwardEnd(ctx)
	end.BytesIn, end.BytesOut = in, out
	s.endSession(ctx, ns.ID, end, log)
	ev.Size, ev.Result = in+out, ResultOK
	ev.Detail = fmt.Sprintf("in %d bytes, out %d bytes, %s, from %s", in, out, s.now().Sub(ns.StartedAt).Round(time.Millisecond), req.Source)
	s.audit(ctx, ev)
	log.Info("forward closed", "in", in, "out", out, "status", end.Status, "reason", end.Reason)
}

// forwardEnd says how a forward ended: killed when the bastion ended it
// (a kill, a revoked grant, a limit), closed otherwise.
func forwardEnd(ctx context.Context) store.SessionEnd {
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, sessionerr.ErrKilled):
		return store.SessionEnd{Status: store.StatusKilled, Reason: "ended: " + cause.Error()}
	case cause != nil:
		return store.SessionEnd{Status: store.StatusClosed, Reason: "the client went away"}
	}
	return store.SessionEnd{Status: store.StatusClosed, Reason: "both ends closed the connection"}
}

// endSession records the end of a session row; a failure is logged.
func (s *Service) endSession(ctx context.Context, id string, end store.SessionEnd, log *slog.Logger) {
	end.EndedAt = s.now()
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.st.EndSession(ectx, id, end); err != nil {
		log.Error("cannot record the end of the session", "err", err)
	}
}

// accountNames lists the accounts of acc, comma-separated.
func accountNames(acc store.Access) string {
	names := make([]string, len(acc.Accounts))
	for i, g := range acc.Accounts {
		names[i] = g.Username
	}
	return strings.Join(names, ",")
}

// forwardTarget finds the asset of a forward among the person's and
// authorizes the forward to its port. It returns the asset with the
// accounts whose grants allow it; on a refusal, the asset when it was
// found.
func (s *Service) forwardTarget(ctx context.Context, req ForwardRequest) (store.Access, error) {
	list, err := s.st.AuthorizedAssets(ctx, req.User, s.now())
	if err != nil && !errors.Is(err, store.ErrDenied) {
		return store.Access{}, err
	}
	found, err := store.LookupAccess(list, req.Host)
	var amb *store.AmbiguousAddressError
	var ambName *store.AmbiguousNameError
	switch {
	case errors.As(err, &amb):
		return store.Access{}, userErrorf(err, "jms: port forwarding to %s is not allowed: %s", net.JoinHostPort(req.Host, strconv.Itoa(req.Port)), amb)
	case errors.As(err, &ambName):
		return store.Access{}, userErrorf(err, "jms: port forwarding to %s is not allowed: %s", net.JoinHostPort(req.Host, strconv.Itoa(req.Port)), ambName)
	case err != nil:
		return store.Access{}, userErrorf(nil, "jms: port forwarding to %s is not allowed: no asset %q for %s", net.JoinHostPort(req.Host, strconv.Itoa(req.Port)), req.Host, req.User)
	}
	acc, err := s.st.Authorize(ctx, store.AuthzQuery{User: req.User, AssetID: found.Asset.ID,
		Actions: []string{store.ActionForward}, Port: req.Port, At: s.now()})
	if err == nil {
		return acc, nil
	}
	name := found.Asset.Name
	de, denied := store.IsDenied(err)
	switch {
	case de != nil && de.Port != 0:
		ps := make([]string, len(de.Ports))
		for i, p := range de.Ports {
			ps[i] = strconv.Itoa(p)
		}
		return found, userErrorf(err, "jms: port forwarding to %s port %d is not allowed (allowed: %s)", name, req.Port, strings.Join(ps, ", "))
	case denied:
		return found, userErrorf(err, "jms: port forwarding to %s is not enabled for %s (it needs a grant with the forward action)", name, req.User)
	}
	return found, err
}

func dialReason(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}

// meter counts the bytes of a forward each way and notes when the last
// one went.
type meter struct {
	now      func() time.Time
	in, out  atomic.Int64 // from the client, to it
	lastNano atomic.Int64
	mx       *metrics.Metrics // counts the relayed bytes too; nil: not
}

func newMeter(now func() time.Time) *meter {
	m := &meter{now: now}
	m.lastNano.Store(now().UnixNano())
	return m
}

func (m *meter) lastActive() time.Time { return time.Unix(0, m.lastNano.Load()) }

// counted is a writer that adds what it writes to n and notes the time.
type counted struct {
	w  io.Writer
	n  *atomic.Int64
	m  *meter
	in bool // from the client, for the metrics
}

func (c counted) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	c.m.lastNano.Store(c.m.now().UnixNano())
	if c.in {
		c.m.mx.RelayedIn(n)
	} else {
		c.m.mx.RelayedOut(n)
	}
	return n, err
}

// pipe copies both ways until both directions end (or ctx does),
// counting in m.
func pipe(ctx context.Context, ch gossh.Channel, up net.Conn, m *meter) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(counted{w: up, n: &m.in, m: m, in: true}, ch)
		if tc, ok := up.(interface{ CloseWrite() error }); ok {
			_ = tc.CloseWrite()
		} else {
			up.Close()
		}
	}()
	go func() {
		defer wg.Done()
		_, _ = io.Copy(counted{w: ch, n: &m.out, m: m}, up)
		_ = ch.CloseWrite()
	}()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		up.Close()
		ch.Close()
		<-done
	}
	up.Close()
	ch.Close()
}
