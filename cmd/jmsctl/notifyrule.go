package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/notify"
	"github.com/jms-bastion/jms/store"
)

func newNotifyRuleCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rule",
		Short: "Who gets which event's mail: set, list, rm",
		Long: `Each event mails its default recipients (see docs/notifications.md): a
command held for review goes to the admins, a decided ticket to its
requester, a lock to the user and the admins, an MFA reset and a killed
session to the user. A rule turns an event on or off for a user or for
everyone with a role, or gathers it into a digest: one mail per
notify_digest (1h) with every such event of the period. EVENT "*" means
every event. For one person the most
specific rule wins: hers for the event, hers for "*", her role's for the
event, her role's for "*". Only people with an address get mail.`,
		Example: `  jmsctl notify rule set ticket.open --user bob --off
  jmsctl notify rule set '*' --role auditor --on
  jmsctl notify rule list
  jmsctl notify rule rm 3`,
	}
	cmd.AddCommand(newNotifyRuleSetCmd(a), newNotifyRuleListCmd(a), newNotifyRuleRmCmd(a))
	return cmd
}

func newNotifyRuleSetCmd(a *app) *cobra.Command {
	var user, role string
	var on, off, digest bool
	cmd := &cobra.Command{
		Use:   "set EVENT (--user U | --role R) (--on | --off | --digest)",
		Short: "Turn an event's mail on, off or to a digest for a user or a role",
		Example: `  jmsctl notify rule set ticket.open --user bob --off
  jmsctl notify rule set user.locked --role auditor --on
  jmsctl notify rule set login.new_source --role admin --digest
  jmsctl notify rule set account.rotate_failed --role admin --digest`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r := store.NotifyRule{Event: args[0], Mode: store.NotifyOn}
			if r.Event != "*" && !notify.KnownEvent(r.Event) {
				return fmt.Errorf("event %q: want * or one of %s", r.Event, strings.Join(notify.EventNames(), ", "))
			}
			switch {
			case (user == "") == (role == ""):
				return errors.New("give --user U or --role R")
			case user != "":
				r.SubjectKind, r.Subject = "user", user
			default:
				r.SubjectKind, r.Subject = "role", role
			}
			switch {
			case btoi(on)+btoi(off)+btoi(digest) != 1:
				return errors.New("give --on, --off or --digest")
			case off:
				r.Mode = store.NotifyOff
			case digest:
				r.Mode = store.NotifyDigest
			}
			ctx := a.actorContext(cmd.Context())
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			got, err := s.SetNotifyRule(ctx, r)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Rule %d: %s mail %s for %s %s\n", got.ID, got.Event, got.Mode, got.SubjectKind, got.Subject)
			return nil
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "the person the rule is for")
	cmd.Flags().StringVar(&role, "role", "", "the role the rule is for: user, auditor or admin")
	cmd.Flags().BoolVar(&on, "on", false, "send this event's mail")
	cmd.Flags().BoolVar(&off, "off", false, "do not send this event's mail")
	cmd.Flags().BoolVar(&digest, "digest", false, "gather this event's mails into one per notify_digest (1h)")
	return cmd
}

func newNotifyRuleListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List notification rules",
		Example: `  jmsctl notify rule list -o yaml`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			rules, err := s.ListNotifyRules(cmd.Context())
			if err != nil {
				return err
			}
			return render(a.listing(), rules, []column[store.NotifyRule]{
				{"id", func(r store.NotifyRule) string { return strconv.FormatInt(r.ID, 10) }},
				{"event", func(r store.NotifyRule) string { return r.Event }},
				{"for", func(r store.NotifyRule) string { return r.SubjectKind + " " + r.Subject }},
				{"mode", func(r store.NotifyRule) string { return r.Mode }},
				{"created", func(r store.NotifyRule) string { return fmtTime(r.CreatedAt) }},
			})
		},
	}
}

func newNotifyRuleRmCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "rm ID",
		Short:   "Remove a notification rule",
		Example: `  jmsctl notify rule rm 3`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id < 1 {
				return fmt.Errorf("rule %q: want a number from 'jmsctl notify rule list'", args[0])
			}
			ctx := a.actorContext(cmd.Context())
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			if err := s.RemoveNotifyRule(ctx, id); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Removed rule %d\n", id)
			return nil
		},
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
