package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/store"
)

func userColumns() []column[store.User] {
	return []column[store.User]{
		{"name", func(u store.User) string { return u.Name }},
		{"role", func(u store.User) string { return u.Role }},
		{"email", func(u store.User) string { return u.Email }},
		{"groups", func(u store.User) string { return joinComma(u.Groups) }},
		{"keys", func(u store.User) string { return strconv.Itoa(u.Keys) }},
		{"mfa", func(u store.User) string { return yesNo(u.MFAEnabled) }},
		{"state", userState},
	}
}

func userState(u store.User) string {
	switch {
	case u.Disabled:
		return "disabled"
	case u.Locked(time.Now()):
		return "locked until " + fmtTimePtr(u.LockedUntil)
	case u.MustChangePassword:
		return "must change password"
	}
	return "active"
}

func newUserCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage the people who log in to the bastion",
		Example: `  jmsctl user add alice --email alice@example.com --key ~/.ssh/id_ed25519.pub
  printf '%s\n' "$PW" | jmsctl user add bob --role auditor --password-stdin
  jmsctl user list -o json`,
	}
	cmd.AddCommand(newStateCmds(a, "user", "alice",
		[2]string{"Enable disabled people", "Disable people: they cannot log in, and their live sessions end"},
		func(s *store.Store, ctx context.Context, name string, on bool) error {
			return s.SetUserDisabled(ctx, name, !on)
		})...)
	cmd.AddCommand(newUserAddCmd(a), newUserListCmd(a), newUserShowCmd(a), newUserRmCmd(a),
		newUserLockCmd(a), newUserUnlockCmd(a), newUserLocksCmd(a),
		newUserPasswdCmd(a), newUserSetCmd(a), newUserKeyCmd(a), newUserMFACmd(a),
		newUserImportCmd(a), newUserExportCmd(a), newUserInviteCmd(a))
	return cmd
}

