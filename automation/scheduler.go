package automation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jms-bastion/jms/store"
)

// Scheduler runs the due automation jobs (rotations, push sweeps) inside
// serve. Each job runs under a lease in the store, so that of several
// serve nodes on one database only one runs a given job.
type Scheduler struct {
	r     *Runner
	owner string
	// Tick is how often due jobs are looked for (default 30 s).
	Tick time.Duration
	// Lease is how long a node holds a job it runs (default 1 h).
	Lease time.Duration
}

// NewScheduler returns a scheduler named after this host and process.
func NewScheduler(r *Runner) *Scheduler {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return &Scheduler{r: r, owner: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b)),
		Tick: 30 * time.Second, Lease: time.Hour}
}

// Run runs due jobs until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	t := time.NewTicker(s.Tick)
	defer t.Stop()
	for {
		s.RunDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunDue runs every job due now, of every organization, one after the
// other, each in its organization.
func (s *Scheduler) RunDue(ctx context.Context) {
	for ctx.Err() == nil {
		j, ok, err := s.r.st.AllOrgs().ClaimDueJob(ctx, s.owner, s.Lease)
		if err != nil {
			s.r.log.Warn("automation jobs: cannot read the due jobs", "err", err)
			return
		}
		if !ok {
			return
		}
		s.run(ctx, j)
	}
}

func (s *Scheduler) run(ctx context.Context, j store.Job) {
	r := s.r.inOrg(j.OrgID)
	log := r.log.With("job", j.Name, "org_id", j.OrgID)
	log.Info("automation job started")
	jctx, cancel := context.WithTimeout(store.WithActor(ctx, "job:"+j.Name), s.Lease)
	defer cancel()
	var rows []Result
	var err error
	switch {
	case j.Kind == store.JobPush:
		rows, err = r.PushNew(jctx, j.Template)
	case j.Template != "":
		rows, err = r.RotateTemplate(jctx, j.Template)
	case j.Account != "":
		rows, err = r.Rotate(jctx, Selection{Asset: j.Asset, Account: j.Account})
	default:
		err = fmt.Errorf("job %q names nothing to run", j.Name)
	}
	result, failures := summarize(rows, err)
	if ferr := r.st.FinishJob(context.WithoutCancel(ctx), j, s.owner, result, failures); ferr != nil {
		log.Warn("automation job: cannot record the run", "err", ferr)
	}
	log.Info("automation job done", "result", result, "failures", len(failures))
}

// summarize makes a job's result line and its per-asset failures.
func summarize(rows []Result, err error) (string, []string) {
	if err != nil {
		return "error: " + firstLine(err.Error()), nil
	}
	var failures []string
	for _, r := range rows {
		if r.Failed() {
			failures = append(failures, r.Account+"@"+r.Asset+": "+r.Summary()+detailSuffix(r))
		}
	}
	if len(failures) == 0 {
		return fmt.Sprintf("ok (%d)", len(rows)), nil
	}
	return fmt.Sprintf("%d of %d failed", len(failures), len(rows)), failures
}

func detailSuffix(r Result) string {
	if r.Status == StatusFailed || r.Detail == "" {
		return ""
	}
	return " (" + r.Detail + ")"
}

// PushNew gives the template's account to the assets under its node
// that have none yet (assets added since): pushed through the privileged
// account when the template pushes, else stored with the template's own
// secret (an account that exists on the assets already).
func (r *Runner) PushNew(ctx context.Context, template string) ([]Result, error) {
	jobs, err := r.pushJobs(ctx, Target{Template: template})
	if err != nil {
		return nil, err
	}
	kept := jobs[:0]
	for _, j := range jobs {
		if _, err := r.st.GetAccount(ctx, j.asset.Name, j.templates[0].Username); errors.Is(err, store.ErrNotFound) {
			kept = append(kept, j)
		}
	}
	if len(kept) == 0 {
		return nil, nil
	}
	tm := kept[0].templates[0]
	if !tm.Push {
		return r.storeTemplateAccounts(ctx, tm, kept)
	}
	return forEach(ctx, r, kept, func(ctx context.Context, j pushJob) []Result {
		return r.pushAsset(ctx, j, false)
	}), nil
}

// storeTemplateAccounts stores the account of a template that does not
// push, with the template's secret, on each asset.
func (r *Runner) storeTemplateAccounts(ctx context.Context, tm store.AccountTemplate, jobs []pushJob) ([]Result, error) {
	if tm.SecretPolicy != store.PolicyPassword && tm.SecretPolicy != store.PolicyKey {
		return nil, fmt.Errorf("template %s generates its secrets: only a push can set them (add --push)", tm.Name)
	}
	secret, err := r.st.TemplateSecret(ctx, tm.ID)
	if err != nil {
		return nil, err
	}
	defer clear(secret)
	rows := make([]Result, 0, len(jobs))
	for _, j := range jobs {
		row := Result{Asset: j.asset.Name, Account: tm.Username, Template: tm.Name, Status: StatusChanged, Detail: "stored (not pushed)"}
		if _, err := r.st.SaveManagedAccount(ctx, store.ManagedAccount{Asset: j.asset.Name, Username: tm.Username, TemplateID: tm.ID,
			SecretKind: tm.SecretKind(), Secret: secret, Action: "account.add",
			Detail: map[string]any{"template": tm.Name, "secret_kind": tm.SecretKind()}}); err != nil {
			row.Status, row.Detail = StatusFailed, firstLine(err.Error())
		}
		rows = append(rows, row)
	}
	return rows, nil
}
