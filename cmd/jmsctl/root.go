package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "jmsctl",
		Short: "jms: a terminal-first SSH bastion host and its admin CLI",
		Long: `jmsctl is both the jms bastion (jmsctl serve) and the admin CLI over its
data directory: people, groups, assets in a node tree, accounts on assets,
grants, command filters, sessions and the audit.`,
		Example: `  jmsctl init                      # make ./jms-data and the first admin
  jmsctl serve --listen :2222      # run the bastion
  jmsctl asset add web1 --address 10.0.0.5 --node /prod/web
  jmsctl user list -o json
  source <(jmsctl completion bash) # complete commands and names: assets, users, sessions…`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			switch a.output {
			case "table", "json", "yaml", "csv":
			case "wide":
				a.output, a.wide = "table", true
			default:
				return fmt.Errorf("--output %q: want table, wide, json, yaml or csv", a.output)
			}
			if a.dataDir == "" {
				a.dataDir = "./jms-data"
			}
			return a.checkPermission(cmd, args)
		},
		PersistentPostRun: func(cmd *cobra.Command, args []string) { a.close() },
	}
	root.PersistentFlags().StringVar(&a.dataDir, "data-dir", a.getenv("JMS_DATA_DIR"), "data directory (env JMS_DATA_DIR; default ./jms-data)")
	root.PersistentFlags().StringVar(&a.database, "database", "", "the database: postgres://USER@HOST/DB?sslmode=verify-full, or sqlite://PATH (env JMS_DATABASE or database: in jms.yaml; default jms.db in the data directory)")
	root.PersistentFlags().StringVarP(&a.output, "output", "o", "table", "output format of listings: table, wide (every column, whole), json, yaml or csv")
	a.orgFlags(root)
	root.PersistentFlags().BoolVar(&a.noHeaders, "no-headers", false, "tables without their header row, for scripts (CSV keeps its field names)")
	root.AddGroup(&cobra.Group{ID: "run", Title: "Running the bastion:"},
		&cobra.Group{ID: "inventory", Title: "People and inventory:"},
		&cobra.Group{ID: "access", Title: "Access rules:"},
		&cobra.Group{ID: "audit", Title: "Sessions and audit:"},
		&cobra.Group{ID: "self", Title: "Organizations and yourself:"})
	for _, c := range []*cobra.Command{newInitCmd(a), newServeCmd(a), newServerCmd(a), newSecretCmd(a), newDBCmd(a), newSettingsCmd(a), newNotifyCmd(a), newVersionCmd(a)} {
		c.GroupID = "run"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{newUserCmd(a), newGroupCmd(a), newAssetCmd(a), newNodeCmd(a), newAccountCmd(a), newJobCmd(a)} {
		c.GroupID = "inventory"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{newGrantCmd(a), newFilterCmd(a), newACLCmd(a), newTicketCmd(a)} {
		c.GroupID = "access"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{newSessionCmd(a), newReplayCmd(a), newRecordingCmd(a), newAuditCmd(a)} {
		c.GroupID = "audit"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{newOrgCmd(a), newMeCmd(a)} {
		c.GroupID = "self"
		root.AddCommand(c)
	}
	strictTree(root)
	annotateRoles(root)
	a.completeTree(root)
	return root
}
