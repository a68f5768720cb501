package automation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jms-bastion/jms/store"
)

// Target names what to work on: one asset, the assets under a node, or
// the assets under a template's node. Template narrows Asset or Node to
// that template.
type Target struct {
	Asset    string
	Node     string
	Template string
}

// pushJob is one asset with the templates to push to it.
type pushJob struct {
	asset     store.Asset
	templates []store.AccountTemplate
}

// pushJobs resolves a target to the assets and their templates: the
// named template, else every template with push set whose node covers
// the asset.
func (r *Runner) pushJobs(ctx context.Context, t Target) ([]pushJob, error) {
	var tmpls []store.AccountTemplate
	if t.Template != "" {
		tm, err := r.st.GetTemplate(ctx, t.Template)
		if err != nil {
			return nil, err
		}
		tmpls = []store.AccountTemplate{tm}
	} else {
		all, err := r.st.ListTemplates(ctx)
		if err != nil {
			return nil, err
		}
		for _, tm := range all {
			if tm.Push {
				tmpls = append(tmpls, tm)
			}
		}
	}
	var assets []store.Asset
	switch {
	case t.Asset != "":
		a, err := r.st.GetAsset(ctx, t.Asset)
		if err != nil {
			return nil, err
		}
		assets = []store.Asset{a}
	case t.Node != "" || t.Template != "":
		node := t.Node
		if node == "" {
			if node = tmpls[0].Node; node == "" {
				return nil, fmt.Errorf("template %s is on no node: name an asset or --node", t.Template)
			}
		}
		as, err := r.st.ListAssets(ctx, store.AssetQuery{Node: node})
		if err != nil {
			return nil, err
		}
		assets = as
	default:
		return nil, errors.New("name an asset, --node PATH or --template NAME")
	}
	var jobs []pushJob
	for _, a := range assets {
		j := pushJob{asset: a}
		for _, tm := range tmpls {
			if t.Template != "" || covers(tm.Node, a.Node) {
				j.templates = append(j.templates, tm)
			}
		}
		if len(j.templates) > 0 {
			jobs = append(jobs, j)
		}
	}
	return jobs, nil
}

// Push creates or updates the accounts of templates on assets through
// each asset's privileged account, one row per account and asset. With
// dryRun it reads the assets' state and returns the commands it would
// run instead, secrets redacted.
func (r *Runner) Push(ctx context.Context, t Target, dryRun bool) ([]Result, error) {
	jobs, err := r.pushJobs(ctx, t)
	if err != nil {
		return nil, err
	}
	return forEach(ctx, r, jobs, func(ctx context.Context, j pushJob) []Result {
		return r.pushAsset(ctx, j, dryRun)
	}), nil
}

// pushAsset pushes every template of the job over one connection.
func (r *Runner) pushAsset(ctx context.Context, j pushJob, dryRun bool) []Result {
	rows := make([]Result, len(j.templates))
	for i, tm := range j.templates {
		rows[i] = Result{Asset: j.asset.Name, Account: tm.Username, Template: tm.Name}
	}
	fail := func(st Status, detail string) []Result {
		for i := range rows {
			rows[i].Status, rows[i].Detail = st, detail
			if !dryRun {
				r.audit(ctx, "account.push", rows[i])
			}
		}
		return rows
	}
	cctx, cancel := r.bounded(ctx)
	defer cancel()
	p, st, detail := r.connectPrivileged(cctx, j.asset)
	if p == nil {
		return fail(st, detail)
	}
	defer p.client.Close()
	f, err := r.facts(cctx, j.asset, p.remote)
	if err != nil {
		return fail(StatusFailed, firstLine(err.Error()))
	}
	if f.OSFamily == "" {
		return fail(StatusUnsupported, "os "+f.OSID+" "+f.OSVersion)
	}
	for i, tm := range j.templates {
		octx, cancel := r.bounded(ctx)
		rows[i] = r.pushOne(octx, p.remote, j.asset, f.OSFamily, tm, dryRun)
		cancel()
		if !dryRun && rows[i].Status != StatusOK {
			if rows[i].Failed() {
				r.audit(ctx, "account.push", rows[i])
			}
		}
	}
	return rows
}

// audit records a failed row in the operations audit; a success is
// recorded with the secret it stored.
func (r *Runner) audit(ctx context.Context, action string, row Result) {
	detail := map[string]any{"result": row.Summary()}
	if row.Status != StatusFailed && row.Detail != "" {
		detail["detail"] = row.Detail // why it was unreachable, refused…: Summary leaves it out
	}
	if row.Template != "" {
		detail["template"] = row.Template
	}
	if err := r.st.RecordOperation(ctx, action, row.Account+"@"+row.Asset, detail); err != nil {
		r.log.Warn("cannot record an operation", "action", action, "asset", row.Asset, "err", err)
	}
}

// storedSecret returns the secret stored for user on asset when it is of
// kind; nil when there is none.
func (r *Runner) storedSecret(ctx context.Context, asset, user, kind string) (store.Secret, bool, error) {
	acc, err := r.st.GetAccount(ctx, asset, user)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if acc.SecretKind != kind {
		return nil, true, nil
	}
	_, sec, err := r.st.AccountSecret(ctx, acc.ID)
	return sec, true, err
}

