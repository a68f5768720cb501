package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/printable"
	"github.com/jms-bastion/jms/store"
)

func sessionColumns(now time.Time) []column[store.Session] {
	return []column[store.Session]{
		{"id", func(s store.Session) string { return s.ID }},
		{"user", func(s store.Session) string { return s.User }},
		{"asset", func(s store.Session) string { return s.Asset }},
		{"account", func(s store.Session) string { return s.Account }},
		{"kind", func(s store.Session) string { return s.Kind }},
		{"target", func(s store.Session) string { return s.Target }},
		{"started_at", func(s store.Session) string { return fmtTime(s.StartedAt) }},
		{"duration", func(s store.Session) string { return fmtDuration(s.Duration(now)) }},
		{"status", func(s store.Session) string { return s.Status }},
		{"exit", func(s store.Session) string { return fmtExit(s.ExitStatus) }},
		{"node", func(s store.Session) string { return s.Node }},
	}
}

func fmtExit(p *int) string {
	if p == nil {
		return ""
	}
	return strconv.Itoa(*p)
}

// fmtDuration rounds a session's length for people: 42s, 3m05s, 2h10m.
func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		d = d.Round(time.Second)
		return strconv.Itoa(int(d/time.Minute)) + "m" + pad2(int(d%time.Minute/time.Second)) + "s"
	}
	d = d.Round(time.Minute)
	return strconv.Itoa(int(d/time.Hour)) + "h" + pad2(int(d%time.Hour/time.Minute)) + "m"
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

func newSessionCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "session",
		Short: "List and inspect proxied sessions",
		Long: `session lists the sessions people opened through the bastion: who, to which
asset as which account, when, how they ended, and where their recording is.
Every channel is a session: shells and commands, SFTP, and forwarded ports
(kind forward, with their target and the bytes each way).
watch follows a live one read-only, kill ends it. Replay a recording with
'jmsctl replay ID'. Tables show each id as its shortest unique prefix of 8
characters or more (-o wide, CSV, JSON and YAML show it whole); every
command takes any unique prefix of at least 4 characters, and names the
sessions an ambiguous one matches.`,
		Example: `  jmsctl session list --active
  jmsctl session list --user alice --since 24h -o json
  jmsctl session show 3f2a
  jmsctl session watch 3f2a
  jmsctl session kill 3f2a --reason "maintenance window"`,
	}
	cmd.AddCommand(newSessionListCmd(a), newSessionShowCmd(a), newSessionKillCmd(a), newSessionWatchCmd(a))
	return cmd
}

func newSessionListCmd(a *app) *cobra.Command {
	var q store.SessionQuery
	var since string
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List sessions, oldest first",
		Example: `  jmsctl session list
  jmsctl session list --active
  jmsctl session list --asset web1 --since 7d`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			now := s.Now()
			if q.Since, err = parseSince(since, now); err != nil {
				return err
			}
			sessions, err := inOrgs(cmd.Context(), a, s, func(v *store.Store) ([]store.Session, error) { return v.ListSessions(cmd.Context(), q) })
			if err != nil {
				return err
			}
			return renderInOrgs(a.listing(), sessions, sessionColumns(now))
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&q.Active, "active", false, "only sessions running now")
	fl.StringVar(&q.User, "user", "", "only this person's sessions")
	fl.StringVar(&q.Asset, "asset", "", "only sessions to this asset")
	fl.StringVar(&since, "since", "", "only sessions started since then: 24h, 7d, 2026-11-01 or an RFC 3339 time")
	fl.IntVar(&q.Limit, "limit", 1000, "at most this many (the latest)")
	return cmd
}

func newSessionShowCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show one session (ID or a unique prefix of at least 4 characters)",
		Example: `  jmsctl session show 3f2a
  jmsctl session show 3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			ss, err := s.GetSession(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fields := append(sessionColumns(s.Now()),
				column[store.Session]{"source", func(s store.Session) string { return s.Source }},
				column[store.Session]{"command", func(s store.Session) string { return s.Command }},
				column[store.Session]{"ended_at", func(s store.Session) string { return fmtTimePtr(s.EndedAt) }},
				column[store.Session]{"end_reason", func(s store.Session) string { return s.EndReason }},
				column[store.Session]{"recording", func(s store.Session) string { return s.RecordingPath }},
				column[store.Session]{"recording_state", func(s store.Session) string { return recordingState(s) }},
				column[store.Session]{"recording_size", func(s store.Session) string { return strconv.FormatInt(s.RecordingSize, 10) }},
				column[store.Session]{"recording_sha256", func(s store.Session) string { return s.RecordingSHA256 }},
				column[store.Session]{"bytes_in", func(s store.Session) string { return strconv.FormatInt(s.BytesIn, 10) }},
				column[store.Session]{"bytes_out", func(s store.Session) string { return strconv.FormatInt(s.BytesOut, 10) }})
			return renderOne(a.listing(), ss, fields)
		},
	}
}

// killWait is how long kill waits for the bastion to end the session.
const killWait = 5 * time.Second

func newSessionKillCmd(a *app) *cobra.Command {
	var reason string
	var noWait bool
	cmd := &cobra.Command{
		Use:   "kill ID",
		Short: "End a live session (the person reads the reason)",
		Long: `kill asks the bastion that runs the session (any 'jmsctl serve' sharing this
data directory) to end it: within a second or two the asset's connection is
closed, the person reads "session ended: killed by ACTOR: REASON", and the
session is recorded as killed. The request is in the operations audit.
kill waits until the session has ended, unless --no-wait.`,
		Example: `  jmsctl session kill 3f2a
  jmsctl session kill 3f2a --reason "maintenance window"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			ctx := a.actorContext(cmd.Context())
			ss, err := s.RequestKill(ctx, args[0], reason)
			if err != nil {
				return err
			}
			if noWait {
				fmt.Fprintf(a.stdout, "kill of session %s requested\n", ss.ID)
				return nil
			}
			deadline := time.Now().Add(killWait)
			for {
				cur, err := s.GetSession(ctx, ss.ID)
				if err != nil {
					return err
				}
				if cur.Status != store.StatusActive {
					fmt.Fprintf(a.stdout, "session %s ended (%s: %s)\n", cur.ID, cur.Status, printable.Escape(cur.EndReason))
					return nil
				}
				if time.Now().After(deadline) {
					return fmt.Errorf("session %s is still active after %v: is the bastion that runs it up? (the kill stays requested)", ss.ID, killWait)
				}
				time.Sleep(100 * time.Millisecond)
			}
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, shown to the person and kept in the audit")
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "return once the kill is requested")
	return cmd
}
