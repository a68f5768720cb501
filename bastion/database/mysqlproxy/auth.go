package mysqlproxy

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // mysql_native_password and RSA-OAEP as the protocol defines them
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"

	"github.com/jms-bastion/jms/bastion/database"
)

// scrambleNative is mysql_native_password's answer to a scramble:
// SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))).
func scrambleNative(scramble []byte, password string) []byte {
	if password == "" {
		return nil
	}
	h1 := sha1.Sum([]byte(password))
	h2 := sha1.Sum(h1[:])
	h := sha1.New()
	h.Write(scramble[:min(20, len(scramble))])
	h.Write(h2[:])
	h3 := h.Sum(nil)
	for i := range h1 {
		h1[i] ^= h3[i]
	}
	return h1[:]
}

// scrambleSHA2 is caching_sha2_password's fast answer:
// SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + scramble).
func scrambleSHA2(scramble []byte, password string) []byte {
	if password == "" {
		return nil
	}
	m1 := sha256.Sum256([]byte(password))
	m2 := sha256.Sum256(m1[:])
	h := sha256.New()
	h.Write(m2[:])
	h.Write(scramble[:min(20, len(scramble))])
	m3 := h.Sum(nil)
	for i := range m1 {
		m1[i] ^= m3[i]
	}
	return m1[:]
}

// authData answers a plugin's scramble; clear text only over TLS.
func authData(plugin string, scramble []byte, password string, tlsOn bool) ([]byte, error) {
	switch plugin {
	case nativePassword, "":
		return scrambleNative(scramble, password), nil
	case cachingSHA2Password:
		return scrambleSHA2(scramble, password), nil
	case clearPassword, "sha256_password":
		if !tlsOn {
			return nil, fmt.Errorf("the database asks for the %s login, which sends the password in clear: set the asset's TLS mode", plugin)
		}
		return append([]byte(password), 0), nil
	}
	return nil, fmt.Errorf("the database asks for the %s login, which the bastion does not support", plugin)
}

// server is the proxy's logged-in connection to the database.
type server struct {
	nc net.Conn
	c  *conn
}

// dialServer connects to the target and reads its handshake.
func dialServer(ctx context.Context, t database.Target) (*server, *serverHandshake, error) {
	d := net.Dialer{Timeout: t.ConnectTimeout}
	if d.Timeout == 0 {
		d.Timeout = defaultConnectTimeout
	}
	nc, err := d.DialContext(ctx, "tcp", t.HostPort())
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to %s: %w", t.HostPort(), err)
	}
	s := &server{nc: nc, c: &conn{r: bufio.NewReaderSize(nc, 32<<10), w: bufio.NewWriterSize(nc, 32<<10)}}
	p, err := s.c.readPacket()
	if err == nil {
		var h *serverHandshake
		if h, err = parseServerHandshake(p.payload); err == nil {
			return s, h, nil
		}
	}
	nc.Close()
	return nil, nil, fmt.Errorf("reading %s's handshake: %w", t.HostPort(), err)
}

// login answers the server's handshake for the account, over TLS when the
// target asks for it, and returns the server's final OK payload.
func (s *server) login(t database.Target, h *serverHandshake, resp *clientResponse) ([]byte, error) {
	seq := byte(1)
	tlsCfg, err := t.TLSConfig()
	if err != nil {
		return nil, err
	}
	if tlsCfg != nil {
		if h.caps&capSSL == 0 {
			return nil, errors.New("TLS is required by the asset but the database does not offer it")
		}
		if seq, err = s.c.writePacket(seq, sslRequest(resp.caps, resp.maxPacket, resp.charset)); err == nil {
			err = s.c.flush()
		}
		if err != nil {
			return nil, err
		}
		tc := tls.Client(s.nc, tlsCfg)
		if err := tc.Handshake(); err != nil {
			return nil, fmt.Errorf("TLS with the database: %w", err)
		}
		s.nc = tc
		s.c = &conn{r: bufio.NewReaderSize(tc, 32<<10), w: bufio.NewWriterSize(tc, 32<<10)}
		resp.caps |= capSSL
	}
	if resp.auth, err = authData(h.plugin, h.scramble, t.Password, tlsCfg != nil); err != nil {
		return nil, err
	}
	resp.plugin = h.plugin
	if _, err := s.c.writePacket(seq, resp.encode()); err != nil {
		return nil, err
	}
	return s.authLoop(t.Password, h, tlsCfg != nil)
}

// authLoop follows the server's answers: OK, ERR, a switch to another
// plugin, or caching_sha2_password's fast or full authentication.
func (s *server) authLoop(password string, h *serverHandshake, tlsOn bool) ([]byte, error) {
	plugin, scramble := h.plugin, h.scramble
	for range 6 {
		if err := s.c.flush(); err != nil {
			return nil, err
		}
		p, err := s.c.readPacket()
		if err != nil {
			return nil, err
		}
		if len(p.payload) == 0 {
			return nil, errShort
		}
		var reply []byte
		switch p.payload[0] {
		case 0x00:
			return p.payload, nil
		case 0xff:
			return nil, errors.New(errPacketText(p.payload))
		case 0xfe:
			r := &reader{b: p.payload[1:]}
			plugin = r.nulString()
			scramble = trimNUL(r.b)
			if reply, err = authData(plugin, scramble, password, tlsOn); err != nil {
				return nil, err
			}
		case 0x01:
			if reply, err = s.moreData(p.payload[1:], plugin, scramble, password, tlsOn); err != nil {
				return nil, err
			}
			if reply == nil {
				continue // fast authentication succeeded: the OK follows
			}
		default:
			return nil, fmt.Errorf("unexpected packet 0x%02x during login", p.payload[0])
		}
		if _, err := s.c.writePacket(p.seq+1, reply); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("the database's login did not end")
}

// moreData answers caching_sha2_password: 3 is fast success (nil reply),
// 4 asks for the password: in clear over TLS, else RSA-encrypted with the
// server's key (asked for with 2 when it has not come yet).
func (s *server) moreData(data []byte, plugin string, scramble []byte, password string, tlsOn bool) ([]byte, error) {
	if plugin != cachingSHA2Password && plugin != "sha256_password" {
		return nil, fmt.Errorf("unexpected login data for %s", plugin)
	}
	switch {
	case len(data) == 1 && data[0] == 3:
		return nil, nil
	case len(data) == 1 && data[0] == 4 && tlsOn:
		return append([]byte(password), 0), nil
	case len(data) == 1 && data[0] == 4:
		return []byte{2}, nil
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("the database sent an unreadable public key")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the database's public key: %w", err)
	}
	rsaPub, ok := pub.(*rsa.PublicKey)
	if !ok || len(scramble) == 0 {
		return nil, errors.New("the database's public key is not RSA")
	}
	plain := append([]byte(password), 0)
	for i := range plain {
		plain[i] ^= scramble[i%len(scramble)]
	}
	return rsa.EncryptOAEP(sha1.New(), rand.Reader, rsaPub, plain, nil)
}

func trimNUL(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == 0 {
		return b[:len(b)-1]
	}
	return b
}
