package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/store"
)

// parseSince reads --since: an RFC 3339 time, a date (UTC), or a
// duration back from now (90m, 24h, 7d).
func parseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days >= 0 {
			return now.AddDate(0, 0, -days), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if t, err := parseTimeFlag("since", s, false); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want a duration (90m, 24h, 7d), an RFC 3339 time or a date (2026-12-31)", s)
}

// auditFlags are the filters every audit listing takes.
type auditFlags struct {
	user, asset, since, session, verdict string
	limit                                int
}

func (f *auditFlags) add(cmd *cobra.Command, session, verdict bool) {
	fl := cmd.Flags()
	fl.StringVar(&f.user, "user", "", "only this user")
	fl.StringVar(&f.asset, "asset", "", "only this asset")
	fl.StringVar(&f.since, "since", "", "only since then: 24h, 7d, 2026-11-01 or an RFC 3339 time")
	fl.IntVar(&f.limit, "limit", 1000, "at most this many of the newest events")
	if session {
		fl.StringVar(&f.session, "session", "", "only this session")
	}
	if verdict {
		fl.StringVar(&f.verdict, "verdict", "", "only this verdict: allow, deny, warn or review (review:approved, review:rejected, review:canceled for one outcome)")
	}
}

func (f *auditFlags) query(now time.Time) (store.AuditQuery, error) {
	since, err := parseSince(f.since, now)
	if err != nil {
		return store.AuditQuery{}, err
	}
	if f.limit < 1 {
		return store.AuditQuery{}, fmt.Errorf("--limit %d: want at least 1", f.limit)
	}
	if f.verdict != "" {
		switch f.verdict {
		case store.VerdictAllow, store.VerdictDeny, store.VerdictWarn, store.VerdictReview,
			store.ReviewVerdict(store.TicketApproved), store.ReviewVerdict(store.TicketRejected), store.ReviewVerdict(store.TicketCanceled):
		default:
			return store.AuditQuery{}, fmt.Errorf("--verdict %q: want allow, deny, warn or review", f.verdict)
		}
	}
	return store.AuditQuery{User: f.user, Asset: f.asset, Session: f.session, Verdict: f.verdict, Since: since, Limit: f.limit}, nil
}

func newAuditCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Read the audit: logins, commands, file transfers, admin operations",
		Long: `audit lists events oldest first (the newest --limit of them, 1000 by
default). Every listing takes --user, --asset and --since (a duration back
from now such as 24h or 7d, a date, or an RFC 3339 time), and -o json, yaml
or csv with stable snake_case field names. Login names, commands and paths
come from people and assets: their control characters are written out
(ESC as \x1b, C1 CSI as \u009b) in tables, show and CSV, so that they cannot
act on your terminal; JSON and YAML escape them too.`,
		Example: `  jmsctl audit operations --since 24h
  jmsctl audit commands --user alice --verdict deny
  jmsctl audit transfers --asset web1 -o csv`,
	}
	cmd.AddCommand(newAuditLoginsCmd(a), newAuditOperationsCmd(a), newAuditCommandsCmd(a), newAuditTransfersCmd(a))
	return cmd
}

func newAuditOperationsCmd(a *app) *cobra.Command {
	var f auditFlags
	cmd := &cobra.Command{
		Use:     "operations",
		Aliases: []string{"ops"},
		Short:   "Changes made with jmsctl or by the server: when, who, what",
		Long: `operations lists every change to people, inventory, grants and filters:
when, the actor (os:NAME for jmsctl run by that OS user), the action, its
target and what changed (never a secret). --user matches the actor's name,
--asset the target.`,
		Example: `  jmsctl audit operations --since 7d
  jmsctl audit operations --user root --asset web1 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return listAudit(a, cmd, f, (*store.Store).ListOperations, []column[store.Operation]{
				{"at", func(o store.Operation) string { return fmtTime(o.At) }},
				{"actor", func(o store.Operation) string { return o.Actor }},
				{"action", func(o store.Operation) string { return o.Action }},
				{"target", func(o store.Operation) string { return o.Target }},
				{"detail", func(o store.Operation) string { return o.Detail }},
			})
		},
	}
	f.add(cmd, false, false)
	return cmd
}

func newAuditCommandsCmd(a *app) *cobra.Command {
	var f auditFlags
	cmd := &cobra.Command{
		Use:   "commands",
		Short: "Commands people ran in sessions, with the filters' verdicts",
		Long: `commands lists the command lines submitted in sessions (interactive and
exec), with the verdict and the filter that decided: allow (also when no
filter matched), deny (not run), warn (run and flagged), and for a command
held for review its outcome: review:approved (run), review:rejected or
review:canceled (not run); --verdict review lists all three. OFFSET is the
time into the session's recording: 'jmsctl replay SESSION --at OFFSET'
shows the moment, and the players (replay, the auditor menu) count time on
the same clock even where they cut idle pauses. --session takes the id or
any unique prefix of it, as the SESSION column shows it. SQL statements on
database assets are listed too, each with ROWS (returned or affected),
DURATION and the server's ERROR; the table shows these columns when a row
has them.`,
		Example: `  jmsctl audit commands --since 24h
  jmsctl audit commands --verdict deny --user alice
  jmsctl audit commands --verdict review
  jmsctl audit commands --session 0b5f3c2a -o json
  jmsctl replay 0b5f3c2a --at 1m30s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return listAuditWith(a, cmd, f, (*store.Store).ListCommandEvents, withStatementColumns, []column[store.CommandEvent]{
				{"at", func(e store.CommandEvent) string { return fmtTime(e.At) }},
				{"user", func(e store.CommandEvent) string { return e.User }},
				{"target", func(e store.CommandEvent) string { return e.Account + "@" + e.Asset }},
				{"verdict", func(e store.CommandEvent) string { return e.Verdict }},
				{"filter", func(e store.CommandEvent) string { return e.Filter }},
				{"command", func(e store.CommandEvent) string { return e.Command }},
				{"session", func(e store.CommandEvent) string { return e.SessionID }},
				{"offset", func(e store.CommandEvent) string { return fmtOffset(e.OffsetMS) }},
			})
		},
	}
	f.add(cmd, true, true)
	return cmd
}

