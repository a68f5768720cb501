package main

import "github.com/spf13/cobra"

func newNodeCmd(a *app) *cobra.Command {
	return &cobra.Command{Use: "node", Short: "(node: not built yet)"}
}
