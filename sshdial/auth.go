package sshdial

import (
	"fmt"

	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/store"
)

// AuthMethods builds the SSH authentication for a secret of kind. The
// secret is copied where it must live on (a password, answered on
// demand) and cleared when cleanup is called, after the handshake; the
// caller still clears its own copy. A private key is parsed at once.
func AuthMethods(kind string, secret store.Secret) ([]gossh.AuthMethod, func(), error) {
	switch kind {
	case store.SecretKey:
		signer, err := gossh.ParsePrivateKey(secret)
		if err != nil {
			return nil, func() {}, fmt.Errorf("the private key does not parse: %w", err)
		}
		return []gossh.AuthMethod{gossh.PublicKeys(signer)}, func() {}, nil
	case store.SecretPassword:
		pw := append([]byte(nil), secret...)
		answer := func() string { return string(pw) }
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
				clear(pw)
			}, nil
	default:
		return nil, func() {}, nil // the "none" method only
	}
}
