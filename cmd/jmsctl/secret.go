package main

import "github.com/spf13/cobra"

func newSecretCmd(a *app) *cobra.Command {
	return &cobra.Command{Use: "secret", Short: "(secret: not built yet)"}
}
