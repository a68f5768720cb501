package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/sshdial"
	"github.com/jms-bastion/jms/store"
)

// dialResult says how a dial went, for the session row.
type dialResult struct {
	conn *sshdial.Conn
	// reason is the end reason to record when the dial failed.
	reason string
}

// dial connects to the asset as the account through sshdial: TCP
// connect and SSH handshake within the connect timeout, host key checked
// against the pin (or pinned now, under tofu), authenticated with the
// account's secret. Errors a person should read are
// *sessionerr.UserError.
func (p *Proxy) dial(ctx context.Context, req Request) (dialResult, error) {
	a := req.Asset
	acc := req.Account
	auth, cleanup, err := p.authMethods(ctx, acc.ID)
	if err != nil {
		return dialResult{reason: "account secret: " + err.Error()}, err
	}
	defer cleanup()
	d := sshdial.Dialer{Keys: assetKeys{st: p.st, id: a.ID}, Policy: p.cfg.HostKeyPolicy, Timeout: p.cfg.ConnectTimeout, Log: p.log}
	conn, err := d.DialConn(ctx, a, acc.Username, auth)
	if err != nil {
		return dialResult{reason: dialReason(err, acc)}, dialError(err, a, acc)
	}
	return dialResult{conn: conn}, nil
}

// dialReason is the end reason to record for a failed dial.
func dialReason(err error, acc store.GrantedAccount) string {
	var de *sshdial.Error
	if !errors.As(err, &de) {
		return err.Error()
	}
	if de.Kind == sshdial.AuthFailed {
		return "the asset refused the account's " + secretWord(acc.SecretKind)
	}
	return de.Reason
}

// dialError is what a person is told about a failed dial.
func dialError(err error, a store.Asset, acc store.GrantedAccount) error {
	var de *sshdial.Error
	if !errors.As(err, &de) {
		return err
	}
	name := a.Name
	switch de.Kind {
	case sshdial.Canceled:
		return userErrorf(de.Err, "jms: connection to %s canceled", name)
	case sshdial.AuthFailed:
		return userErrorf(de.Err, "jms: cannot log in to %s as %s: the asset refused the account's %s", name, acc.Username, secretWord(acc.SecretKind))
	case sshdial.HostKeyUntrusted:
		return userErrorf(nil, "jms: host key of %s is not trusted yet: ask an admin to run `jmsctl asset trust %s`", name, name)
	case sshdial.HostKeyUnreadable:
		return userErrorf(de.Err, "jms: the pinned host key of %s is unreadable: an admin can re-pin it with jmsctl asset trust %s", name, name)
	case sshdial.HostKeyMismatch:
		return userErrorf(nil, "jms: host key of %s changed (pinned %s, offered %s): refusing to connect; an admin can re-pin it with jmsctl asset trust %s",
			name, de.Pinned, de.Offered, name)
	case sshdial.PinFailed:
		return de.Err
	}
	port := a.Port
	if port == 0 {
		port = 22
	}
	addr := net.JoinHostPort(a.Address, strconv.Itoa(port))
	return userErrorf(de.Err, "jms: cannot reach %s (%s): %s", name, addr, strings.TrimPrefix(de.Reason, "cannot reach the asset: "))
}

func secretWord(kind string) string {
	switch kind {
	case store.SecretPassword:
		return "password"
	case store.SecretKey:
		return "key"
	}
	return "login"
}

// authMethods builds the SSH authentication of the account from its
// secret. The secret is cleared when cleanup is called (after the
// handshake); a private key is cleared as soon as its signer is built.
func (p *Proxy) authMethods(ctx context.Context, accountID int64) ([]gossh.AuthMethod, func(), error) {
	acc, secret, err := p.st.AccountSecret(ctx, accountID)
	if err != nil {
		return nil, func() {}, fmt.Errorf("open the secret of account #%d: %w", accountID, err)
	}
	defer clear(secret)
	auth, cleanup, err := sshdial.AuthMethods(acc.SecretKind, secret)
	if err != nil {
		return nil, func() {}, fmt.Errorf("account %s@%s: %w", acc.Username, acc.Asset, err)
	}
	return auth, cleanup, nil
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
	c := dr.conn
	return gossh.NewClient(c.Conn, c.Chans, c.Reqs), nil
}

// assetKeys pins the host key of the asset being dialled by its id:
// its name may be another organization's too.
type assetKeys struct {
	st Store
	id int64
}

func (k assetKeys) PinHostKey(ctx context.Context, _ string, key string) error {
	return k.st.PinAssetHostKey(ctx, k.id, key)
}
