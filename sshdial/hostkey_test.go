package sshdial

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/store"
)

// A key trusted by an operator while a first connection was dialing
// (the asset was read with no key pinned) must win: the offered key is
// then checked against it, not pinned over it.
func TestHostKeyPinnedMeanwhileIsChecked(t *testing.T) {
	ctx := context.Background()
	raw, _ := store.GenerateKeyBytes()
	k, _ := store.NewKey(raw, "test")
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "jms.db"), store.Options{Sealer: store.NewSealer(k)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	asset, err := st.AddAsset(ctx, store.NewAsset{Name: "web1", Address: "10.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	newKey := func() gossh.PublicKey {
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		pk, _ := gossh.NewPublicKey(pub)
		return pk
	}
	trusted, offered := newKey(), newKey()
	if err := st.TrustHostKey(ctx, "web1", strings.TrimSpace(string(gossh.MarshalAuthorizedKey(trusted)))); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := &hostKeyCheck{keys: st, policy: "tofu", log: log, ctx: ctx, asset: asset} // asset.HostKey == "": read before the trust
	if err := h.check("", nil, offered); err == nil || h.err == nil || h.err.Kind != HostKeyMismatch {
		t.Fatalf("offered key accepted over a key trusted meanwhile: err %v", err)
	}
	h = &hostKeyCheck{keys: st, policy: "tofu", log: log, ctx: ctx, asset: asset}
	if err := h.check("", nil, trusted); err != nil {
		t.Fatalf("the trusted key itself: %v", err)
	}
	if a, _ := st.GetAsset(ctx, "web1"); !strings.HasPrefix(a.HostKey, trusted.Type()) || a.HostKey != strings.TrimSpace(string(gossh.MarshalAuthorizedKey(trusted))) {
		t.Fatalf("pinned key changed to %q", a.HostKey)
	}
}
