package bastion

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/config"
	"github.com/jms-bastion/jms/store"
)

func TestPasswordLogin(t *testing.T) {
	f := newFixture(t, nil)
	for _, tc := range []struct {
		name, user, password string
		ok                   bool
		reason               string
	}{
		{"right", "alice", alicePassword, true, ""},
		{"with a target", "alice@web2", alicePassword, true, ""},
		{"wrong", "alice", "nope", false, "wrong password"},
		{"unknown user", "mallory", alicePassword, false, "unknown user"},
		{"no password set", "bob", alicePassword, false, "no password set"},
		{"disabled", "carol", alicePassword, false, "user disabled"},
		{"bad login name", "Alice!", alicePassword, false, "invalid login name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := f.dial(tc.user, gossh.Password(tc.password))
			if c != nil {
				c.Close()
			}
			if (err == nil) != tc.ok {
				t.Fatalf("login as %s: err %v, want ok=%v", tc.user, err, tc.ok)
			}
			user, _, _ := strings.Cut(tc.user, "@")
			result := store.LoginSuccess
			if !tc.ok {
				result = store.LoginFailure
			}
			f.waitEvent(store.LoginEvent{User: user, Method: "password", Result: result, Reason: tc.reason})
		})
	}
}

func TestPasswordRehash(t *testing.T) {
	f := newFixture(t, nil)
	ctx := store.WithActor(context.Background(), "test")
	weak := store.Argon2Params{Memory: 512, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}
	h, _ := store.HashPassword(store.Secret("bob-password"), weak)
	if err := f.st.SetPasswordHash(ctx, "bob", h, false); err != nil {
		t.Fatal(err)
	}
	f.mustDial("bob", gossh.Password("bob-password")).Close()
	_, got, err := f.st.PasswordHash(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if got == h || !strings.Contains(got, "m=1024,") {
		t.Fatalf("hash not upgraded: %s", got)
	}
}

func TestPublicKeyLogin(t *testing.T) {
	f := newFixture(t, nil)
	c := f.mustDial("alice", gossh.PublicKeys(f.aliceKey))
	c.Close()
	f.waitEvent(store.LoginEvent{User: "alice", Method: "publickey", Result: store.LoginSuccess})
	keys, _ := f.st.ListUserKeys(context.Background(), "alice")
	used := false
	for _, k := range keys {
		if k.Fingerprint == gossh.FingerprintSHA256(f.aliceKey.PublicKey()) && k.LastUsedAt != nil {
			used = true
		}
	}
	if !used {
		t.Errorf("the key's last use was not recorded: %+v", keys)
	}

	for _, tc := range []struct {
		name   string
		signer gossh.Signer
		reason string
	}{
		{"key of another user", f.bobKey, "key of another user"},
		{"unknown key", f.strayKey, "unknown key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if c, err := f.dial("alice", gossh.PublicKeys(tc.signer)); err == nil {
				c.Close()
				t.Fatal("logged in")
			}
			// Offering keys is not a failed attempt; the connection that
			// never logs in is, once.
			f.waitEvent(store.LoginEvent{User: "alice", Method: "publickey", Result: store.LoginFailure, Reason: tc.reason})
		})
	}
}

// swappedSigner offers one public key and signs with another key.
type swappedSigner struct {
	offer gossh.PublicKey
	sign  gossh.Signer
}

func (s swappedSigner) PublicKey() gossh.PublicKey { return s.offer }
func (s swappedSigner) Sign(r io.Reader, data []byte) (*gossh.Signature, error) {
	return s.sign.Sign(r, data)
}

