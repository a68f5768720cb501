package proxy

import (
	"errors"
	"sync"

	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/sshdial"
	"github.com/jms-bastion/jms/store"
)

// connKey names the asset connections sessions may share: one person's,
// to one asset at one address, as one account (as OpenSSH's ControlMaster
// and JumpServer KoKo's REUSE_CONNECTION do). A connection is never shared
// across people, accounts or assets; take also wants the host key it
// verified to be the one pinned now.
type connKey struct {
	user    string
	asset   int64
	account int64
	address string
	port    int
}

func keyOf(req Request) connKey {
	return connKey{user: req.User, asset: req.Asset.ID, account: req.Account.ID,
		address: req.Asset.Address, port: req.Asset.Port}
}

// pinOf is the host key pinned for the asset as take compares it: its
// wire form; "" when none is pinned (or it does not parse: then nothing
// is shared, and the dial says why).
func pinOf(a store.Asset) (pin string, ok bool) {
	if a.HostKey == "" {
		return "", true
	}
	pk, _, _, _, err := gossh.ParseAuthorizedKey([]byte(a.HostKey))
	if err != nil {
		return "", false
	}
	return string(pk.Marshal()), true
}

// pool holds the live asset connections that sessions share, several per
// key when the asset caps the channels of one (sshd's MaxSessions), and
// the dials under way for them. A connection leaves the pool when its last
// session ends (no linger), when it fails, or when it refuses a channel
// for any reason other than a cap.
type pool struct {
	mu    sync.Mutex
	conns map[connKey][]*assetConn
	dials map[dialKey]*pendingDial
}

// dialKey names a dial under way: the sessions of its connKey that accept
// the same host key wait for it rather than dial their own.
type dialKey struct {
	connKey
	pin string // as take compares it
}

// pendingDial is a dial under way for a dialKey. Its dialler sets the
// outcome before done closes (dialed); the waiters read it after.
type pendingDial struct {
	done    chan struct{}
	waiters int // sessions waiting on it (under the pool's lock)

	err    error  // the dial failed: what its waiters fail with
	reason string // the failure's end reason for a session row
	redial bool   // the dialler's session ended first: a waiter dials anew
}

// assetConn is a connection to an asset and the sessions that use it.
type assetConn struct {
	conn    *sshdial.Conn
	key     connKey
	hostKey string // the wire form of the host key it verified
	pooled  bool   // listed in the pool (reuse on)
	users   int    // sessions holding (or opening) a channel on it
	full    bool   // the asset refused a channel on it: none more until one ends
	dead    bool   // out of the pool: closed, failed or being closed
}

// take returns a live connection of key with room for one more channel
// whose host key is pin (any, when pin is ""), counting the caller in;
// nil when there is none.
func (p *pool) take(key connKey, pin string) *assetConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.takeLocked(key, pin)
}

func (p *pool) takeLocked(key connKey, pin string) *assetConn {
	for _, c := range p.conns[key] {
		if !c.dead && !c.full && (pin == "" || pin == c.hostKey) {
			c.users++
			return c
		}
	}
	return nil
}

// find tells a session of dk what to do, in one step under the pool's
// lock: share c, a live connection with room (the caller counted in); or
// wait for d, a dial under way for dk (the caller counted among its
// waiters until it calls left); or, with lead, dial for d itself and end
// it with dialed, which wakes those that wait.
func (p *pool) find(dk dialKey) (c *assetConn, d *pendingDial, lead bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c := p.takeLocked(dk.connKey, dk.pin); c != nil {
		return c, nil, false
	}
	if d := p.dials[dk]; d != nil {
		d.waiters++
		return nil, d, false
	}
	if p.dials == nil {
		p.dials = map[dialKey]*pendingDial{}
	}
	d = &pendingDial{done: make(chan struct{})}
	p.dials[dk] = d
	return nil, d, true
}

// left counts a waiter out of d.
func (p *pool) left(d *pendingDial) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d.waiters--
}

// dialed ends the dial d: c, the connection it made (nil when it failed),
// joins the pool before any waiter wakes to look for it.
func (p *pool) dialed(dk dialKey, d *pendingDial, c *assetConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dials[dk] == d {
		delete(p.dials, dk)
	}
	if c != nil {
		p.listLocked(c)
	}
	close(d.done)
}

// waiting returns how many sessions wait on the dial under way for dk
// (tests).
func (p *pool) waiting(dk dialKey) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d := p.dials[dk]; d != nil {
		return d.waiters
	}
	return 0
}

// newConn makes a newly dialled connection's entry, its first user
// counted in, not yet listed; with pooled false it is the session's alone.
func newConn(key connKey, conn *sshdial.Conn, pooled bool) *assetConn {
	c := &assetConn{conn: conn, key: key, pooled: pooled, users: 1}
	if conn != nil && conn.HostKey != nil {
		c.hostKey = string(conn.HostKey.Marshal())
	}
	return c
}

// add makes a newly dialled connection's entry (newConn) and lists it
// when it is pooled.
func (p *pool) add(key connKey, conn *sshdial.Conn, pooled bool) *assetConn {
	c := newConn(key, conn, pooled)
	p.list(c)
	return c
}

// list lists c in the pool when it is pooled.
func (p *pool) list(c *assetConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.listLocked(c)
}

func (p *pool) listLocked(c *assetConn) {
	if !c.pooled {
		return
	}
	if p.conns == nil {
		p.conns = map[connKey][]*assetConn{}
	}
	p.conns[c.key] = append(p.conns[c.key], c)
}

// refused notes that c refused the caller a channel, and counts the
// caller out: a cap on its channels (an OpenChannelError: sshd's
// MaxSessions) makes it full until a session on it ends; anything else
// means the connection is gone. It reports whether the caller was the
// last on it: the caller then closes the connection.
func (p *pool) refused(c *assetConn, err error) (last bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c.users--
	var oe *gossh.OpenChannelError
	if errors.As(err, &oe) {
		c.full = true
	} else {
		p.dropLocked(c)
	}
	if c.users > 0 {
		return false
	}
	p.dropLocked(c)
	return true
}

// drop takes a failed connection out of the pool: sessions still on it
// end as it ends, and the next session dials anew.
func (p *pool) drop(c *assetConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropLocked(c)
}

func (p *pool) dropLocked(c *assetConn) {
	if c.dead {
		return
	}
	c.dead = true
	if !c.pooled {
		return
	}
	list := p.conns[c.key]
	for i, o := range list {
		if o == c {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(p.conns, c.key)
	} else {
		p.conns[c.key] = list
	}
}

// release counts a session out of c. It reports whether that was the last
// one: the caller then closes the connection (no one else can take it).
func (p *pool) release(c *assetConn) (last bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c.users--
	c.full = false
	if c.users > 0 {
		return false
	}
	p.dropLocked(c)
	return true
}

// alone reports whether the caller is c's only session; if so, c leaves
// the pool so that none joins it, for the caller to close it.
func (p *pool) alone(c *assetConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.users != 1 {
		return false
	}
	p.dropLocked(c)
	return true
}

// size returns how many connections the pool holds for key (tests).
func (p *pool) size(key connKey) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns[key])
}
