package notify

import (
	"errors"
	"slices"

	"github.com/wneessen/go-mail/smtp"
)

// passwordAuth logs in with PLAIN, or LOGIN when the server offers only
// that, and only over TLS (or to localhost): the password never crosses
// the network in clear. go-mail's own discovery cannot tell that a
// connection our dialer made is TLS, so it is chosen here.
type passwordAuth struct {
	user, pass, host string
	chosen           smtp.Auth
}

func (a *passwordAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	switch {
	case slices.Contains(server.Auth, "PLAIN"):
		a.chosen = smtp.PlainAuth("", a.user, a.pass, a.host, false)
	case slices.Contains(server.Auth, "LOGIN"):
		a.chosen = smtp.LoginAuth(a.user, a.pass, a.host, false)
	default:
		return "", nil, errors.New("the server offers neither PLAIN nor LOGIN authentication")
	}
	return a.chosen.Start(server)
}

func (a *passwordAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	return a.chosen.Next(fromServer, more)
}
