package main

import "github.com/spf13/cobra"

func newTicketCmd(a *app) *cobra.Command {
	return &cobra.Command{Use: "ticket", Short: "(ticket: not built yet)"}
}
