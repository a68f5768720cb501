package main

import "github.com/spf13/cobra"

// newAssetTestCmd is a stub; the bastion helper replaces this file.
func newAssetTestCmd(a *app) *cobra.Command {
	return &cobra.Command{Use: "test ASSET", Short: "Check that the bastion can reach an asset (not built yet)"}
}
