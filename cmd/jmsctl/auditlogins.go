package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/store"
)

func newAuditLoginsCmd(a *app) *cobra.Command {
	var user, source, since, result string
	var limit int
	cmd := &cobra.Command{
		Use:   "logins",
		Short: "Logins to the bastion, successful and failed",
		Long: `logins lists every attempt to log in to the bastion: when, the user name
given (known or not), the client's address, the method (password,
publickey; connect and sftp for what a logged-in person was refused), the
result and why it failed. Identical failures (same user, source, method and
reason) within a minute fold into one row: COUNT attempts from AT to
LAST_AT. An offered key that was refused counts only when the connection
never logged in.`,
		Example: `  jmsctl audit logins --since 24h
  jmsctl audit logins --result failure --user alice
  jmsctl audit logins -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch result {
			case "", store.LoginSuccess, store.LoginFailure:
			default:
				return fmt.Errorf("--result %q: want success or failure", result)
			}
			if limit < 1 {
				return fmt.Errorf("--limit %d: want at least 1", limit)
			}
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			from, err := parseSince(since, s.Now())
			if err != nil {
				return err
			}
			evs, err := s.ListLoginEvents(cmd.Context(), store.LoginQuery{User: user, Source: source, Result: result, Since: from, Limit: limit})
			if err != nil {
				return err
			}
			return render(a.listing(), evs, []column[store.LoginEvent]{
				{"at", func(e store.LoginEvent) string { return fmtTime(e.At) }},
				{"last_at", func(e store.LoginEvent) string { return fmtTime(e.LastAt) }},
				{"user", func(e store.LoginEvent) string { return e.User }},
				{"source", func(e store.LoginEvent) string { return e.Source }},
				{"method", func(e store.LoginEvent) string { return e.Method }},
				{"result", func(e store.LoginEvent) string { return e.Result }},
				{"reason", func(e store.LoginEvent) string { return e.Reason }},
				{"mfa", func(e store.LoginEvent) string { return strconv.FormatBool(e.MFA) }},
				{"count", func(e store.LoginEvent) string { return strconv.Itoa(e.Count) }},
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&user, "user", "", "only this user name")
	fl.StringVar(&source, "source", "", "only this client address")
	fl.StringVar(&since, "since", "", "only since then: 24h, 7d, 2026-11-01 or an RFC 3339 time")
	fl.StringVar(&result, "result", "", "only success or failure")
	fl.IntVar(&limit, "limit", 1000, "at most this many of the newest rows")
	return cmd
}
