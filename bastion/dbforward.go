package bastion

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/bastion/database"
	"github.com/jms-bastion/jms/bastion/database/mysqlproxy"
	"github.com/jms-bastion/jms/bastion/database/pgproxy"
	"github.com/jms-bastion/jms/bastion/dbwire"
	"github.com/jms-bastion/jms/store"
)

// dbForward is a forwarded channel (ssh -L 3306:db1:3306) to a database
// asset under a grant's forward action.
type dbForward struct {
	user, source string
	port         int
	acc          store.Access
	id           string
}

// databaseForward serves a direct-tcpip channel whose destination is a
// database asset the person may forward to: the bastion speaks the
// database's protocol at both ends (pgproxy, mysqlproxy), logs in with
// the stored account and judges and audits every statement, as in the
// console. It reports false, having done nothing, for any other
// destination or a refusal, which the plain forward then handles and
// explains.
func (s *Server) databaseForward(run *liveRun, nc gossh.NewChannel, user, source, host string, port int) bool {
	st, ok := s.st.(databaseStore)
	if !ok {
		return false
	}
	ctx := run.ctx
	list, err := s.st.AuthorizedAssets(ctx, user, s.now())
	if err != nil {
		return false
	}
	found, err := store.LookupAccess(list, host)
	if err != nil || !store.IsDatabasePlatform(found.Asset.Platform) {
		return false
	}
	acc, err := s.st.Authorize(ctx, store.AuthzQuery{User: user, AssetID: found.Asset.ID,
		Actions: []string{store.ActionForward}, Port: port, At: s.now()})
	if err != nil {
		return false
	}
	f := &dbForward{user: user, source: source, port: port, acc: acc, id: uuid.NewString()}
	log := s.log.With("session", f.id, "user", user, "asset", acc.Asset.Name, "kind", "sql-forward")
	if len(acc.Accounts) != 1 {
		names := make([]string, len(acc.Accounts))
		for i, g := range acc.Accounts {
			names[i] = g.Username
		}
		msg := fmt.Sprintf("jms: %s has several accounts for %s (%s): a database forward needs a grant with the forward action on one account",
			acc.Asset.Name, user, strings.Join(names, ", "))
		_ = nc.Reject(gossh.Prohibited, msg)
		return true
	}
	s.serveDatabaseForward(run, st, nc, f, log)
	return true
}

// serveDatabaseForward runs the forward as a sql session: its row, the
// live registry, the proxy until either end closes or the run ends.
func (s *Server) serveDatabaseForward(run *liveRun, st databaseStore, nc gossh.NewChannel, f *dbForward, log *slog.Logger) {
	ctx := run.ctx
	g, asset := f.acc.Accounts[0], f.acc.Asset
	target, err := dbwire.Target(ctx, st, asset, g.ID, s.cfg.ConnectTimeout)
	if err != nil {
		_ = nc.Reject(gossh.ConnectionFailed, "jms: "+err.Error())
		return
	}
	review := dbwire.Review{St: st, Session: f.id, User: f.user, Asset: asset.Name, Account: g.Username,
		Timeout: s.cfg.ReviewTimeout, Log: log}
	judge, err := dbwire.Judge(ctx, st, f.user, asset.ID, g.Username, review.Reviewer())
	if err != nil {
		log.Error("database filters", "err", err)
		_ = nc.Reject(gossh.ConnectionFailed, "jms: internal error")
		return
	}
	dest := asset.Name + ":" + strconv.Itoa(f.port)
	node, _ := s.cfg.Node()
	start := s.now()
	row, err := st.StartSession(ctx, store.NewSession{ID: f.id, Kind: store.SessionSQL, User: f.user, AssetID: asset.ID, Asset: asset.Name,
		Account: g.Username, Source: f.source, Target: dest, Command: "forward " + dest + " (" + asset.Platform + " client)",
		StartedAt: start, Node: node})
	if err != nil {
		log.Error("database forward start", "err", err)
		_ = nc.Reject(gossh.ConnectionFailed, "jms: internal error")
		return
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		s.endDatabaseForward(ctx, st, f.id, store.SessionEnd{Status: store.StatusFailed, Reason: "the client went away"}, log)
		return
	}
	go gossh.DiscardRequests(reqs)
	conn := newChannelConn(ch, f.source)
	run.join(&liveSession{id: row.ID, kind: row.Kind, user: f.user, asset: asset.Name, assetID: asset.ID, account: g.Username,
		port: f.port, source: hostOf(addrOf(f.source)), needs: []string{store.ActionForward}}, conn.lastActive)
	audit := dbwire.Auditor{St: st, Session: f.id, Start: start, User: f.user, Asset: asset.Name, Account: g.Username, Log: log}
	log.Info("database forward open", "account", g.Username)
	err = serveAudited(ctx, conn, target, judge, audit, log)
	end := store.SessionEnd{Status: store.StatusClosed, Reason: "the client closed the connection"}
	if c := context.Cause(ctx); c != nil {
		end = store.SessionEnd{Status: store.StatusKilled, Reason: "ended: " + c.Error()}
	} else if err != nil {
		end.Reason = strings.Join(strings.Fields(err.Error()), " ")
	}
	s.endDatabaseForward(ctx, st, f.id, end, log)
}

