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
// key when the asset caps the channels of one (sshd's MaxSessions). A
// connection leaves the pool when its last session ends (no linger), when
// it fails, or when it refuses a channel for any reason other than a cap.
type pool struct {
	mu    sync.Mutex
	conns map[connKey][]*assetConn
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
	for _, c := range p.conns[key] {
		if !c.dead && !c.full && (pin == "" || pin == c.hostKey) {
			c.users++
			return c
		}
	}
	return nil
}

// add lists a newly dialled connection, its first user counted in; with
// pooled false it is the session's alone.
func (p *pool) add(key connKey, conn *sshdial.Conn, pooled bool) *assetConn {
	c := &assetConn{conn: conn, key: key, pooled: pooled, users: 1}
	if conn != nil && conn.HostKey != nil {
		c.hostKey = string(conn.HostKey.Marshal())
	}
	if !pooled {
		return c
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		p.conns = map[connKey][]*assetConn{}
	}
	p.conns[key] = append(p.conns[key], c)
	return c
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
