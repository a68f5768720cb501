package transfer

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/jms-bastion/jms/bastion/proxy"
	"github.com/jms-bastion/jms/store"
)

// Counter counts the bytes of a proxied exec session, for the transfer
// audit of rsync and scp.
type Counter struct {
	proxy.Downstream
	in, out atomic.Int64
}

type interruptibleCounter struct {
	*Counter
	ri proxy.ReadInterrupter
}

func (c interruptibleCounter) InterruptRead() { c.ri.InterruptRead() }

// CountBytes wraps down so that the bytes read from the client (in) and
// written to it (out) are counted. The result keeps down's
// proxy.ReadInterrupter, if it has one.
func CountBytes(down proxy.Downstream) (proxy.Downstream, *Counter) {
	c := &Counter{Downstream: down}
	if ri, ok := down.(proxy.ReadInterrupter); ok {
		return interruptibleCounter{Counter: c, ri: ri}, c
	}
	return c, c
}

func (c *Counter) Read(p []byte) (int, error) {
	n, err := c.Downstream.Read(p)
	c.in.Add(int64(n))
	return n, err
}

func (c *Counter) Write(p []byte) (int, error) {
	n, err := c.Downstream.Write(p)
	c.out.Add(int64(n))
	return n, err
}

// In and Out return the bytes counted so far.
func (c *Counter) In() int64  { return c.in.Load() }
func (c *Counter) Out() int64 { return c.out.Load() }

// ExecRun is how one rsync or scp exec session went, for AuditExec.
type ExecRun struct {
	SessionID string // the exec session's row; "" when refused before it began
	User      string
	AssetID   int64 // the event belongs to the asset's organization
	Asset     string
	Account   string
	Bytes     *Counter // nil when refused
	Exit      int
	Denied    string // why it was refused; "" when it ran
	Ended     string // why the bastion ended it ("killed by os:root: …"); "" when it ran its course
}

// AuditExec records the transfer an rsync or scp exec session made:
// size is the protocol bytes in the direction of the transfer.
func (s *Service) AuditExec(ctx context.Context, x ExecTransfer, r ExecRun) {
	s.audit(ctx, execEvent(x, r))
}

// execEvent is the transfer event of an exec session.
func execEvent(x ExecTransfer, r ExecRun) store.TransferEvent {
	e := store.TransferEvent{SessionID: r.SessionID, User: r.User, AssetID: r.AssetID, Asset: r.Asset, Account: r.Account, Operation: x.Op,
		Path: strings.Join(x.Paths, " "), Result: ResultOK}
	if r.Bytes != nil {
		e.Size = r.Bytes.In()
		if x.Op == OpDownload {
			e.Size = r.Bytes.Out()
		}
	}
	switch {
	case r.Denied != "":
		e.Result, e.Detail = ResultDenied, x.Tool+": "+r.Denied
	case r.Ended != "":
		e.Result, e.Detail = ResultFailed, x.Tool+": "+r.Ended
	case r.Exit != 0:
		e.Result, e.Detail = ResultFailed, x.Tool+": exit status "+strconv.Itoa(r.Exit)
	default:
		e.Detail = x.Tool + " (size: protocol bytes)"
	}
	return e
}
