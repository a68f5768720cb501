package automation

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"strings"

	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/store"
)

// passwordAlphabet is what generated passwords are made of: letters and
// digits, so that no shell, chpasswd or keyboard layout trips on one.
const passwordAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

// passwordLength gives about 140 bits.
const passwordLength = 24

// newPassword returns a random password, never the same twice.
func newPassword() (store.Secret, error) {
	out := make([]byte, passwordLength)
	buf := make([]byte, 1)
	n := byte(len(passwordAlphabet))
	limit := 256 - 256%int(n) // reject bytes that would bias the choice
	for i := 0; i < len(out); {
		if _, err := rand.Read(buf); err != nil {
			return nil, fmt.Errorf("generate a password: %w", err)
		}
		if int(buf[0]) >= limit {
			continue
		}
		out[i] = passwordAlphabet[buf[0]%n]
		i++
	}
	return store.Secret(out), nil
}

// newKey returns a new ed25519 private key in OpenSSH format.
func newKey(comment string) (store.Secret, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate a key: %w", err)
	}
	block, err := gossh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, fmt.Errorf("encode the key: %w", err)
	}
	return store.Secret(pem.EncodeToMemory(block)), nil
}

// publicLine returns the authorized_keys line of a private key, without
// comment.
func publicLine(private store.Secret) (string, error) {
	signer, err := gossh.ParsePrivateKey(private)
	if err != nil {
		return "", fmt.Errorf("the private key does not parse: %w", err)
	}
	return strings.TrimSpace(string(gossh.MarshalAuthorizedKey(signer.PublicKey()))), nil
}

// newSecret makes a secret of kind.
func newSecret(kind, comment string) (store.Secret, error) {
	if kind == store.SecretKey {
		return newKey(comment)
	}
	return newPassword()
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
