package main

import "github.com/spf13/cobra"

// newAssetWhoCanCmd is a stub; the grants helper replaces this file.
func newAssetWhoCanCmd(a *app) *cobra.Command {
	return &cobra.Command{Use: "who-can ASSET", Short: "Who can reach an asset, through which grants (not built yet)"}
}
