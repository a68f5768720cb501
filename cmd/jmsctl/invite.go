package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/config"
	"github.com/jms-bastion/jms/notify"
	"github.com/jms-bastion/jms/store"
)

func newUserInviteCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "invite NAME",
		Short: "Mail a person a new one-time password and how to log in",
		Long: `invite gives NAME a new random one-time password, valid for invite_ttl
(72h by default) and to be changed at her first login, and mails it to her
address with the bastion's address (notify_public_address, else this host
and the listen port) and its host key fingerprint. Her old password stops
working. The mail goes through the outbox: serve sends it within
notify_poll, and 'jmsctl notify outbox' shows it until it is sent.`,
		Example: `  jmsctl user invite alice
  jmsctl user add bob --email bob@example.com --invite`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			return a.invite(ctx, s, args[0])
		},
	}
}

// invite makes a one-time password for name and queues her invitation.
func (a *app) invite(ctx context.Context, s *store.Store, name string) error {
	cfg, err := a.config()
	if err != nil {
		return err
	}
	u, err := s.GetUser(ctx, name)
	if err != nil {
		return err
	}
	if u.Email == "" {
		return fmt.Errorf("user %q has no address: set one with 'jmsctl user set %s --email ADDRESS'", name, name)
	}
	if _, err := notify.ParseAddress(u.Email); err != nil {
		return fmt.Errorf("user %q: address %q: %w", name, u.Email, err)
	}
	if _, err := os.Stat(cfg.HostKeyPath()); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no host key in %s yet: run 'jmsctl serve' once", cfg.DataDir)
	}
	fp, err := hostKeyFingerprint(cfg.HostKeyPath())
	if err != nil {
		return err
	}
	pw, err := store.GeneratePassword(max(16, cfg.PasswordMinLength))
	if err != nil {
		return err
	}
	defer clear(pw)
	hash, err := store.HashPassword(pw, store.DefaultArgon2)
	if err != nil {
		return err
	}
	expires := time.Now().Add(cfg.InviteTTL)
	msg, err := notify.InvitationMessage(templates(cfg), notify.Invitation{User: u.Name, Email: u.Email, Password: pw,
		Expires: expires, Bastion: publicAddress(cfg), Fingerprint: fp})
	if err != nil {
		return err
	}
	defer clear(msg.Payload)
	if err := s.InviteUser(ctx, u.Name, hash, expires, []store.NewOutboxMessage{msg}); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Invited %s: a one-time password valid until %s is queued for %s ('jmsctl notify outbox' shows it until serve sends it)\n",
		u.Name, fmtTime(expires), u.Email)
	return nil
}

// publicAddress is how people reach the bastion: notify_public_address,
// else this host's name and the listen port.
func publicAddress(cfg config.Config) string {
	if cfg.NotifyPublicAddress != "" {
		return cfg.NotifyPublicAddress
	}
	host, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return cfg.Listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if h, err := os.Hostname(); err == nil {
			host = h
		}
	}
	return net.JoinHostPort(host, port)
}
