package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/store"
)

// dialResult says how a dial went, for the session row.
type dialResult struct {
	client *gossh.Client
	// reason is the end reason to record when the dial failed.
	reason string
}

// dial connects to the asset as the account: TCP connect and SSH
// handshake within the connect timeout, host key checked against the pin
// (or pinned now, under tofu), authenticated with the account's secret.
// Errors a person should read are *sessionerr.UserError.
func (p *Proxy) dial(ctx context.Context, req Request) (dialResult, error) {
	a := req.Asset
	port := a.Port
	if port == 0 {
		port = 22
	}
	addr := net.JoinHostPort(a.Address, strconv.Itoa(port))
	acc := req.Account

	auth, cleanup, err := p.authMethods(ctx, acc.ID)
	if err != nil {
		return dialResult{reason: "account secret: " + err.Error()}, err
	}
	defer cleanup()

	hk := &hostKeyCheck{p: p, ctx: ctx, asset: a}
	cfg := &gossh.ClientConfig{
		User:            acc.Username,
		Auth:            auth,
		HostKeyCallback: hk.check,
		Timeout:         p.cfg.ConnectTimeout,
		ClientVersion:   "SSH-2.0-jms",
	}
	if algos := hk.algorithms(); algos != nil {
		cfg.HostKeyAlgorithms = algos
	}

	deadline := time.Now().Add(p.cfg.ConnectTimeout)
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return dialResult{reason: "canceled while connecting"}, userErrorf(context.Cause(ctx), "jms: connection to %s canceled", a.Name)
		}
		msg := reachReason(err, p.cfg.ConnectTimeout)
		return dialResult{reason: "cannot reach the asset: " + msg},
			userErrorf(err, "jms: cannot reach %s (%s): %s", a.Name, addr, msg)
	}
	// The deadline covers the handshake too; a cancelled ctx closes the
	// connection so that a kill or shutdown does not wait for it.
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	c, chans, reqs, err := gossh.NewClientConn(conn, addr, cfg)
	stopped := stop()
	if err != nil {
		conn.Close()
		if hk.err != nil {
			return dialResult{reason: hk.reason}, hk.err
		}
		if !stopped || ctx.Err() != nil {
			return dialResult{reason: "canceled while connecting"}, userErrorf(context.Cause(ctx), "jms: connection to %s canceled", a.Name)
		}
		if strings.Contains(err.Error(), "unable to authenticate") {
			what := "login"
			switch acc.SecretKind {
			case store.SecretPassword:
				what = "password"
			case store.SecretKey:
				what = "key"
			}
			return dialResult{reason: "the asset refused the account's " + what},
				userErrorf(err, "jms: cannot log in to %s as %s: the asset refused the account's %s", a.Name, acc.Username, what)
		}
		msg := reachReason(err, p.cfg.ConnectTimeout)
		if !isTimeout(err) {
			msg = "SSH handshake failed: " + strings.TrimPrefix(err.Error(), "ssh: handshake failed: ")
		}
		return dialResult{reason: "cannot reach the asset: " + msg},
			userErrorf(err, "jms: cannot reach %s (%s): %s", a.Name, addr, msg)
	}
	if !stopped {
		// ctx ended just as the handshake finished.
		c.Close()
		return dialResult{reason: "canceled while connecting"}, userErrorf(context.Cause(ctx), "jms: connection to %s canceled", a.Name)
	}
	conn.SetDeadline(time.Time{})
	return dialResult{client: gossh.NewClient(c, chans, reqs)}, nil
}

// authMethods builds the SSH authentication of the account from its
// secret. The secret is cleared when cleanup is called (after the
// handshake); a private key is cleared as soon as its signer is built.
func (p *Proxy) authMethods(ctx context.Context, accountID int64) ([]gossh.AuthMethod, func(), error) {
	acc, secret, err := p.st.AccountSecret(ctx, accountID)
	if err != nil {
		return nil, func() {}, fmt.Errorf("open the secret of account #%d: %w", accountID, err)
	}
	switch acc.SecretKind {
	case store.SecretKey:
		signer, err := gossh.ParsePrivateKey(secret)
		clear(secret)
		if err != nil {
			return nil, func() {}, fmt.Errorf("account %s@%s: its private key does not parse: %w", acc.Username, acc.Asset, err)
		}
		return []gossh.AuthMethod{gossh.PublicKeys(signer)}, func() {}, nil
	case store.SecretPassword:
		answer := func() string { return string(secret) }
		return []gossh.AuthMethod{
				gossh.PasswordCallback(func() (string, error) { return answer(), nil }),
				// Many sshd setups take passwords through keyboard-interactive
				// only: answer every hidden prompt with the password.
				gossh.KeyboardInteractive(func(name, instruction string, questions []string, echos []bool) ([]string, error) {
					answers := make([]string, len(questions))
					for i := range questions {
						if !echos[i] {
							answers[i] = answer()
						}
					}
					return answers, nil
				}),
			}, func() {
				clear(secret)
			}, nil
	default:
		clear(secret)
		return nil, func() {}, nil // the "none" method only
	}
}

