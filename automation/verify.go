package automation

import (
	"context"
	"errors"

	"github.com/jms-bastion/jms/store"
)

// Selection names stored accounts: Account on Asset, every account of
// Asset, of the assets under Node, or All of them.
type Selection struct {
	Asset   string
	Account string
	Node    string
	All     bool
}

// assetAccounts is one asset with the accounts selected on it.
type assetAccounts struct {
	asset    store.Asset
	accounts []store.Account
}

// selectAccounts resolves a selection, asset by asset.
func (r *Runner) selectAccounts(ctx context.Context, sel Selection) ([]assetAccounts, error) {
	var assets []store.Asset
	switch {
	case sel.Asset != "":
		a, err := r.st.GetAsset(ctx, sel.Asset)
		if err != nil {
			return nil, err
		}
		assets = []store.Asset{a}
	case sel.Node != "" || sel.All:
		as, err := r.st.ListAssets(ctx, store.AssetQuery{Node: sel.Node})
		if err != nil {
			return nil, err
		}
		assets = as
	default:
		return nil, errors.New("name an asset, --node PATH or --all")
	}
	var out []assetAccounts
	for _, a := range assets {
		var accs []store.Account
		if sel.Account != "" {
			acc, err := r.st.GetAccount(ctx, a.Name, sel.Account)
			if err != nil {
				return nil, err
			}
			accs = []store.Account{acc}
		} else {
			var err error
			if accs, err = r.st.ListAccounts(ctx, a.Name); err != nil {
				return nil, err
			}
		}
		if len(accs) > 0 {
			out = append(out, assetAccounts{asset: a, accounts: accs})
		}
	}
	return out, nil
}

// Verify logs in with each selected account's stored secret and says
// which work. It changes nothing.
func (r *Runner) Verify(ctx context.Context, sel Selection) ([]Result, error) {
	jobs, err := r.selectAccounts(ctx, sel)
	if err != nil {
		return nil, err
	}
	return forEach(ctx, r, jobs, func(ctx context.Context, j assetAccounts) []Result {
		rows := make([]Result, 0, len(j.accounts))
		for _, acc := range j.accounts {
			octx, cancel := r.bounded(ctx)
			rows = append(rows, r.verifyOne(octx, j.asset, acc))
			cancel()
		}
		return rows
	}), nil
}

func (r *Runner) verifyOne(ctx context.Context, asset store.Asset, acc store.Account) Result {
	row := Result{Asset: asset.Name, Account: acc.Username}
	if acc.SecretKind == store.SecretNone {
		row.Status, row.Detail = StatusFailed, "no secret stored"
		return row
	}
	c, err := r.login(ctx, asset, acc)
	if err != nil {
		row.Status, row.Detail = dialFailure(err)
		if row.Status == StatusAuthFailed {
			row.Detail = "the asset refused the stored " + acc.SecretKind
		}
		return row
	}
	c.Close()
	row.Status, row.Detail = StatusOK, "logged in with the stored "+acc.SecretKind
	return row
}
