package automation

import (
	"context"
	"fmt"
)

// How RemoveFromAsset revokes an account.
const (
	RevokeLock   = "lock"   // lock the password and expire the account: no login of any kind
	RevokeDelete = "delete" // userdel -r: the user and its home go
)

// RemoveFromAsset revokes user on the asset through its privileged
// account (locked or deleted, and its jms sudoers drop-in removed). The
// store is not changed: the caller removes the account once this
// succeeded.
func (r *Runner) RemoveFromAsset(ctx context.Context, assetName, user, mode string) error {
	if err := ValidUsername(user); err != nil {
		return err
	}
	var steps []command
	switch mode {
	case RevokeLock:
		steps = []command{{mutates: true, args: []string{"usermod", "-L", "-e", "1", user}}}
	case RevokeDelete:
		steps = []command{{mutates: true, args: []string{"userdel", "-r", user}}}
	default:
		return fmt.Errorf("--remove-from-asset %q: use lock or delete", mode)
	}
	steps = append(steps, command{mutates: true, args: []string{"rm", "-f", sudoersPath(user)}})
	asset, err := r.st.GetAsset(ctx, assetName)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.AssetTimeout)
	defer cancel()
	p, st, detail := r.connectPrivileged(ctx, asset)
	if p == nil {
		return fmt.Errorf("%s: %s: %s (the account is kept)", asset.Name, st, detail)
	}
	defer p.client.Close()
	us, err := probeUser(ctx, p.remote, user, nil)
	switch {
	case err != nil:
		return fmt.Errorf("%s: %w (the account is kept)", asset.Name, err)
	case us.exists && us.uid < minUID:
		return fmt.Errorf("%s: %s is a system account (uid %d): not revoked", asset.Name, user, us.uid)
	case !us.exists:
		steps = steps[len(steps)-1:] // gone already: only the drop-in
	}
	for _, c := range steps {
		if _, err := p.remote.run(ctx, c); err != nil {
			return fmt.Errorf("%s: %s: %w (the account is kept)", asset.Name, c.args[0], err)
		}
	}
	return r.st.RecordOperation(ctx, "account.revoke", user+"@"+asset.Name, map[string]any{"mode": mode})
}
