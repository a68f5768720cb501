package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kinds of scheduled job.
const (
	JobRotate = "rotate" // rotate the secrets of a template's accounts, or of one account
	JobPush   = "push"   // give a template's account to the assets under its node that lack it
)

// PushSweepEvery is how often a template with push set is pushed to the
// assets added under its node since.
const PushSweepEvery = 10 * time.Minute

// Job is a scheduled automation job. A node of a cluster runs it only
// while it holds its lease.
type Job struct {
	ID           int64         `json:"id" yaml:"id"`
	Name         string        `json:"name" yaml:"name"`
	OrgID        int64         `json:"org_id" yaml:"org_id"`
	Kind         string        `json:"kind" yaml:"kind"`
	Template     string        `json:"template,omitempty" yaml:"template,omitempty"`
	Asset        string        `json:"asset,omitempty" yaml:"asset,omitempty"`
	Account      string        `json:"account,omitempty" yaml:"account,omitempty"`
	Every        time.Duration `json:"every" yaml:"every"`
	NextRunAt    time.Time     `json:"next_run_at" yaml:"next_run_at"`
	LastRunAt    *time.Time    `json:"last_run_at,omitempty" yaml:"last_run_at,omitempty"`
	LastResult   string        `json:"last_result" yaml:"last_result"`
	LastFailures []string      `json:"last_failures" yaml:"last_failures"`
	LeaseOwner   string        `json:"lease_owner,omitempty" yaml:"lease_owner,omitempty"`
}

