package main

import "github.com/spf13/cobra"

func newGroupCmd(a *app) *cobra.Command {
	return &cobra.Command{Use: "group", Short: "(group: not built yet)"}
}