func newUserAddCmd(a *app) *cobra.Command {
	var nu store.NewUser
	var passwordStdin, oneTime, invite bool
	var keyFiles []string
	cmd := &cobra.Command{
		Use:   "add NAME",
		Short: "Add a person",
		Long: `add makes a bastion user. Names are 1-64 of a-z 0-9 . _ - (so that the
login forms alice@web1 and alice#root#web1 stay unambiguous). The password
comes from stdin, never from the command line; a user without a password
logs in by key. --one-time-password makes a random password, printed once,
that she must replace at her first SSH login (she is asked for a new one
before anything else); --password-stdin with --must-change does the same
with a password you choose. --invite mails her such a password (valid
invite_ttl) with how to log in, through the outbox.`,
		Example: `  jmsctl user add alice --key alice.pub
  printf '%s\n' "$PW" | jmsctl user add bob --role admin --email bob@example.com --password-stdin
  jmsctl user add carol --one-time-password
  jmsctl user add dave --email dave@example.com --invite`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			nu.Name = args[0]
			if err := store.ValidName("user", nu.Name); err != nil {
				return err
			}
			if err := store.ValidRole(nu.Role); err != nil {
				return err
			}
			for _, f := range keyFiles {
				if f == "-" && passwordStdin {
					return errors.New("--key - and --password-stdin both read stdin: give the key as a file, or add it after with jmsctl user key add")
				}
				if err := a.localFile("--key", f); err != nil {
					return err
				}
				lines, err := a.readKeyFile(f)
				if err != nil {
					return err
				}
				nu.Keys = append(nu.Keys, lines...)
			}
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			// A taken name is the first thing to say, before the password
			// policy (and before the argon2id hash).
			if _, err := s.GetUser(ctx, nu.Name); err == nil {
				return fmt.Errorf("user %q already exists", nu.Name)
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			var otp store.Secret
			switch {
			case passwordStdin && oneTime:
				return fmt.Errorf("give --password-stdin or --one-time-password, not both")
			case invite && (passwordStdin || oneTime):
				return fmt.Errorf("--invite makes her password: give no --password-stdin or --one-time-password")
			case invite && nu.Email == "":
				return fmt.Errorf("--invite mails her: give --email")
			case passwordStdin:
				if nu.PasswordHash, err = a.hashNewPassword(); err != nil {
					return err
				}
			case oneTime:
				if otp, err = store.GeneratePassword(16); err != nil {
					return err
				}
				if nu.PasswordHash, err = store.HashPassword(otp, store.DefaultArgon2); err != nil {
					return err
				}
				nu.MustChangePassword = true
			}
			u, err := s.AddUser(ctx, nu)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Added user %s (%s)\n", u.Name, u.Role)
			if oneTime {
				fmt.Fprintf(a.stdout, "One-time password (shown only now; %s must change it at first login): %s\n", u.Name, string(otp))
			}
			if invite {
				return a.invite(ctx, s, u.Name)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&nu.Role, "role", store.RoleUser, "role: user, auditor or admin")
	cmd.Flags().StringVar(&nu.Email, "email", "", "email address")
	cmd.Flags().StringVar(&nu.Comment, "comment", "", "free text")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from stdin")
	cmd.Flags().BoolVar(&nu.MustChangePassword, "must-change", false, "make the user choose a new password at first login")
	cmd.Flags().BoolVar(&oneTime, "one-time-password", false, "make a random password, printed once, to be changed at first login")
	cmd.Flags().BoolVar(&invite, "invite", false, "mail her a one-time password (valid invite_ttl) and how to log in")
	cmd.Flags().StringArrayVar(&keyFiles, "key", nil, "OpenSSH public key file (repeatable; every key in the file)")
	return cmd
}

// hashNewPassword reads a password from stdin, checks it against the
// policy and hashes it.
func (a *app) hashNewPassword() (string, error) {
	cfg, err := a.config()
	if err != nil {
		return "", err
	}
	pw, err := readSecret(a.stdin, "password")
	if err != nil {
		return "", err
	}
	if err := (store.PasswordPolicy{MinLength: cfg.PasswordMinLength}).Check(pw); err != nil {
		return "", err
	}
	return store.HashPassword(pw, store.DefaultArgon2)
}

// readKeyFile returns the public key lines of an authorized_keys-style
// file, or of stdin for "-".
func (a *app) readKeyFile(path string) ([]string, error) {
	b, name, err := a.readPublicFile(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	var out []string
	for i, line := range splitLines(string(b)) {
		if line == "" || line[0] == '#' {
			continue
		}
		if _, err := store.ParseAuthorizedKey(line); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", name, i+1, err)
		}
		out = append(out, line)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no public key in the file", name)
	}
	return out, nil
}

func newUserListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List people",
		Example: `  jmsctl user list
  jmsctl user list -o csv > users.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			if a.output == "csv" {
				// The import format, so that the listing imports as it is.
				people, err := s.ExportUsers(cmd.Context())
				if err != nil {
					return err
				}
				return writeUsers(a.stdout, "csv", people)
			}
			users, err := s.ListUsers(cmd.Context())
			if err != nil {
				return err
			}
			return render(a.listing(), users, userColumns())
		},
	}
}

func newUserShowCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "show NAME",
		Short:   "Show one person",
		Example: `  jmsctl user show alice -o yaml`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			u, err := s.GetUser(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fields := append(userColumns(),
				column[store.User]{"password", func(u store.User) string { return yesNo(u.HasPassword) }},
				column[store.User]{"password_changed_at", func(u store.User) string { return fmtTimePtr(u.PasswordChangedAt) }},
				column[store.User]{"locked_until", func(u store.User) string { return fmtTimePtr(u.LockedUntil) }},
				column[store.User]{"comment", func(u store.User) string { return u.Comment }},
				column[store.User]{"created_at", func(u store.User) string { return fmtTime(u.CreatedAt) }})
			if a.output == "table" {
				locks, err := s.ListLoginLocks(cmd.Context(), u.Name, s.Now())
				if err != nil {
					return err
				}
				for _, l := range locks {
					fields = append(fields, column[store.User]{"locked_from", func(store.User) string {
						return l.Source + " until " + fmtTime(l.LockedUntil) + " (" + l.Reason + ")"
					}})
				}
				if u.MFAEnabled {
					n, err := s.RecoveryCodesLeft(cmd.Context(), u.Name)
					if err != nil {
						return err
					}
					fields = append(fields, column[store.User]{"recovery_codes_left", func(store.User) string { return strconv.Itoa(n) }})
				}
			}
			return renderOne(a.listing(), u, fields)
		},
	}
}

func newUserRmCmd(a *app) *cobra.Command {
	return newRmCmd(a, "user", "Remove people (their keys and memberships go with them; the audit stays)", `  jmsctl user rm alice`, (*store.Store).RemoveUser)
}

func newUserPasswdCmd(a *app) *cobra.Command {
	var passwordStdin, mustChange bool
	cmd := &cobra.Command{
		Use:   "passwd NAME --password-stdin",
		Short: "Set a person's password (read from stdin)",
		Example: `  printf '%s\n' "$PW" | jmsctl user passwd alice --password-stdin
  printf '%s\n' "$TEMP" | jmsctl user passwd alice --password-stdin --must-change`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !passwordStdin {
				return fmt.Errorf("the password must come from stdin: add --password-stdin")
			}
			ctx := a.actorContext(cmd.Context())
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			if _, err := s.GetUser(ctx, args[0]); err != nil {
				return err
			}
			hash, err := a.hashNewPassword()
			if err != nil {
				return err
			}
			if err := s.SetPasswordHash(ctx, args[0], hash, mustChange); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Changed the password of %s\n", args[0])
			return nil
		},
	}
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from stdin")
	cmd.Flags().BoolVar(&mustChange, "must-change", false, "make the user choose a new password at next login")
	return cmd
}

func newUserSetCmd(a *app) *cobra.Command {
	var email, role, comment string
	cmd := &cobra.Command{
		Use:     "set NAME [--email E] [--role R] [--comment C]",
		Short:   "Change a person's email, role or comment",
		Example: `  jmsctl user set alice --role auditor`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			var uu store.UserUpdate
			if cmd.Flags().Changed("email") {
				uu.Email = &email
			}
			if cmd.Flags().Changed("role") {
				uu.Role = &role
			}
			if cmd.Flags().Changed("comment") {
				uu.Comment = &comment
			}
			if uu == (store.UserUpdate{}) {
				return fmt.Errorf("nothing to change: give --email, --role or --comment")
			}
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			if err := s.UpdateUser(ctx, args[0], uu); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Updated user %s\n", args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "email address")
	cmd.Flags().StringVar(&role, "role", "", "role: user, auditor or admin")
	cmd.Flags().StringVar(&comment, "comment", "", "free text")
	return cmd
}

func newUserKeyCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Manage a person's SSH public keys",
		Example: `  jmsctl user key add alice ~/.ssh/id_ed25519.pub
  jmsctl user key list alice
  jmsctl user key rm alice SHA256:…`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "add USER FILE",
		Short: "Add the public keys in FILE (authorized_keys format; - reads stdin)",
		Example: `  jmsctl user key add alice alice.pub
  ssh admin@bastion jmsctl user key add alice - < alice.pub`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			if err := a.localFile("key file", args[1]); err != nil {
				return err
			}
			lines, err := a.readKeyFile(args[1])
			if err != nil {
				return err
			}
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			for _, line := range lines {
				k, err := s.AddUserKey(ctx, args[0], line)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "Added key %s to %s\n", k.Fingerprint, args[0])
			}
			return nil
		},
	}, &cobra.Command{
		Use:     "list [USER]",
		Aliases: []string{"ls"},
		Short:   "List keys by SHA256 fingerprint",
		Example: `  jmsctl user key list alice`,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			user := ""
			if len(args) == 1 {
				user = args[0]
			}
			keys, err := s.ListUserKeys(cmd.Context(), user)
			if err != nil {
				return err
			}
			return render(a.listing(), keys, []column[store.UserKey]{
				{"user", func(k store.UserKey) string { return k.User }},
				{"type", func(k store.UserKey) string { return k.Type }},
				{"fingerprint", func(k store.UserKey) string { return k.Fingerprint }},
				{"comment", func(k store.UserKey) string { return k.Comment }},
				{"last_used_at", func(k store.UserKey) string { return fmtTimePtr(k.LastUsedAt) }},
			})
		},
	}, &cobra.Command{
		Use:     "rm USER KEY",
		Short:   "Remove a key, named by fingerprint, id or comment",
		Example: `  jmsctl user key rm alice SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			if err := s.RemoveUserKey(ctx, args[0], args[1]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Removed key %s of %s\n", args[1], args[0])
			return nil
		},
	})
	return cmd
}
