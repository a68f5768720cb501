package automation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/store"
)

// Rotate gives each selected account a new secret: set on the asset
// through its privileged account (the account itself when it is the
// privileged one), proven by a fresh login with it, and only then
// stored. On any failure the old secret stays valid on the asset and in
// the store, and the row says which step failed (set, verify, store).
func (r *Runner) Rotate(ctx context.Context, sel Selection) ([]Result, error) {
	jobs, err := r.selectAccounts(ctx, sel)
	if err != nil {
		return nil, err
	}
	if sel.Account == "" { // accounts without a secret have nothing to rotate
		kept := jobs[:0]
		for _, j := range jobs {
			accs := j.accounts[:0]
			for _, acc := range j.accounts {
				if acc.SecretKind != store.SecretNone {
					accs = append(accs, acc)
				}
			}
			if j.accounts = accs; len(accs) > 0 {
				kept = append(kept, j)
			}
		}
		jobs = kept
	}
	return r.rotateJobs(ctx, jobs), nil
}

// RotateTemplate rotates every account made from the template.
func (r *Runner) RotateTemplate(ctx context.Context, name string) ([]Result, error) {
	tm, err := r.st.GetTemplate(ctx, name)
	if err != nil {
		return nil, err
	}
	accs, err := r.st.TemplateAccounts(ctx, tm.ID)
	if err != nil {
		return nil, err
	}
	var jobs []assetAccounts
	for _, acc := range accs {
		a, err := r.st.GetAsset(ctx, acc.Asset)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, assetAccounts{asset: a, accounts: []store.Account{acc}})
	}
	return r.rotateJobs(ctx, jobs), nil
}

func (r *Runner) rotateJobs(ctx context.Context, jobs []assetAccounts) []Result {
	return forEach(ctx, r, jobs, func(ctx context.Context, j assetAccounts) []Result {
		rows := make([]Result, len(j.accounts))
		for i, acc := range j.accounts {
			rows[i] = Result{Asset: j.asset.Name, Account: acc.Username}
		}
		cctx, cancel := r.bounded(ctx)
		defer cancel()
		p, st, detail := r.connectPrivileged(cctx, j.asset)
		if p == nil {
			for i := range rows {
				rows[i].Status, rows[i].Detail = st, "connect: "+detail
				r.audit(ctx, "account.rotate", rows[i])
			}
			return rows
		}
		defer p.client.Close()
		for i, acc := range j.accounts {
			octx, cancel := r.bounded(ctx)
			rows[i] = r.rotateOne(octx, p.remote, j.asset, acc)
			cancel()
			if rows[i].Failed() {
				r.audit(ctx, "account.rotate", rows[i])
			}
		}
		return rows
	})
}

// rotateOne rotates one account's secret.
func (r *Runner) rotateOne(ctx context.Context, rem remote, asset store.Asset, acc store.Account) Result {
	row := Result{Asset: asset.Name, Account: acc.Username}
	failed := func(step string, err error) Result {
		row.Status, row.Detail = StatusFailed, step+": "+firstLine(err.Error())
		return row
	}
	if acc.SecretKind == store.SecretNone {
		return failed("read", errors.New("no secret stored: nothing to rotate"))
	}
	if err := ValidAccountUser(acc.Username); err != nil {
		return failed("check", err)
	}
	_, old, err := r.st.AccountSecret(ctx, acc.ID)
	if err != nil {
		return failed("read", err)
	}
	defer clear(old)
	fresh, err := newSecret(acc.SecretKind, acc.Username+"@"+asset.Name+" (jms)")
	if err != nil {
		return failed("generate", err)
	}
	defer clear(fresh)
	var undo func() error
	switch acc.SecretKind {
	case store.SecretPassword:
		if err := setPassword(ctx, rem, acc.Username, fresh); err != nil {
			return failed("set", err)
		}
		undo = func() error { return setPassword(context.WithoutCancel(ctx), rem, acc.Username, old) }
	case store.SecretKey:
		home, err := homeOf(ctx, rem, acc.Username)
		if err != nil {
			return failed("set", err)
		}
		oldLine, err1 := publicLine(old)
		newLine, err2 := publicLine(fresh)
		if err := errors.Join(err1, err2); err != nil {
			return failed("set", err)
		}
		if err := editKeys(ctx, rem, acc.Username, home, []string{newLine}, nil); err != nil {
			return failed("set", err)
		}
		undo = func() error {
			return editKeys(context.WithoutCancel(ctx), rem, acc.Username, home, nil, []string{newLine})
		}
		defer func() {
			// The old key goes once the new one is stored (row changed).
			if row.Status == StatusChanged {
				if err := editKeys(ctx, rem, acc.Username, home, nil, []string{oldLine}); err != nil {
					row.Detail += "; the old key is still authorized: " + firstLine(err.Error())
				}
			}
		}()
	}
	if ok, err := r.tryLogin(ctx, asset, acc.Username, acc.SecretKind, fresh); err != nil || !ok {
		if err == nil {
			err = errors.New("the asset refused the new secret")
		}
		return rolledBack(failed("verify", err), undo)
	}
	if _, err := r.st.SaveManagedAccount(ctx, store.ManagedAccount{Asset: asset.Name, Username: acc.Username,
		SecretKind: acc.SecretKind, Secret: fresh, Action: "account.rotate",
		Detail: map[string]any{"result": "changed", "secret_kind": acc.SecretKind}}); err != nil {
		return rolledBack(failed("store", err), undo)
	}
	row.Status, row.Detail = StatusChanged, "new "+acc.SecretKind+" set, verified and stored"
	return row
}

