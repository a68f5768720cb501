package main

import "github.com/spf13/cobra"

func newSessionCmd(a *app) *cobra.Command {
	return &cobra.Command{Use: "session", Short: "(session: not built yet)"}
}
