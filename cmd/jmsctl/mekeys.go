package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/store"
)

func newMeKeysCmd(a *app, who func() string) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "keys",
		Short:   "List your SSH public keys (add and rm manage them)",
		Example: `  jmsctl me keys -o json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			name, s, err := a.me(cmd.Context(), who())
			if err != nil {
				return err
			}
			keys, err := s.ListUserKeys(cmd.Context(), name)
			if err != nil {
				return err
			}
			return render(a.listing(), keys, []column[store.UserKey]{
				{"type", func(k store.UserKey) string { return k.Type }},
				{"fingerprint", func(k store.UserKey) string { return k.Fingerprint }},
				{"comment", func(k store.UserKey) string { return k.Comment }},
				{"last_used_at", func(k store.UserKey) string { return fmtTimePtr(k.LastUsedAt) }},
			})
		},
	}
	cmd.AddCommand(newMeKeysAddCmd(a, who), newMeKeysRmCmd(a, who))
	return cmd
}

func newMeKeysAddCmd(a *app, who func() string) *cobra.Command {
	return &cobra.Command{
		Use:   "add",
		Short: "Add the public keys read from stdin (authorized_keys format)",
		Example: `  ssh -p 2222 alice@bastion jmsctl me keys add < ~/.ssh/id_ed25519.pub
  jmsctl me keys add --user alice < alice.pub`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			name, s, err := a.me(ctx, who())
			if err != nil {
				return err
			}
			lines, err := readKeyLines(a.stdin)
			if err != nil {
				return err
			}
			for _, line := range lines {
				k, err := s.AddUserKey(ctx, name, line)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "Added key %s\n", k.Fingerprint)
			}
			return nil
		},
	}
}

// readKeyLines reads authorized_keys lines from r, checking each.
func readKeyLines(r io.Reader) ([]string, error) {
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read keys from stdin: %w", err)
	}
	var out []string
	for i, line := range splitLines(string(b)) {
		if line == "" || line[0] == '#' {
			continue
		}
		if _, err := store.ParseAuthorizedKey(line); err != nil {
			return nil, fmt.Errorf("stdin line %d: %w", i+1, err)
		}
		out = append(out, line)
	}
	if len(out) == 0 {
		return nil, errors.New("no public key on stdin (jmsctl me keys add < ~/.ssh/id_ed25519.pub)")
	}
	return out, nil
}

func newMeKeysRmCmd(a *app, who func() string) *cobra.Command {
	return &cobra.Command{
		Use:     "rm KEY",
		Short:   "Remove one of your keys, named by fingerprint, id or comment",
		Example: `  jmsctl me keys rm SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			name, s, err := a.me(ctx, who())
			if err != nil {
				return err
			}
			if err := s.RemoveUserKey(ctx, name, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Removed key %s\n", args[0])
			return nil
		},
	}
}

func newMePasswdCmd(a *app, who func() string) *cobra.Command {
	return &cobra.Command{
		Use:   "passwd",
		Short: "Change your password: stdin holds the current one, then the new one (a line each)",
		Example: `  printf '%s\n%s\n' "$OLD" "$NEW" | ssh -p 2222 alice@bastion jmsctl me passwd
  printf '%s\n%s\n' "$OLD" "$NEW" | jmsctl me passwd --user alice`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			name, s, err := a.me(ctx, who())
			if err != nil {
				return err
			}
			if err := a.changeOwnPassword(ctx, s, name); err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, "Changed your password")
			return nil
		},
	}
}
