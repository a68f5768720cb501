package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/jms-bastion/jms/bastion"
	"github.com/jms-bastion/jms/store"
)

func newUserMFACmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mfa",
		Short: "Manage a person's TOTP multi-factor authentication",
		Long: `With MFA on, a person logs in with her password or key and then answers the
"OTP code:" prompt with the 6-digit code of an authenticator app (or one of
her recovery codes). A code is accepted once. With mfa: required in jms.yaml
(or her role in mfa_roles) a person without MFA enrols at her first login.`,
		Example: `  jmsctl user mfa enable alice
  jmsctl user mfa enable alice -o json
  jmsctl user mfa recovery alice
  jmsctl user mfa disable alice`,
	}
	cmd.AddCommand(newUserMFAEnableCmd(a), newUserMFADisableCmd(a), newUserMFARecoveryCmd(a))
	return cmd
}

// mfaEnrolment is what `user mfa enable -o json` prints.
type mfaEnrolment struct {
	User          string   `json:"user" yaml:"user"`
	Secret        string   `json:"secret" yaml:"secret"`
	URI           string   `json:"uri" yaml:"uri"`
	RecoveryCodes []string `json:"recovery_codes" yaml:"recovery_codes"`
}

func newUserMFAEnableCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "enable NAME",
		Short: "Give a person a new TOTP secret (printed once, with a QR code and recovery codes)",
		Long: `enable makes a new TOTP secret for NAME, stores it sealed, and prints it once:
the secret, its otpauth:// URI (issuer "jms") and a QR code to scan with an
authenticator app, and 10 recovery codes, each usable once instead of a
code. Enabling again replaces the secret and the recovery codes. -o json or
yaml prints {"user", "secret", "uri", "recovery_codes"} for scripts.`,
		Example: `  jmsctl user mfa enable alice
  jmsctl user mfa enable alice -o json | jq -r .uri`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			if _, err := s.GetUser(ctx, args[0]); err != nil {
				return err
			}
			key, err := bastion.NewTOTPKey(args[0])
			if err != nil {
				return err
			}
			codes, err := store.GenerateRecoveryCodes()
			if err != nil {
				return err
			}
			if err := s.EnableMFA(ctx, args[0], store.Secret(key.Secret()), 0, codes); err != nil {
				return err
			}
			out := mfaEnrolment{User: args[0], Secret: key.Secret(), URI: key.URL(), RecoveryCodes: codes}
			switch a.output {
			case "json":
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				return enc.Encode(out)
			case "yaml":
				return yaml.NewEncoder(a.stdout).Encode(out)
			}
			qr, err := bastion.RenderQR(out.URI, true)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "MFA enabled for %s. Scan the QR code with an authenticator app:\n\n%s\n", args[0], qr)
			fmt.Fprintf(a.stdout, "Secret: %s\nURI:    %s\n\nRecovery codes (each usable once; shown only now):\n", out.Secret, out.URI)
			for _, c := range codes {
				fmt.Fprintf(a.stdout, "  %s\n", c)
			}
			return nil
		},
	}
}

func newUserMFADisableCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "disable NAME",
		Short:   "Turn MFA off for a person (her secret and recovery codes are deleted)",
		Example: `  jmsctl user mfa disable alice`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			if err := s.DisableMFA(ctx, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "MFA disabled for %s\n", args[0])
			return nil
		},
	}
}

func newUserMFARecoveryCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "recovery NAME",
		Short: "Make new recovery codes for a person (the old ones stop working)",
		Example: `  jmsctl user mfa recovery alice
  jmsctl user mfa recovery alice -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			codes, err := store.GenerateRecoveryCodes()
			if err != nil {
				return err
			}
			if err := s.SetRecoveryCodes(ctx, args[0], codes); err != nil {
				return err
			}
			switch a.output {
			case "json", "yaml", "csv":
				return render(a.listing(), codes, []column[string]{{"code", func(c string) string { return c }}})
			}
			fmt.Fprintf(a.stdout, "New recovery codes for %s (each usable once; shown only now):\n", args[0])
			for _, c := range codes {
				fmt.Fprintf(a.stdout, "  %s\n", c)
			}
			return nil
		},
	}
}

func newUserLocksCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "locks [NAME]",
		Short: "List lockouts in force: names locked from an address, and throttled addresses",
		Long: `locks lists the lockouts after failed logins: a name locked from one address
