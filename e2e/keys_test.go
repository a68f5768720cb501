package e2e

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// Key is an ed25519 key pair on disk, in OpenSSH formats, for the ssh client (-i Path) or for
// `jmsctl user add --key PubPath`.
type Key struct {
	Path          string        // private key, OpenSSH PEM, mode 0600
	PubPath       string        // Path + ".pub", one authorized_keys line
	PEM           []byte        // the private key file's contents
	AuthorizedKey string        // "ssh-ed25519 AAAA… comment", without a newline
	PublicKey     ssh.PublicKey // the public half
	Signer        ssh.Signer    // for x/crypto clients
}

// ClientKey makes a fresh ed25519 key pair in a temporary folder, for a bastion user.
func ClientKey(t testing.TB) *Key {
	t.Helper()
	return writeKey(t, t.TempDir(), "id_ed25519", "jms-e2e-"+t.Name())
}

// writeKey makes an ed25519 key pair as dir/name and dir/name.pub (0644 for the folder walk
// does not matter: ssh only checks the private file's mode).
func writeKey(t testing.TB, dir, name, comment string) *Key {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("generating an ed25519 key: %v", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		t.Fatalf("encoding the private key: %v", err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatalf("making a signer: %v", err)
	}
	comment = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' {
			return '_'
		}
		return r
	}, comment)
	k := &Key{
		Path:          filepath.Join(dir, name),
		PEM:           pem.EncodeToMemory(block),
		PublicKey:     signer.PublicKey(),
		AuthorizedKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " " + comment,
		Signer:        signer,
	}
	k.PubPath = k.Path + ".pub"
	if err := os.WriteFile(k.Path, k.PEM, 0o600); err != nil {
		t.Fatalf("writing the private key: %v", err)
	}
	if err := os.WriteFile(k.PubPath, []byte(k.AuthorizedKey+"\n"), 0o644); err != nil {
		t.Fatalf("writing the public key: %v", err)
	}
	return k
}
