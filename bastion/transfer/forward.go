package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/store"
)

// ForwardRequest is one direct-tcpip channel a person opened (ssh -L,
// ssh -W, ProxyJump).
type ForwardRequest struct {
	User   string // the bastion user
	Source string // the client's address
	Host   string // the destination: an asset's name, address or id
	Port   int
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

// Forward serves one direct-tcpip channel: it is allowed only to an
// asset the person has the forward action on, to that asset's own
// address and to the ports the grants list (none listed: the asset's SSH
// port). The bastion dials the asset's address itself and copies bytes
// both ways, unread: it cannot record or filter them. The channel is
// audited once it ends, with the bytes in and out; a refusal is audited
// too and the client is told why.
func (s *Service) Forward(ctx context.Context, nc gossh.NewChannel, req ForwardRequest) {
	id := uuid.NewString()
	dest := net.JoinHostPort(req.Host, strconv.Itoa(req.Port))
	log := s.log.With("session", id, "user", req.User, "dest", dest)
	ev := store.TransferEvent{SessionID: id, User: req.User, Operation: OpForward, Path: dest}
	asset, account, err := s.forwardTarget(ctx, req)
	if err != nil {
		var ue *UserError
		msg := "jms: internal error"
		if errors.As(err, &ue) {
			msg = ue.Msg
		} else {
			log.Error("forward", "err", err)
		}
		ev.Asset, ev.Account = asset.Name, account
		ev.Result, ev.Detail = ResultDenied, msg
		s.audit(ctx, ev)
		log.Info("forward refused", "why", msg)
		_ = nc.Reject(gossh.Prohibited, msg)
		return
	}
	ev.Asset, ev.Account = asset.Name, account
	addr := net.JoinHostPort(asset.Address, strconv.Itoa(req.Port))
	ev.Path = asset.Name + ":" + strconv.Itoa(req.Port)
	d := net.Dialer{Timeout: forwardDialTimeout}
	up, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		msg := fmt.Sprintf("jms: cannot reach %s (%s): %v", asset.Name, addr, dialReason(err))
		ev.Result, ev.Detail = ResultFailed, msg
		s.audit(ctx, ev)
		log.Warn("forward failed", "addr", addr, "err", err)
		_ = nc.Reject(gossh.ConnectionFailed, msg)
		return
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		up.Close()
		return
	}
	go gossh.DiscardRequests(reqs)
	log.Info("forward open", "asset", asset.Name, "addr", addr, "source", req.Source)
	start := s.now()
	in, out := pipe(ctx, ch, up)
	ev.Size = in + out
	ev.Result = ResultOK
	ev.Detail = fmt.Sprintf("in %d bytes, out %d bytes, %s, from %s", in, out, s.now().Sub(start).Round(time.Millisecond), req.Source)
	s.audit(ctx, ev)
	log.Info("forward closed", "in", in, "out", out)
}

// forwardTarget finds the asset of a forward and checks the grant. It
// returns the asset and the accounts whose grants allow it.
func (s *Service) forwardTarget(ctx context.Context, req ForwardRequest) (store.Asset, string, error) {
	list, err := s.st.AuthorizedAssets(ctx, req.User, s.now())
	if err != nil && !errors.Is(err, store.ErrDenied) {
		return store.Asset{}, "", err
	}
	acc, ok := store.FindAccess(list, req.Host)
	if !ok {
		return store.Asset{}, "", userErrorf(nil, "jms: port forwarding to %s is not allowed: no asset %q for %s", net.JoinHostPort(req.Host, strconv.Itoa(req.Port)), req.Host, req.User)
	}
	var grants, accounts []string
	for _, g := range acc.Accounts {
		if g.Can(store.ActionForward) {
			grants = append(grants, g.Grants...)
			accounts = append(accounts, g.Username)
		}
	}
	name := acc.Asset.Name
	if len(accounts) == 0 {
		return acc.Asset, "", userErrorf(nil, "jms: port forwarding to %s is not enabled for %s (it needs a grant with the forward action)", name, req.User)
	}
	ports, sshPort, err := s.st.ForwardPorts(ctx, grants)
	if err != nil {
		return acc.Asset, "", err
	}
	assetPort := acc.Asset.Port
	if assetPort == 0 {
		assetPort = 22
	}
	if sshPort {
		ports = append(ports, assetPort)
	}
	if !slices.Contains(ports, req.Port) {
		slices.Sort(ports)
		ps := make([]string, len(ports))
		for i, p := range ports {
			ps[i] = strconv.Itoa(p)
		}
		return acc.Asset, strings.Join(accounts, ","), userErrorf(nil, "jms: port forwarding to %s port %d is not allowed (allowed: %s)", name, req.Port, strings.Join(ps, ", "))
	}
	return acc.Asset, strings.Join(accounts, ","), nil
}

func dialReason(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}

// pipe copies both ways until both directions end (or ctx does) and
// returns the bytes from the client (in) and to it (out).
func pipe(ctx context.Context, ch gossh.Channel, up net.Conn) (in, out int64) {
	var nin, nout atomic.Int64
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		n, _ := io.Copy(up, ch)
		nin.Store(n)
		if tc, ok := up.(interface{ CloseWrite() error }); ok {
			tc.CloseWrite()
		} else {
			up.Close()
		}
	}()
	go func() {
		defer wg.Done()
		n, _ := io.Copy(ch, up)
		nout.Store(n)
		ch.CloseWrite()
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
	return nin.Load(), nout.Load()
}