// upsertJob makes or updates the job called name in q; every <= 0
// removes it.
func (s *Store) upsertJob(ctx context.Context, q querier, name, kind string, templateID, accountID int64, every time.Duration) error {
	org, err := s.writeOrg()
	if err != nil {
		return err
	}
	if every <= 0 {
		_, err := q.ExecContext(ctx, `DELETE FROM automation_jobs WHERE name = ? AND org_id = ?`, name, org)
		return wrapError(err)
	}
	now := s.now()
	res, err := q.ExecContext(ctx, `UPDATE automation_jobs SET every_s = ?, next_run_at = ? WHERE name = ? AND org_id = ?`,
		int64(every/time.Second), formatTime(now.Add(every)), name, org)
	if err != nil {
		return wrapError(err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	var tmpl, acc any
	if templateID != 0 {
		tmpl = templateID
	}
	if accountID != 0 {
		acc = accountID
	}
	_, err = q.ExecContext(ctx, `INSERT INTO automation_jobs (org_id, name, kind, template_id, account_id, every_s, next_run_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, org, name, kind, tmpl, acc, int64(every/time.Second), formatTime(now.Add(every)), formatTime(now))
	return wrapError(err)
}

// templateJobs makes the jobs of a new template: its rotation and, when
// it is on a node, the sweep that gives its account to assets added
// there later (pushed, or stored with the template's secret).
func (s *Store) templateJobs(ctx context.Context, q querier, id int64, t AccountTemplate) error {
	if err := s.upsertJob(ctx, q, "rotate template "+t.Name, JobRotate, id, 0, t.RotateEvery); err != nil {
		return err
	}
	shared := t.SecretPolicy == PolicyPassword || t.SecretPolicy == PolicyKey
	if t.Node != "" && (t.Push || shared) {
		return s.upsertJob(ctx, q, "push template "+t.Name, JobPush, id, 0, PushSweepEvery)
	}
	return nil
}

// SetAccountRotation schedules the rotation of one account's secret
// every period; 0 stops it.
func (s *Store) SetAccountRotation(ctx context.Context, asset, username string, every time.Duration) error {
	acc, err := s.GetAccount(ctx, asset, username)
	if err != nil {
		return err
	}
	if every > 0 && acc.SecretKind == SecretNone {
		return fmt.Errorf("account %s@%s has no secret to rotate", username, asset)
	}
	return s.withTx(ctx, func(q querier) error {
		if err := s.upsertJob(ctx, q, "rotate account "+username+"@"+asset, JobRotate, 0, acc.ID, every); err != nil {
			return err
		}
		return s.recordOp(ctx, q, "account.rotation", username+"@"+asset, map[string]any{"every_s": int64(every / time.Second)})
	})
}

const jobColumns = `j.id, j.name, j.org_id, j.kind, COALESCE(t.name, ''), COALESCE(a.name, ''), COALESCE(c.username, ''),
	j.every_s, j.next_run_at, j.last_run_at, j.last_result, j.last_failures, j.lease_owner`

const jobFrom = ` FROM automation_jobs j
	LEFT JOIN account_templates t ON t.id = j.template_id
	LEFT JOIN accounts c ON c.id = j.account_id
	LEFT JOIN assets a ON a.id = c.asset_id`

func scanJob(sc interface{ Scan(...any) error }) (Job, error) {
	var j Job
	var every int64
	var next, failures string
	var last sql.NullString
	if err := sc.Scan(&j.ID, &j.Name, &j.OrgID, &j.Kind, &j.Template, &j.Asset, &j.Account, &every, &next, &last,
		&j.LastResult, &failures, &j.LeaseOwner); err != nil {
		return j, wrapError(err)
	}
	j.Every = time.Duration(every) * time.Second
	j.NextRunAt, j.LastRunAt = parseTime(next), parseNullTime(last)
	if failures != "" {
		j.LastFailures = strings.Split(failures, "\n")
	}
	return j, nil
}

// ListJobs returns the scope's scheduled jobs, the next due first.
func (s *Store) ListJobs(ctx context.Context) ([]Job, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+jobColumns+jobFrom+` WHERE `+s.orgCond("j")+` ORDER BY j.next_run_at, j.name`)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	var out []Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, wrapError(rows.Err())
}

// ClaimDueJob takes the lease of one due job of the scope (the
// scheduler's is every organization) for owner until lease ends, with a
// conditional UPDATE: of several nodes asking at once, one gets it. ok
// is false when no job is due (or another node holds it). The job runs
// in its organization's view (Job.OrgID).
func (s *Store) ClaimDueJob(ctx context.Context, owner string, lease time.Duration) (Job, bool, error) {
	now := s.now()
	for range 3 {
		var id int64
		err := s.db.QueryRowContext(ctx, `SELECT id FROM automation_jobs j
			WHERE `+s.orgCond("j")+` AND next_run_at <= ? AND (lease_until IS NULL OR lease_until < ?) ORDER BY next_run_at LIMIT 1`,
			formatTime(now), formatTime(now)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return Job{}, false, nil
		}
		if err != nil {
			return Job{}, false, wrapError(err)
		}
		res, err := s.db.ExecContext(ctx, `UPDATE automation_jobs SET lease_owner = ?, lease_until = ?
			WHERE id = ? AND next_run_at <= ? AND (lease_until IS NULL OR lease_until < ?)`,
			owner, formatTime(now.Add(lease)), id, formatTime(now), formatTime(now))
		if err != nil {
			return Job{}, false, wrapError(err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			j, err := scanJob(s.db.QueryRowContext(ctx, `SELECT `+jobColumns+jobFrom+` WHERE j.id = ?`, id))
			return j, err == nil, err
		}
		// Another node took it first: look for the next one.
	}
	return Job{}, false, nil
}

// FinishJob records a run of a job whose lease owner holds, schedules
// the next and gives the lease back, auditing the run in the job's
// organization.
func (s *Store) FinishJob(ctx context.Context, j Job, owner, result string, failures []string) error {
	now := s.now()
	if _, one := s.ScopeOrg(); !one && j.OrgID != 0 {
		s = s.InOrg(j.OrgID)
	}
	return s.withTx(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE automation_jobs SET last_run_at = ?, last_result = ?, last_failures = ?,
			next_run_at = ?, lease_owner = '', lease_until = NULL WHERE id = ? AND lease_owner = ? AND `+s.orgCond("automation_jobs"),
			formatTime(now), result, strings.Join(failures, "\n"), formatTime(now.Add(j.Every)), j.ID, owner)
		if err != nil {
			return wrapError(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("job %q: the lease of %s was lost (it ran too long or the job was removed)", j.Name, owner)
		}
		return s.recordOp(ctx, q, "job.run", j.Name, map[string]any{"result": result, "failures": len(failures)})
	})
}
