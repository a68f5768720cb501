package sshdial

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"

	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/store"
)

// HostKeys pins an asset's host key at first use.
type HostKeys interface {
	PinHostKey(ctx context.Context, asset, key string) error
}

// hostKeyCheck compares the key an asset offers with its pinned one.
type hostKeyCheck struct {
	keys   HostKeys
	policy string
	log    *slog.Logger
	ctx    context.Context
	asset  store.Asset

	err     *Error          // set when the key was refused
	offered gossh.PublicKey // the key the asset offered
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
	h.offered = key
	offered := gossh.FingerprintSHA256(key)
	if h.asset.HostKey == "" {
		if h.policy == "require" {
			h.err = &Error{Kind: HostKeyUntrusted, Offered: offered,
				Reason: "host key not trusted yet (offered " + offered + ")"}
			return h.err
		}
		line := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(key)))
		if err := h.keys.PinHostKey(h.ctx, name, line); err != nil {
			var mm *store.HostKeyMismatchError
			if errors.As(err, &mm) { // pinned meanwhile: check against that key
				h.asset.HostKey = mm.Pinned
				return h.check("", nil, key)
			}
			h.err = &Error{Kind: PinFailed, Offered: offered, Reason: "cannot pin the host key: " + err.Error(),
				Err: fmt.Errorf("pin the host key of %s: %w", name, err)}
			return h.err
		}
		h.log.Info("host key pinned at first use", "asset", name, "fingerprint", offered)
		return nil
	}
	pinned, _, _, _, err := gossh.ParseAuthorizedKey([]byte(h.asset.HostKey))
	if err != nil {
		h.err = &Error{Kind: HostKeyUnreadable, Offered: offered, Reason: "pinned host key unreadable", Err: err}
		return h.err
	}
	if bytes.Equal(pinned.Marshal(), key.Marshal()) {
		return nil
	}
	was := gossh.FingerprintSHA256(pinned)
	h.err = &Error{Kind: HostKeyMismatch, Offered: offered, Pinned: was,
		Reason: fmt.Sprintf("host key changed (pinned %s, offered %s)", was, offered)}
	h.log.Warn("host key changed: connection refused", "asset", name, "pinned", was, "offered", offered)
	return h.err
}
