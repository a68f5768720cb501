package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/store"
)

func jobColumns() []column[store.Job] {
	return []column[store.Job]{
		{"name", func(j store.Job) string { return j.Name }},
		{"kind", func(j store.Job) string { return j.Kind }},
		{"every", func(j store.Job) string { return fmtEvery(j.Every) }},
		{"next_run", func(j store.Job) string { return fmtTime(j.NextRunAt) }},
		{"last_run", func(j store.Job) string { return fmtTimePtr(j.LastRunAt) }},
		{"last_result", func(j store.Job) string { return j.LastResult }},
		{"failures", func(j store.Job) string { return strings.Join(j.LastFailures, "; ") }},
		{"running_on", func(j store.Job) string { return j.LeaseOwner }},
	}
}

func newJobCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "job",
		Short: "Scheduled account automation jobs, run by serve",
		Long: `Jobs are run by jmsctl serve: the rotation of a template's accounts
(account template add --rotate-every) or of one account (account set
--rotate-every), and the push of a template with --push to assets added
under its node later (every 10 minutes). Of several serve nodes on one
database, one runs a given job at a time: it holds the job's lease.`,
		Example: `  jmsctl job list
  jmsctl job list -o json`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the jobs with their last run, next run and per-asset failures",
		Example: `  jmsctl job list
  jmsctl job list -o yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			jobs, err := inOrgs(cmd.Context(), a, s, func(v *store.Store) ([]store.Job, error) { return v.ListJobs(cmd.Context()) })
			if err != nil {
				return err
			}
			return renderInOrgs(a.listing(), jobs, jobColumns())
		},
	})
	return cmd
}
