package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/automation"
	"github.com/jms-bastion/jms/store"
)

func templateColumns() []column[store.AccountTemplate] {
	return []column[store.AccountTemplate]{
		{"name", func(t store.AccountTemplate) string { return t.Name }},
		{"username", func(t store.AccountTemplate) string { return t.Username }},
		{"secret", func(t store.AccountTemplate) string { return t.SecretPolicy }},
		{"node", func(t store.AccountTemplate) string { return t.Node }},
		{"push", func(t store.AccountTemplate) string { return yesNo(t.Push) }},
		{"sudo", func(t store.AccountTemplate) string { return t.Sudo }},
		{"shell", func(t store.AccountTemplate) string { return t.Shell }},
		{"groups", func(t store.AccountTemplate) string { return strings.Join(t.Groups, ",") }},
		{"rotate_every", func(t store.AccountTemplate) string { return fmtEvery(t.RotateEvery) }},
	}
}

func newAccountTemplateCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "template",
		Short: "Manage account templates: an account every asset under a node gets",
		Long: `An account template (JumpServer's "system user") names an account that
every asset under its node has, now and when added later. With --push, jms
creates it on each asset through the asset's privileged account (jmsctl
account push); each asset gets its own generated secret, sealed like any
other, and no person ever learns it.`,
		Example: `  jmsctl account template add deploy --secret generate-key --home --sudo ALL --node /prod --push
  jmsctl account push --template deploy
  jmsctl account template list`,
	}
	cmd.AddCommand(newTemplateAddCmd(a), newTemplateListCmd(a), newTemplateRmCmd(a))
	return cmd
}

