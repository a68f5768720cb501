package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/automation"
	"github.com/jms-bastion/jms/printable"
	"github.com/jms-bastion/jms/store"
)

func resultColumns() []column[automation.Result] {
	return []column[automation.Result]{
		{"asset", func(r automation.Result) string { return r.Asset }},
		{"account", func(r automation.Result) string { return r.Account }},
		{"template", func(r automation.Result) string { return r.Template }},
		{"result", func(r automation.Result) string { return r.Summary() }},
		{"detail", func(r automation.Result) string {
			if r.Status == automation.StatusFailed {
				return ""
			}
			return r.Detail
		}},
	}
}

// runner makes the automation runner from the configuration.
func (a *app) runner(s *store.Store, parallel int, progress func(automation.Result)) (*automation.Runner, error) {
	cfg, err := a.config()
	if err != nil {
		return nil, err
	}
	return automation.New(s, automation.Config{HostKeyPolicy: cfg.HostKeyPolicy, ConnectTimeout: cfg.ConnectTimeout,
		Parallel: parallel, Progress: progress, Log: a.logger("warn")}), nil
}

// progress is what a long run shows while it works: a counter on a
// terminal's stderr, or with -o json a JSON line per row on stdout as it
// is done.
func (a *app) progress(verb string) (func(automation.Result), func()) {
	if a.output == "json" {
		enc := json.NewEncoder(a.stdout)
		return func(r automation.Result) { _ = enc.Encode(r) }, func() {}
	}
	if !isTerminal(a.stderr) {
		return nil, func() {}
	}
	var done, failed atomic.Int64
	return func(r automation.Result) {
			n := done.Add(1)
			if r.Failed() {
				failed.Add(1)
			}
			fmt.Fprintf(a.stderr, "\r%s: %d done, %d failed ", verb, n, failed.Load())
		}, func() {
			fmt.Fprint(a.stderr, "\r\x1b[K")
		}
}

// renderResults prints the rows (unless -o json streamed them) and fails
// when any row failed.
func (a *app) renderResults(rows []automation.Result, verb string) error {
	if a.output != "json" {
		if err := render(a.listing(), rows, resultColumns()); err != nil {
			return err
		}
	}
	failed := 0
	for _, r := range rows {
		if r.Failed() {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%s: %d of %d failed", verb, failed, len(rows))
	}
	return nil
}

func newAccountPushCmd(a *app) *cobra.Command {
	var t automation.Target
	var dryRun bool
	var parallel int
	cmd := &cobra.Command{
		Use:   "push (ASSET | --node PATH | --template NAME) [--dry-run] [--parallel 20]",
		Short: "Create or update template accounts on assets through their privileged account",
		Long: `push logs in to each asset as its privileged account (root, or an
account using sudo -n), detects its platform once (Debian/Ubuntu or the
RHEL family, cached as facts that asset show prints) and makes the
template's account what the template says: useradd or usermod, the
password through chpasswd on stdin, the public key in authorized_keys, a
sudoers drop-in checked by visudo. A changed account is proven by a fresh
login before its secret is stored. A second push changes nothing and says
ok. One row per account and asset: ok, changed, unreachable, auth-failed,
host-key-mismatch, unsupported-platform or failed: <why>; the exit status
is non-zero when any failed. ASSET pushes the templates with --push whose
node holds it; --node the same for every asset under PATH; --template one
template to the assets under its node (or to ASSET).`,
		Example: `  jmsctl account push --template deploy --dry-run
  jmsctl account push --template deploy --parallel 50
  jmsctl account push web1
  jmsctl account push --node /prod -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			if len(args) == 1 {
				t.Asset = args[0]
			}
			if t.Asset != "" && t.Node != "" {
				return fmt.Errorf("give ASSET or --node, not both")
			}
			if t.Asset == "" && t.Node == "" && t.Template == "" {
				return fmt.Errorf("name what to push: ASSET, --node PATH or --template NAME")
			}
			if parallel < 1 || parallel > 500 {
				return fmt.Errorf("--parallel %d: want 1-500", parallel)
			}
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			rows, err := a.runPush(ctx, s, t, dryRun, parallel)
			if err != nil {
				return err
			}
			if dryRun {
				return a.renderDryRun(rows)
			}
			return a.renderResults(rows, "push")
		},
	}
	f := cmd.Flags()
	f.StringVar(&t.Node, "node", "", "every asset under this node")
	f.StringVar(&t.Template, "template", "", "only this template")
	f.BoolVar(&dryRun, "dry-run", false, "read the assets and print the commands push would run, secrets redacted; change nothing")
	f.IntVar(&parallel, "parallel", 20, "assets worked on at once")
	return cmd
}

func (a *app) runPush(ctx context.Context, s *store.Store, t automation.Target, dryRun bool, parallel int) ([]automation.Result, error) {
	var progress func(automation.Result)
	var done func()
	if !dryRun {
		progress, done = a.progress("push")
		defer done()
	}
	r, err := a.runner(s, parallel, progress)
	if err != nil {
		return nil, err
	}
	return r.Push(ctx, t, dryRun)
}

// renderDryRun prints what a push would do, asset by asset.
func (a *app) renderDryRun(rows []automation.Result) error {
	if a.output != "table" {
		return render(a.listing(), rows, resultColumns())
	}
	for _, r := range rows {
		what := r.Summary()
		switch r.Status {
		case automation.StatusChanged:
			what = "would change"
		case automation.StatusOK:
			what = "nothing to do"
		}
		head := fmt.Sprintf("%s: %s (template %s): %s", r.Asset, r.Account, r.Template, what)
		fmt.Fprintln(a.stdout, printable.Escape(head))
		for _, c := range r.Commands {
			fmt.Fprintln(a.stdout, "  "+printable.Escape(c))
		}
		if r.Status == automation.StatusChanged && len(r.Commands) == 0 {
			fmt.Fprintln(a.stdout, "  (store the secret after a fresh login)")
		}
	}
	if automation.AnyFailed(rows) {
		return errors.New("push --dry-run: some assets cannot be pushed to (see above)")
	}
	return nil
}
