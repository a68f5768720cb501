package automation

import (
	"context"
	"fmt"

	"github.com/jms-bastion/jms/store"
)

// How RemoveFromAsset revokes an account.
const (
	RevokeLock   = "lock"   // lock the password and expire the account: no login of any kind
	RevokeDelete = "delete" // userdel -r: the user and its home go
)

// CheckRevokeMode refuses a revocation mode other than lock or delete.
func CheckRevokeMode(mode string) error {
	if mode != RevokeLock && mode != RevokeDelete {
		return fmt.Errorf("--remove-from-asset %q: use lock or delete", mode)
	}
	return nil
}

// RemoveFromAsset revokes user on the asset through its privileged
// account (locked or deleted, and its jms sudoers drop-in removed). The
// store is not changed: the caller removes the account once this
// succeeded.
func (r *Runner) RemoveFromAsset(ctx context.Context, assetName, user, mode string) error {
	if err := ValidUsername(user); err != nil {
		return err
	}
	if err := CheckRevokeMode(mode); err != nil {
		return err
	}
	asset, err := r.st.GetAsset(ctx, assetName)
	if err != nil {
		return err
	}
	row := r.revoke(ctx, asset, user, mode)
	if row.Failed() {
		return fmt.Errorf("%s: %s (the account is kept)", asset.Name, revokeFailure(row))
	}
	return nil
}

// revokeFailure is a failed revocation row as one line.
func revokeFailure(row Result) string {
	if row.Status == StatusFailed {
		return row.Detail
	}
	return string(row.Status) + ": " + row.Detail
}

// revoke locks or deletes user on one asset; the row says how it went
// (ok when the user was gone already).
func (r *Runner) revoke(ctx context.Context, asset store.Asset, user, mode string) Result {
	row := Result{Asset: asset.Name, Account: user}
	fail := func(st Status, detail string) Result {
		row.Status, row.Detail = st, detail
		return row
	}
	if err := ValidUsername(user); err != nil {
		return fail(StatusFailed, err.Error())
	}
	steps := []command{{mutates: true, args: []string{"usermod", "-L", "-e", "1", user}}}
	if mode == RevokeDelete {
		steps = []command{{mutates: true, args: []string{"userdel", "-r", user}}}
	}
	steps = append(steps, command{mutates: true, args: []string{"rm", "-f", sudoersPath(user)}})
	ctx, cancel := r.bounded(ctx)
	defer cancel()
	p, st, detail := r.connectPrivileged(ctx, asset)
	if p == nil {
		return fail(st, detail)
	}
	defer p.client.Close()
	us, err := probeUser(ctx, p.remote, user, nil)
	done := map[string]string{RevokeLock: "locked", RevokeDelete: "deleted"}[mode]
	switch {
	case err != nil:
		return fail(StatusFailed, firstLine(err.Error()))
	case us.exists && us.uid < minUID:
		return fail(StatusFailed, fmt.Sprintf("%s is a system account (uid %d): not revoked", user, us.uid))
	case !us.exists:
		steps, done = steps[len(steps)-1:], "gone already" // only the drop-in
	}
	for _, c := range steps {
		if _, err := p.remote.run(ctx, c); err != nil {
			return fail(StatusFailed, fmt.Sprintf("%s: %s", c.args[0], firstLine(err.Error())))
		}
	}
	if err := r.st.RecordOperation(ctx, "account.revoke", user+"@"+asset.Name, map[string]any{"mode": mode}); err != nil {
		return fail(StatusFailed, "revoked, but not audited: "+firstLine(err.Error()))
	}
	row.Status, row.Detail = StatusChanged, done
	if done == "gone already" {
		row.Status = StatusOK
	}
	return row
}

// RemoveTemplate removes a template. With mode (lock or delete) the
// accounts made from it are first revoked on their assets, one row per
// account; when all were revoked (or force), the template and the revoked
// accounts leave the store in one transaction, and removed is true. When
// any failed and not force, nothing leaves the store: the template's
// accounts stay tied to it, so that its push job does not give a revoked
// account back, and a second run retries.
func (r *Runner) RemoveTemplate(ctx context.Context, name, mode string, force bool) (rows []Result, removed bool, err error) {
	if mode == "" {
		return nil, true, r.st.RemoveTemplate(ctx, name)
	}
	if err := CheckRevokeMode(mode); err != nil {
		return nil, false, err
	}
	tm, err := r.st.GetTemplate(ctx, name)
	if err != nil {
		return nil, false, err
	}
	accs, err := r.st.TemplateAccounts(ctx, tm.ID)
	if err != nil {
		return nil, false, err
	}
	rows = forEach(ctx, r, accs, func(ctx context.Context, c store.Account) []Result {
		asset, err := r.st.GetAsset(ctx, c.Asset)
		if err != nil {
			return []Result{{Asset: c.Asset, Account: c.Username, Template: name, Status: StatusFailed, Detail: firstLine(err.Error())}}
		}
		row := r.revoke(ctx, asset, c.Username, mode)
		row.Template = name
		return []Result{row}
	})
	if AnyFailed(rows) && !force {
		return rows, false, nil
	}
	var revoked []store.Account
	for i, row := range rows {
		if !row.Failed() {
			revoked = append(revoked, accs[i])
		}
	}
	if err := r.st.RemoveTemplateWithAccounts(ctx, name, revoked); err != nil {
		return rows, false, err
	}
	return rows, true, nil
}
