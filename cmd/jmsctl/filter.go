package main

import "github.com/spf13/cobra"

func newFilterCmd(a *app) *cobra.Command {
	return &cobra.Command{Use: "filter", Short: "(filter: not built yet)"}
}
