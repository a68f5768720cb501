package main

import "github.com/spf13/cobra"

func newGrantCmd(a *app) *cobra.Command {
	return &cobra.Command{Use: "grant", Short: "(grant: not built yet)"}
}