func newAuditTransfersCmd(a *app) *cobra.Command {
	var f auditFlags
	cmd := &cobra.Command{
		Use:   "transfers",
		Short: "File transfers over SFTP and SCP: uploads, downloads, deletions",
		Example: `  jmsctl audit transfers --since 7d
  jmsctl audit transfers --user alice --asset web1 -o csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return listAudit(a, cmd, f, (*store.Store).ListTransferEvents, []column[store.TransferEvent]{
				{"at", func(e store.TransferEvent) string { return fmtTime(e.At) }},
				{"user", func(e store.TransferEvent) string { return e.User }},
				{"target", func(e store.TransferEvent) string { return e.Account + "@" + e.Asset }},
				{"operation", func(e store.TransferEvent) string { return e.Operation }},
				{"path", func(e store.TransferEvent) string { return e.Path }},
				{"size", func(e store.TransferEvent) string { return strconv.FormatInt(e.Size, 10) }},
				{"result", func(e store.TransferEvent) string { return e.Result }},
				{"session", func(e store.TransferEvent) string { return e.SessionID }},
			})
		},
	}
	f.add(cmd, true, false)
	return cmd
}

// fmtOffset shows a time into a recording as replay --at takes it: 1m30.25s.
func fmtOffset(ms int64) string {
	return (time.Duration(ms) * time.Millisecond).String()
}

// listAudit reads one audit listing narrowed by the command's flags and
// renders it.
func listAudit[T any](a *app, cmd *cobra.Command, f auditFlags,
	list func(*store.Store, context.Context, store.AuditQuery) ([]T, error), cols []column[T]) error {
	return listAuditWith(a, cmd, f, list, nil, cols)
}

// listAuditWith is listAudit with columns that depend on the items:
// more(items, cols) returns the columns to show.
func listAuditWith[T any](a *app, cmd *cobra.Command, f auditFlags,
	list func(*store.Store, context.Context, store.AuditQuery) ([]T, error),
	more func([]T, []column[T]) []column[T], cols []column[T]) error {
	s, err := a.openStore(cmd.Context())
	if err != nil {
		return err
	}
	aq, err := f.query(s.Now())
	if err != nil {
		return err
	}
	if aq.Session != "" {
		// --session takes what the other commands take: the id or any
		// unique prefix of it (as the tables show it).
		ss, err := s.GetSession(cmd.Context(), aq.Session)
		if err != nil {
			return fmt.Errorf("--session: %w", err)
		}
		aq.Session = ss.ID
	}
	if _, isOp := any(*new(T)).(store.Operation); isOp {
		// Operations above organizations (people, settings) belong to
		// none: --all-orgs reads them all at once; the ORG column is empty
		// for those.
		items, err := list(s, cmd.Context(), aq)
		if err != nil {
			return err
		}
		return render(a.listing(), items, cols)
	}
	items, err := inOrgs(cmd.Context(), a, s, func(v *store.Store) ([]T, error) { return list(v, cmd.Context(), aq) })
	if err != nil {
		return err
	}
	if more != nil {
		plain := make([]T, len(items))
		for i, it := range items {
			plain[i] = it.Item
		}
		cols = more(plain, cols)
	}
	return renderInOrgs(a.listing(), items, cols)
}
