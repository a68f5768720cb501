package notify

import (
	"net"
	"time"

	"github.com/jms-bastion/jms/store"
)

// Invitation is what an invitation mail tells a new person: her login,
// a one-time password, until when it works, and how to reach the
// bastion and recognise it (its host key fingerprint).
type Invitation struct {
	User        string
	Email       string
	Password    store.Secret
	Expires     time.Time
	Bastion     string // host:port
	Fingerprint string // SHA256:…
}

// InvitationMessage renders the invitation into an outbox row (its
// payload, sealed at rest, holds the password).
func InvitationMessage(t Templates, inv Invitation) (store.NewOutboxMessage, error) {
	host, port, err := net.SplitHostPort(inv.Bastion)
	if err != nil {
		host, port = inv.Bastion, "22"
	}
	return mailMessage(t, "invite", inv.Email, map[string]any{
		"Name": inv.User, "User": inv.User, "Password": string(inv.Password),
		"Expires": inv.Expires.UTC().Format(time.RFC3339), "Host": host, "Port": port,
		"Fingerprint": inv.Fingerprint})
}