// hostKeyCheck compares the key an asset offers with its pinned one.
type hostKeyCheck struct {
	p     *Proxy
	ctx   context.Context
	asset store.Asset

	err    error  // set when the key was refused
	reason string // the end reason to record then
}

// algorithms returns the host key algorithms of the pinned key, so that an
// asset with several host keys offers the pinned one; nil when none is
// pinned or it does not parse.
func (h *hostKeyCheck) algorithms() []string {
	if h.asset.HostKey == "" {
		return nil
	}
	pk, _, _, _, err := gossh.ParseAuthorizedKey([]byte(h.asset.HostKey))
	if err != nil {
		return nil
	}
	if pk.Type() == gossh.KeyAlgoRSA {
		return []string{gossh.KeyAlgoRSASHA512, gossh.KeyAlgoRSASHA256, gossh.KeyAlgoRSA}
	}
	return []string{pk.Type()}
}

func (h *hostKeyCheck) check(_ string, _ net.Addr, key gossh.PublicKey) error {
	name := h.asset.Name
	offered := gossh.FingerprintSHA256(key)
	if h.asset.HostKey == "" {
		if h.p.cfg.HostKeyPolicy == "require" {
			h.reason = "host key not trusted yet (offered " + offered + ")"
			h.err = userErrorf(nil, "jms: host key of %s is not trusted yet: ask an admin to run `jmsctl asset trust %s`", name, name)
			return h.err
		}
		line := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(key)))
		if err := h.p.st.PinHostKey(h.ctx, name, line); err != nil {
			var mm *store.HostKeyMismatchError
			if errors.As(err, &mm) { // pinned meanwhile: check against that key
				h.asset.HostKey = mm.Pinned
				return h.check("", nil, key)
			}
			h.reason = "cannot pin the host key: " + err.Error()
			h.err = fmt.Errorf("pin the host key of %s: %w", name, err)
			return h.err
		}
		h.p.log.Info("host key pinned at first use", "asset", name, "fingerprint", offered)
		return nil
	}
	pinned, _, _, _, err := gossh.ParseAuthorizedKey([]byte(h.asset.HostKey))
	if err != nil {
		h.reason = "pinned host key unreadable"
		h.err = userErrorf(err, "jms: the pinned host key of %s is unreadable: an admin can re-pin it with jmsctl asset trust %s", name, name)
		return h.err
	}
	if bytes.Equal(pinned.Marshal(), key.Marshal()) {
		return nil
	}
	was := gossh.FingerprintSHA256(pinned)
	h.reason = fmt.Sprintf("host key changed (pinned %s, offered %s)", was, offered)
	h.err = userErrorf(nil, "jms: host key of %s changed (pinned %s, offered %s): refusing to connect; an admin can re-pin it with jmsctl asset trust %s",
		name, was, offered, name)
	h.p.log.Warn("host key changed: connection refused", "asset", name, "pinned", was, "offered", offered)
	return h.err
}

// reachReason says in a few words why a connection failed.
func reachReason(err error, timeout time.Duration) string {
	var dnsErr *net.DNSError
	switch {
	case isTimeout(err):
		return "timed out after " + timeout.String()
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "no route to host"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network is unreachable"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "no such host"
		}
		return "name lookup failed: " + dnsErr.Err
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		return opErr.Err.Error()
	}
	return err.Error()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout())
}

// Dial connects to the asset as the account, as a session would (pinned
// host key, connect timeout, the account's secret), for the callers that
// speak to the asset themselves: SFTP and forwarded channels. The caller
// closes the client. Errors a person should read are *sessionerr.UserError.
func (p *Proxy) Dial(ctx context.Context, asset store.Asset, account store.GrantedAccount) (*gossh.Client, error) {
	dr, err := p.dial(ctx, Request{Asset: asset, Account: account})
	if err != nil {
		return nil, err
	}
	return dr.client, nil
}