// TestTwoKeys is the CVE-2024-45337 class regression test (soft-serve's
// two-key test): a client that offers alice's key, which it does not
// hold, and signs with another key must not log in as alice; and a
// client that offers one of alice's keys and logs in with the other is
// recorded with the key that signed.
func TestTwoKeys(t *testing.T) {
	f := newFixture(t, nil)
	for _, other := range []gossh.Signer{f.bobKey, f.strayKey, f.aliceKey2} {
		c, err := f.dial("alice", gossh.PublicKeys(swappedSigner{offer: f.aliceKey.PublicKey(), sign: other}))
		if err == nil {
			c.Close()
			t.Fatal("logged in with a key that signed for another")
		}
	}
	if ev := f.events(store.LoginQuery{Result: store.LoginSuccess}); len(ev) != 0 {
		t.Fatalf("successes recorded: %+v", ev)
	}

	// Offer bob's key (refused at the query), then log in with alice's
	// second key: the login is hers, with the key that signed, and the
	// refused offer is not a failure.
	c := f.mustDial("alice", gossh.PublicKeysCallback(func() ([]gossh.Signer, error) {
		return []gossh.Signer{f.bobKey, f.aliceKey2}, nil
	}))
	res := run(t, c, "web2 exit 0", false, "")
	if res.status != 0 {
		t.Fatalf("session: %+v", res)
	}
	c.Close()
	f.waitEvent(store.LoginEvent{User: "alice", Method: "publickey", Result: store.LoginSuccess})
	keys, _ := f.st.ListUserKeys(context.Background(), "alice")
	for _, k := range keys {
		signed := k.Fingerprint == gossh.FingerprintSHA256(f.aliceKey2.PublicKey())
		if signed != (k.LastUsedAt != nil) {
			t.Errorf("key %s: last used %v, want used=%v", k.Fingerprint, k.LastUsedAt, signed)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if ev := f.events(store.LoginQuery{Result: store.LoginFailure}); len(ev) != 0 {
		t.Errorf("failures recorded for a login that succeeded: %+v", ev)
	}
}

// fakeSession is the part of ssh.Session verifyIdentity reads.
type fakeSession struct {
	ssh.Session
	user  string
	perms ssh.Permissions
	pk    ssh.PublicKey
}

func (s fakeSession) User() string                 { return s.user }
func (s fakeSession) Permissions() ssh.Permissions { return s.perms }
func (s fakeSession) PublicKey() ssh.PublicKey     { return s.pk }

func TestVerifyIdentity(t *testing.T) {
	a, b := newSigner(t), newSigner(t)
	fpA := gossh.FingerprintSHA256(a.PublicKey())
	perms := func(kv ...string) ssh.Permissions {
		ext := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			ext[kv[i]] = kv[i+1]
		}
		return ssh.Permissions{Permissions: &gossh.Permissions{Extensions: ext}}
	}
	for _, tc := range []struct {
		name string
		sess fakeSession
		ok   bool
	}{
		{"key", fakeSession{user: "alice", pk: a.PublicKey(), perms: perms(extMethod, methodPublicKey, extUser, "alice", extFingerprint, fpA)}, true},
		{"key with target", fakeSession{user: "alice@root@web1", pk: a.PublicKey(), perms: perms(extMethod, methodPublicKey, extUser, "alice", extFingerprint, fpA)}, true},
		{"other key signed", fakeSession{user: "alice", pk: b.PublicKey(), perms: perms(extMethod, methodPublicKey, extUser, "alice", extFingerprint, fpA)}, false},
		{"no key", fakeSession{user: "alice", perms: perms(extMethod, methodPublicKey, extUser, "alice", extFingerprint, fpA)}, false},
		{"other user", fakeSession{user: "bob", pk: a.PublicKey(), perms: perms(extMethod, methodPublicKey, extUser, "alice", extFingerprint, fpA)}, false},
		{"password", fakeSession{user: "alice", perms: perms(extMethod, methodPassword, extUser, "alice")}, true},
		{"password with a key", fakeSession{user: "alice", pk: a.PublicKey(), perms: perms(extMethod, methodPassword, extUser, "alice")}, false},
		{"no method", fakeSession{user: "alice", perms: perms(extUser, "alice")}, false},
		{"no permissions", fakeSession{user: "alice"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verifyIdentity(tc.sess)
			if (err == nil) != tc.ok {
				t.Fatalf("verifyIdentity: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestConcurrentLoginsFromOneAddress(t *testing.T) {
	// 100 handshakes at once under -race on a loaded 2-core machine can
	// take longer than the default 30 s to authenticate: the test is about
	// concurrency, not about the pre-auth deadline.
	f := newFixture(t, func(c *config.Config) { c.PreAuthTimeout = 5 * time.Minute })
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := f.dial("alice", gossh.PublicKeys(f.aliceKey))
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			s, err := c.NewSession()
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			out, err := s.Output("web2 exit 0")
			if err != nil || !strings.Contains(string(out), "bye from web2") {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("login: %v", err)
	}
}

func TestUnauthenticatedCaps(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.MaxUnauthPerSource = 2 })
	var conns []net.Conn
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", f.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
		if _, err := readBanner(c); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
	}
	c, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if b, err := readBanner(c); err == nil {
		t.Fatalf("a third unauthenticated connection got a banner %q", b)
	}
	// Freeing a slot lets the next one in.
	conns[0].Close()
	ok := false
	for i := 0; i < 50 && !ok; i++ {
		time.Sleep(20 * time.Millisecond)
		c, err := net.Dial("tcp", f.addr)
		if err != nil {
			t.Fatal(err)
		}
		_, err = readBanner(c)
		c.Close()
		ok = err == nil
	}
	if !ok {
		t.Fatal("no slot freed after a connection closed")
	}
	// A logged-in connection does not hold a slot.
	conns[1].Close()
	time.Sleep(50 * time.Millisecond)
	for i := 0; i < 3; i++ {
		f.mustDial("alice", gossh.PublicKeys(f.aliceKey))
	}
}

func readBanner(c net.Conn) (string, error) {
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

func TestPreAuthDeadline(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.PreAuthTimeout = 300 * time.Millisecond })
	c, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.Copy(io.Discard, c) // the banner, then EOF when the server gives up
	if err != nil {
		t.Fatalf("the server did not close a silent connection: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("closed after %v, want about 300ms", d)
	}
	// A logged-in connection outlives the deadline.
	cl := f.mustDial("alice", gossh.PublicKeys(f.aliceKey))
	time.Sleep(500 * time.Millisecond)
	if res := run(t, cl, "web2 exit 3", false, ""); res.status != 3 {
		t.Fatalf("after the deadline: %+v", res)
	}
}
