package main

import (
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/bastion"
	"github.com/jms-bastion/jms/store"
)

func serverColumns(now time.Time) []column[store.Server] {
	return []column[store.Server]{
		{"name", func(s store.Server) string { return s.Name }},
		{"address", func(s store.Server) string { return s.Address }},
		{"version", func(s store.Server) string { return s.Version }},
		{"started_at", func(s store.Server) string { return fmtTime(s.StartedAt) }},
		{"heartbeat", func(s store.Server) string { return fmtDuration(max(0, now.Sub(s.HeartbeatAt))) + " ago" }},
		{"sessions", func(s store.Server) string { return strconv.Itoa(s.LiveSessions) }},
		{"state", func(s store.Server) string { return s.State }},
		{"reason", func(s store.Server) string { return s.GoneReason }},
	}
}

func newServerCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "server",
		Short: "The bastion nodes (jmsctl serve) sharing this database",
		Long: `Every jmsctl serve registers as a node under its node_name (the host name
by default) and writes a heartbeat every ` + bastion.HeartbeatInterval.String() + `. A node whose
heartbeat is ` + bastion.GoneAfter.String() + ` old is gone: the next heartbeat of any other node
closes its sessions as interrupted. See docs/cluster.md.`,
		Example: `  jmsctl server list
  jmsctl server list -o json`,
	}
	cmd.AddCommand(newServerListCmd(a))
	return cmd
}

func newServerListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the nodes: address, version, start, last heartbeat, live sessions, state",
		Long: `list shows every node that ever ran on this database, by name: where it
listens, its version, when it started, how long ago its last heartbeat was,
its live sessions and its state: serving, draining (no new connections; its
sessions run on) or gone (stopped, or no heartbeat for ` + bastion.GoneAfter.String() + `, with the reason).`,
		Example: `  jmsctl server list
  jmsctl server list -o yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			now := s.Now()
			servers, err := s.ListServers(cmd.Context(), now, bastion.GoneAfter)
			if err != nil {
				return err
			}
			return render(a.listing(), servers, serverColumns(now))
		},
	}
}