// desiredFor builds what the template wants on this asset, with the
// secret to push: the one stored for the asset, else the template's own
// or a new one. fresh says the secret is not stored yet.
func (r *Runner) desiredFor(ctx context.Context, asset store.Asset, family string, tm store.AccountTemplate) (d desired, fresh bool, err error) {
	if err := CheckTemplate(tm); err != nil {
		return d, false, fmt.Errorf("template %s: %w", tm.Name, err)
	}
	sudo, _ := ParseSudo(tm.Sudo)
	d = desired{template: tm.Name, user: tm.Username, family: family, shell: tm.Shell, home: tm.Home,
		groups: tm.Groups, sudo: sudo, kind: tm.SecretKind()}
	stored, _, err := r.storedSecret(ctx, asset.Name, tm.Username, d.kind)
	if err != nil {
		return d, false, err
	}
	// The stored secret wins: a rotated account keeps its own. The
	// template's secret, or a new one, seeds an account jms lacks.
	secret, fresh := stored, false
	if secret == nil {
		fresh = true
		switch tm.SecretPolicy {
		case store.PolicyPassword, store.PolicyKey:
			secret, err = r.st.TemplateSecret(ctx, tm.ID)
		default:
			secret, err = newSecret(d.kind, tm.Username+"@"+asset.Name+" (jms)")
		}
		if err != nil {
			return d, false, err
		}
	}
	if d.kind == store.SecretKey {
		line, err := publicLine(secret)
		if err != nil {
			return d, false, err
		}
		d.keys = []string{line}
	}
	d.secret = secret
	return d, fresh, nil
}

// pushOne pushes one template's account to an asset.
func (r *Runner) pushOne(ctx context.Context, rem remote, asset store.Asset, family string, tm store.AccountTemplate, dryRun bool) Result {
	row := Result{Asset: asset.Name, Account: tm.Username, Template: tm.Name}
	failed := func(format string, args ...any) Result {
		row.Status, row.Detail = StatusFailed, firstLine(fmt.Sprintf(format, args...))
		return row
	}
	d, fresh, err := r.desiredFor(ctx, asset, family, tm)
	defer clear(d.secret)
	if err != nil {
		return failed("%v", err)
	}
	st, err := probeUser(ctx, rem, d.user, d.groups)
	if err != nil {
		return failed("%v", err)
	}
	// A password the asset already takes is not set again (a generated
	// one that is not stored yet cannot be).
	generated := tm.SecretPolicy == store.PolicyGeneratePassword || tm.SecretPolicy == store.PolicyGenerateKey
	if d.kind == store.SecretPassword && st.exists && !(fresh && generated) {
		ok, err := r.tryLogin(ctx, asset, d.user, d.kind, d.secret)
		if err != nil {
			s, detail := dialFailure(err)
			row.Status, row.Detail = s, detail
			return row
		}
		d.passwordOK = ok
	}
	steps, err := plan(d, st)
	if err != nil {
		return failed("%v", err)
	}
	if dryRun {
		row.Status = StatusOK
		if len(steps) > 0 || fresh {
			row.Status = StatusChanged
		}
		for _, s := range steps {
			row.Commands = append(row.Commands, s.cmd.lines()...)
		}
		return row
	}
	changes, err := runSteps(ctx, rem, steps)
	if err != nil {
		return failed("%v", err)
	}
	if len(changes) == 0 && !fresh {
		row.Status = StatusOK
		return row
	}
	// Only a secret proven by a fresh login is stored.
	if ok, err := r.tryLogin(ctx, asset, d.user, d.kind, d.secret); err != nil || !ok {
		if err == nil {
			err = errors.New("the asset refused the new secret")
		}
		return failed("verify the login: %v", err)
	}
	detail := map[string]any{"result": "changed", "template": tm.Name, "changes": changes}
	if _, err := r.st.SaveManagedAccount(ctx, store.ManagedAccount{Asset: asset.Name, Username: d.user, TemplateID: tm.ID,
		SecretKind: d.kind, Secret: d.secret, Action: "account.push", Detail: detail}); err != nil {
		return failed("store the account: %v", err)
	}
	row.Status, row.Detail = StatusChanged, joinChanges(changes)
	if len(changes) == 0 {
		row.Detail = "secret stored (the asset already had it)"
	}
	return row
}

// runSteps runs the steps in order, each one's undo when it fails, and
// returns what changed.
func runSteps(ctx context.Context, rem remote, steps []step) ([]string, error) {
	var changes []string
	for _, s := range steps {
		if _, err := rem.run(ctx, s.cmd); err != nil {
			if s.undo != nil {
				_, _ = rem.run(context.WithoutCancel(ctx), *s.undo)
			}
			return changes, fmt.Errorf("%s: %w", s.cmd.errName(), err)
		}
		if !slices.Contains(changes, s.what) {
			changes = append(changes, s.what)
		}
	}
	return changes, nil
}

func joinChanges(cs []string) string {
	var b bytes.Buffer
	for i, c := range cs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c)
	}
	return b.String()
}