func newTemplateAddCmd(a *app) *cobra.Command {
	var nt store.NewAccountTemplate
	var secret, keyFile, groups, every, username string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "add NAME (--secret generate-key|generate-password | --password-stdin | --key FILE) [--username U] [--sudo ALL|'CMD,…'] [--shell SH] [--home] [--groups g1,g2] [--push] [--node PATH] [--rotate-every 30d]",
		Short: "Add an account template",
		Long: `add stores a template. The account's username is the template's name
unless --username says otherwise. --secret generate-key (an ed25519 key)
or generate-password (24 random characters) makes a new secret for each
asset; --password-stdin or --key FILE give every asset the same one.
--sudo ALL or a comma-separated list of absolute commands becomes a
sudoers drop-in, checked with visudo -c before it is moved in place.
Names, groups, shells and sudo commands are checked strictly before
anything is stored: nothing reaches an asset's shell unvalidated.`,
		Example: `  jmsctl account template add deploy --secret generate-key --home --sudo ALL --node /prod --push
  jmsctl account template add ops --secret generate-password --shell /bin/bash --home \
      --groups adm,systemd-journal --sudo '/usr/bin/systemctl restart nginx,/usr/bin/journalctl' --node /prod/web --push
  printf '%s\n' "$PW" | jmsctl account template add app --password-stdin --node /prod --rotate-every 30d`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			nt.Name, nt.Username = args[0], args[0]
			if username != "" {
				nt.Username = username
			}
			var err error
			if nt.Groups, err = automation.ParseGroups(groups); err != nil {
				return err
			}
			if nt.RotateEvery, err = parseEvery(every); err != nil {
				return err
			}
			if err := store.ValidName("template", nt.Name); err != nil {
				return err
			}
			switch {
			case secret != "" && (passwordStdin || keyFile != ""):
				return errors.New("give --secret generate-key|generate-password, or --password-stdin, or --key FILE: one of them")
			case secret == store.PolicyGenerateKey || secret == store.PolicyGeneratePassword:
				nt.SecretPolicy = secret
			case secret != "":
				return fmt.Errorf("--secret %q: use generate-key or generate-password (a password comes from --password-stdin)", secret)
			}
			if nt.SecretPolicy == "" && !passwordStdin && keyFile == "" {
				return errors.New("give the secret policy: --secret generate-key|generate-password, --password-stdin or --key FILE")
			}
			// Check everything before reading a secret or opening the store.
			probe := nt.AccountTemplate
			if probe.SecretPolicy == "" {
				probe.SecretPolicy = store.PolicyPassword
				if keyFile != "" {
					probe.SecretPolicy = store.PolicyKey
				}
			}
			if err := automation.CheckTemplate(probe); err != nil {
				return err
			}
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			if nt.SecretPolicy == "" {
				kind, sec, err := a.readAccountSecret(passwordStdin, keyFile)
				if err != nil {
					return err
				}
				nt.Secret, nt.SecretPolicy = sec, store.PolicyPassword
				if kind == store.SecretKey {
					nt.SecretPolicy = store.PolicyKey
				}
			}
			defer clear(nt.Secret)
			t, err := automation.AddTemplate(ctx, s, nt)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Added template %s (account %s, %s", t.Name, t.Username, t.SecretPolicy)
			if t.Node != "" {
				fmt.Fprintf(a.stdout, ", node %s", t.Node)
			}
			fmt.Fprintln(a.stdout, ")")
			switch {
			case t.Push && t.Node != "":
				fmt.Fprintf(a.stdout, "Push it now with: jmsctl account push --template %s\n", t.Name)
			case t.Node != "" && (t.SecretPolicy == store.PolicyPassword || t.SecretPolicy == store.PolicyKey):
				// Not pushed: the account exists on the assets already.
				r, err := a.runner(s, 1, nil)
				if err != nil {
					return err
				}
				rows, err := r.PushNew(ctx, t.Name)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "Stored account %s on %d assets under %s\n", t.Username, len(rows), t.Node)
				if automation.AnyFailed(rows) {
					return a.renderResults(rows, "template add")
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&secret, "secret", "", "generate-key or generate-password: a new secret per asset")
	f.BoolVar(&passwordStdin, "password-stdin", false, "one password for every asset, read from stdin")
	f.StringVar(&keyFile, "key", "", "one private key for every asset, from a file (- for stdin)")
	f.StringVar(&username, "username", "", "the account's username on the assets (default: the template's name)")
	f.StringVar(&nt.Sudo, "sudo", "", "ALL, or absolute commands, comma-separated, allowed through sudo without a password")
	f.StringVar(&nt.Shell, "shell", "", "login shell, e.g. /bin/bash (default: the asset's)")
	f.BoolVar(&nt.Home, "home", false, "make the home directory (needed for a key)")
	f.StringVar(&groups, "groups", "", "supplementary groups, comma-separated (made when missing)")
	f.BoolVar(&nt.Push, "push", false, "create the account on the assets through their privileged account")
	f.StringVar(&nt.Node, "node", "", "the node whose assets (and those below) get the account")
	f.StringVar(&every, "rotate-every", "", "rotate the secret on this period, e.g. 30d or 12h (a job run by serve)")
	f.StringVar(&nt.Comment, "comment", "", "free text")
	return cmd
}

func newTemplateListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List account templates",
		Example: `  jmsctl account template list
  jmsctl account template list -o yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			ts, err := inOrgs(cmd.Context(), a, s, func(v *store.Store) ([]store.AccountTemplate, error) { return v.ListTemplates(cmd.Context()) })
			if err != nil {
				return err
			}
			return renderInOrgs(a.listing(), ts, templateColumns())
		},
	}
}

func newTemplateRmCmd(a *app) *cobra.Command {
	var revoke string
	var force bool
	var parallel int
	cmd := &cobra.Command{
		Use:     "rm NAME [--remove-from-asset lock|delete [--force] [--parallel 20]]",
		Aliases: []string{"remove"},
		Short:   "Remove an account template, and with --remove-from-asset revoke its accounts",
		Long: `rm removes the template. Without --remove-from-asset the accounts made
from it stay, on their assets and in jms, no longer tied to it (their
rotation job goes with the template).

With --remove-from-asset each account made from the template is first
revoked on its asset through the asset's privileged account, as
'jmsctl account rm --remove-from-asset' does: lock (usermod -L -e 1: no
password or key login) or delete (userdel -r), and its jms sudoers drop-in
removed. A row per asset says how it went (changed, ok when the user was
gone already, or why it failed). When every revocation succeeded the
template and its accounts are removed from jms. When any failed, nothing
is removed (the template is kept, so that running rm again retries) and
the exit status is non-zero; --force removes the template and the revoked
accounts anyway, keeping the accounts that could not be revoked.`,
		Example: `  jmsctl account template rm deploy
  jmsctl account template rm deploy --remove-from-asset lock
  jmsctl account template rm deploy --remove-from-asset delete --force -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			if revoke == "" && (force || cmd.Flags().Changed("parallel")) {
				return errors.New("--force and --parallel go with --remove-from-asset lock|delete")
			}
			if revoke != "" {
				if err := automation.CheckRevokeMode(revoke); err != nil {
					return err
				}
			}
			if parallel < 1 || parallel > 500 {
				return fmt.Errorf("--parallel %d: want 1-500", parallel)
			}
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			if revoke == "" {
				if err := s.RemoveTemplate(ctx, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "Removed template %s (its accounts stay)\n", args[0])
				return nil
			}
			progress, done := a.progress("revoke")
			r, err := a.runner(s, parallel, progress)
			if err != nil {
				return err
			}
			rows, removed, err := r.RemoveTemplate(ctx, args[0], revoke, force)
			done()
			if err != nil {
				return err
			}
			rerr := a.renderResults(rows, "template rm")
			if !removed {
				return fmt.Errorf("%w: template %s kept (run rm again to retry, or add --force)", rerr, args[0])
			}
			if a.output == "table" {
				fmt.Fprintf(a.stdout, "Removed template %s\n", args[0])
			}
			return rerr
		},
	}
	f := cmd.Flags()
	f.StringVar(&revoke, "remove-from-asset", "", "lock or delete the template's accounts on their assets first")
	f.BoolVar(&force, "force", false, "remove the template even when some revocations failed")
	f.IntVar(&parallel, "parallel", 20, "assets worked on at once")
	return cmd
}

// parseEvery reads a period: 30d, 12h, 90m ("" or 0 is none).
func parseEvery(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days > 0 && days <= 3650 {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d >= time.Minute {
		return d, nil
	}
	return 0, fmt.Errorf("--rotate-every %q: want a period of at least a minute, e.g. 30d, 12h or 90m", s)
}

// fmtEvery shows a period as parseEvery reads it.
func fmtEvery(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	return d.String()
}

// orNone is s, or "none" when it is empty.
func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
