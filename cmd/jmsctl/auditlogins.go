package main

import "github.com/spf13/cobra"

// newAuditLoginsCmd is a stub; the bastion helper replaces this file.
func newAuditLoginsCmd(a *app) *cobra.Command {
	return &cobra.Command{Use: "logins", Short: "Logins to the bastion, successful and failed (not built yet)"}
}
