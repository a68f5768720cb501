package main

import "github.com/spf13/cobra"

func newAccountCmd(a *app) *cobra.Command {
	return &cobra.Command{Use: "account", Short: "(account: not built yet)"}
}
