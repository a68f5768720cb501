package main

import "github.com/spf13/cobra"

func newAssetCmd(a *app) *cobra.Command {
	return &cobra.Command{Use: "asset", Short: "(asset: not built yet)"}
}