// serveAudited serves the proxy with the statement audit queued off the
// query path when the store writes batches (a client's statements come
// back to back), and written before it returns.
func serveAudited(ctx context.Context, conn net.Conn, t database.Target, j database.Judge, a dbwire.Auditor, log *slog.Logger) error {
	bs, ok := a.St.(dbwire.BatchStore)
	if !ok {
		return serveProxy(ctx, conn, t, j, a, log)
	}
	q := dbwire.NewQueue(a, bs)
	defer q.Close()
	return serveProxy(ctx, conn, t, j, q, log)
}

// serveProxy hands the connection to the engine's wire proxy.
func serveProxy(ctx context.Context, conn net.Conn, t database.Target, j database.Judge, a database.Auditor, log *slog.Logger) error {
	if t.Engine == database.PostgreSQL {
		return (&pgproxy.Proxy{Target: t, Hooks: database.Hooks{Judge: j, Audit: a, Logger: log}}).Serve(ctx, conn)
	}
	return (&mysqlproxy.Proxy{Target: t, Hooks: database.Hooks{Judge: j, Audit: a, Logger: log}}).Serve(ctx, conn)
}

func (s *Server) endDatabaseForward(ctx context.Context, st databaseStore, id string, end store.SessionEnd, log *slog.Logger) {
	end.EndedAt = s.now()
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := st.EndSession(ectx, id, end); err != nil {
		log.Error("database forward end", "err", err)
	}
}

// addrOf reads a host:port address; a bad one stays as text.
func addrOf(hostport string) net.Addr {
	if a, err := net.ResolveTCPAddr("tcp", hostport); err == nil {
		return a
	}
	return stringAddr(hostport)
}

type stringAddr string

func (a stringAddr) Network() string { return "tcp" }
func (a stringAddr) String() string  { return string(a) }

// channelConn is an SSH channel as the net.Conn the wire proxies take.
// Deadlines are not kept (the proxies' handshake timeouts do not apply:
// the run's context, with its idle timeout, ends a silent client).
type channelConn struct {
	gossh.Channel
	remote net.Addr
	last   atomic.Int64
}

func newChannelConn(ch gossh.Channel, source string) *channelConn {
	c := &channelConn{Channel: ch, remote: addrOf(source)}
	c.last.Store(time.Now().UnixNano())
	return c
}

func (c *channelConn) Read(p []byte) (int, error) {
	n, err := c.Channel.Read(p)
	if n > 0 {
		c.last.Store(time.Now().UnixNano())
	}
	return n, err
}

func (c *channelConn) Write(p []byte) (int, error) {
	n, err := c.Channel.Write(p)
	if n > 0 {
		c.last.Store(time.Now().UnixNano())
	}
	return n, err
}

func (c *channelConn) lastActive() time.Time            { return time.Unix(0, c.last.Load()) }
func (c *channelConn) LocalAddr() net.Addr              { return stringAddr("jms") }
func (c *channelConn) RemoteAddr() net.Addr             { return c.remote }
func (c *channelConn) SetDeadline(time.Time) error      { return nil }
func (c *channelConn) SetReadDeadline(time.Time) error  { return nil }
func (c *channelConn) SetWriteDeadline(time.Time) error { return nil }
