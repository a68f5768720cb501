package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/store"
)

func newTicketCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ticket",
		Short: "Commands held for review: list, approve, reject",
		Long: `A command that a review filter matches is held: the person's session waits
(she sees the ticket number; Ctrl-C cancels) until an admin approves or
rejects it here. The session notices the decision within a second. Every
decision is in the operations audit, and the command's outcome in the
command audit (verdict review:approved, review:rejected or review:canceled).`,
		Example: `  jmsctl ticket list
  jmsctl ticket approve 12
  jmsctl ticket reject 12 --reason "not during business hours"
  jmsctl ticket list --status all -o json`,
	}
	cmd.AddCommand(newTicketListCmd(a), newTicketDecideCmd(a, true), newTicketDecideCmd(a, false))
	return cmd
}

func ticketColumns() []column[store.Ticket] {
	return []column[store.Ticket]{
		{"id", func(t store.Ticket) string { return strconv.FormatInt(t.ID, 10) }},
		{"at", func(t store.Ticket) string { return fmtTime(t.At) }},
		{"user", func(t store.Ticket) string { return t.User }},
		{"target", func(t store.Ticket) string { return t.Account + "@" + t.Asset }},
		{"filter", func(t store.Ticket) string { return t.Filter }},
		{"command", func(t store.Ticket) string { return t.Command }},
		{"status", func(t store.Ticket) string { return t.Status }},
		{"decided_by", func(t store.Ticket) string { return t.DecidedBy }},
		{"session", func(t store.Ticket) string { return t.SessionID }},
	}
}

func newTicketListCmd(a *app) *cobra.Command {
	var status string
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List review tickets (the pending ones by default)",
		Example: `  jmsctl ticket list
  jmsctl ticket list --status all
  jmsctl ticket list --status rejected -o csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			ts, err := inOrgs(cmd.Context(), a, s, func(v *store.Store) ([]store.Ticket, error) { return v.ListTickets(cmd.Context(), status) })
			if err != nil {
				return fmt.Errorf("--status %q: want pending, approved, rejected, canceled or all", status)
			}
			return renderInOrgs(a.listing(), ts, ticketColumns())
		},
	}
	cmd.Flags().StringVar(&status, "status", store.TicketPending, "pending, approved, rejected, canceled or all")
	return cmd
}

func newTicketDecideCmd(a *app, approve bool) *cobra.Command {
	var reason string
	verb, done := "reject", "Rejected"
	short := "Reject a held command: it is not run"
	example := `  jmsctl ticket reject 12
  jmsctl ticket reject 12 --reason "use the maintenance window"`
	if approve {
		verb, done = "approve", "Approved"
		short = "Approve a held command: the session runs it"
		example = `  jmsctl ticket approve 12`
	}
	cmd := &cobra.Command{
		Use:     verb + " ID",
		Short:   short,
		Example: example,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id < 1 {
				return fmt.Errorf("ticket %q: want a ticket number (see 'jmsctl ticket list')", args[0])
			}
			ctx := a.actorContext(cmd.Context())
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			t, err := s.DecideTicket(ctx, id, approve, osActor(a.getenv("SUDO_USER")), reason)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s ticket %d: %q by %s on %s@%s\n", done, t.ID, t.Command, t.User, t.Account, t.Asset)
			return nil
		},
	}
	if !approve {
		cmd.Flags().StringVar(&reason, "reason", "", "why: shown to the person (escaped) and kept in the operations audit")
	}
	return cmd
}