// rolledBack puts the old secret back on the asset after a failed
// rotation and says so in the row.
func rolledBack(row Result, undo func() error) Result {
	if err := undo(); err != nil {
		row.Detail += "; putting the old secret back failed too: " + firstLine(err.Error())
	} else {
		row.Detail += " (the old secret stays)"
	}
	return row
}

// ValidAccountUser checks a stored account's username before it goes
// into a command: the portable Unix name of ValidUsername, root allowed.
func ValidAccountUser(name string) error {
	if name == "root" {
		return nil
	}
	if !unixNameRE.MatchString(name) {
		return fmt.Errorf("username %q is not a portable Unix name: jms does not manage it", name)
	}
	return nil
}

// setPassword sets user's password through chpasswd, on stdin.
func setPassword(ctx context.Context, rem remote, user string, pw store.Secret) error {
	if err := checkPassword(pw); err != nil {
		return err
	}
	in := append(append([]byte(user+":"), pw...), '\n')
	defer clear(in)
	_, err := rem.run(ctx, command{mutates: true, args: []string{"chpasswd"}, stdin: in})
	if err != nil {
		return fmt.Errorf("chpasswd: %w", err)
	}
	return nil
}

// homeOf returns user's home directory on the asset.
func homeOf(ctx context.Context, rem remote, user string) (string, error) {
	out, err := rem.run(ctx, command{args: []string{"getent", "passwd", user}})
	if err != nil {
		return "", fmt.Errorf("getent passwd %s: %w", user, err)
	}
	pe, err := parsePasswd(firstLine(out))
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(pe.home, "/") {
		return "", fmt.Errorf("%s has no home directory for its keys", user)
	}
	return pe.home, nil
}

// editKeys adds and removes keys (matched by type and key, whatever the
// comment) in user's authorized_keys, as the user, through a temporary
// file renamed over it.
func editKeys(ctx context.Context, rem remote, user, home string, add, remove []string) error {
	cur, err := rem.run(ctx, command{asUser: user, args: []string{"cat", authorizedKeysPath(home)}})
	if err != nil && exitStatus(err) < 0 {
		return fmt.Errorf("read authorized_keys: %w", err)
	}
	want := rewriteKeys(cur, add, remove)
	if want == cur {
		return nil
	}
	for _, s := range keyWriteSteps(user, home, want) {
		if _, err := rem.run(ctx, s.cmd); err != nil {
			if s.undo != nil {
				_, _ = rem.run(context.WithoutCancel(ctx), *s.undo)
			}
			return fmt.Errorf("%s: %w", s.cmd.errName(), err)
		}
	}
	return nil
}

// keyBlob is the type and key of an authorized_keys line, options and
// comment left out; nil when it is not a key line.
func keyBlob(line string) []byte {
	pk, _, _, _, err := gossh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return nil
	}
	return pk.Marshal()
}

// rewriteKeys drops the lines of remove's keys and appends add's (marked
// as jms's) unless present.
func rewriteKeys(current string, add, remove []string) string {
	var drop, have [][]byte
	for _, k := range remove {
		drop = append(drop, keyBlob(k))
	}
	var b strings.Builder
	for _, l := range strings.Split(current, "\n") {
		t := strings.TrimSpace(l)
		if t == "" {
			continue
		}
		blob := keyBlob(t)
		if blob != nil && containsBlob(drop, blob) {
			continue
		}
		have = append(have, blob)
		b.WriteString(t + "\n")
	}
	for _, k := range add {
		if !containsBlob(have, keyBlob(k)) {
			b.WriteString(k + " " + managedMarker + "\n")
		}
	}
	return b.String()
}

func containsBlob(list [][]byte, b []byte) bool {
	for _, x := range list {
		if x != nil && bytes.Equal(x, b) {
			return true
		}
	}
	return false
}