(SOURCE; an IPv6 /64) after lockout_threshold failures there, a person's
password locked everywhere (SOURCE *) after lockout_user_threshold failures,
and addresses throttled (USER empty) after failing as throttle_names names or
throttle_failures times. A person locked by an administrator (jmsctl user
lock) shows as "locked until" in user list and user show. 'jmsctl user unlock NAME' lifts a
person's locks; 'jmsctl user unlock --address ADDR' lifts an address's
throttle.`,
		Example: `  jmsctl user locks
  jmsctl user locks alice -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			user := ""
			if len(args) == 1 {
				user = args[0]
			}
			locks, err := s.ListLoginLocks(cmd.Context(), user, s.Now())
			if err != nil {
				return err
			}
			return render(a.listing(), locks, []column[store.LoginLock]{
				{"user", func(l store.LoginLock) string { return l.User }},
				{"source", func(l store.LoginLock) string { return l.Source }},
				{"locked_until", func(l store.LoginLock) string { return fmtTime(l.LockedUntil) }},
				{"reason", func(l store.LoginLock) string { return l.Reason }},
			})
		},
	}
}

func newUserLockCmd(a *app) *cobra.Command {
	var (
		until  string
		reason string
	)
	cmd := &cobra.Command{
		Use:   "lock NAME… [--until T] [--reason TEXT]",
		Short: "Lock people out: every login method and every session, until unlocked",
		Long: `lock is an administrator's lock: the person cannot log in with her password
nor her keys, her open connections open no new session, and her running
sessions end within seconds. Without --until it lasts until 'jmsctl user
unlock NAME'. (Failed logins lock less: a name from one address, or her
password alone; see docs/authentication.md.)`,
		Example: `  jmsctl user lock alice --reason "laptop stolen"
  jmsctl user lock alice --until 2026-12-31`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			end := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
			if until != "" {
				t, err := parseTimeFlag("until", until, true)
				if err != nil {
					return err
				}
				end = t
			}
			ctx := a.actorContext(cmd.Context())
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			for _, name := range args {
				if err := s.LockUser(ctx, name, end, reason); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "Locked user %s\n", name)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&until, "until", "", "lift the lock at this time (RFC 3339, or a date in UTC: that whole day)")
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the operations audit")
	return cmd
}

func newUserUnlockCmd(a *app) *cobra.Command {
	var addresses []string
	cmd := &cobra.Command{
		Use:   "unlock [NAME…] [--address ADDR]…",
		Short: "Lift locks: of people (an administrator's, and those after failed logins), or of addresses",
		Example: `  jmsctl user unlock alice
  jmsctl user unlock --address 203.0.113.7`,
		Args: cobra.ArbitraryArgs, // names; strictTree would otherwise refuse them
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && len(addresses) == 0 {
				return fmt.Errorf("name a person to unlock, or give --address")
			}
			ctx := a.actorContext(cmd.Context())
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			for _, name := range args {
				if err := s.UnlockUser(ctx, name); err != nil {
					return err
				}
				n, err := s.UnlockLogins(ctx, name, "")
				if err != nil {
					return err
				}
				extra := ""
				if n > 0 {
					extra = " (and " + strconv.Itoa(n) + " address lock(s))"
				}
				fmt.Fprintf(a.stdout, "Unlocked user %s%s\n", name, extra)
			}
			for _, addr := range addresses {
				n, err := s.UnlockLogins(ctx, "", addr)
				if err != nil {
					return err
				}
				if n == 0 {
					return fmt.Errorf("address %s is not throttled", addr)
				}
				fmt.Fprintf(a.stdout, "Lifted the throttle of %s\n", addr)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&addresses, "address", nil, "lift the throttle of this client address (repeatable)")
	return cmd
}
