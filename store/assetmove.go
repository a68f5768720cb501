package store

import (
	"context"
	"fmt"
)

// AssetMove is what MoveAsset did: where the asset went, what went with
// it and which references of its old organization it left behind.
type AssetMove struct {
	Asset string `json:"asset" yaml:"asset"`
	From  string `json:"from" yaml:"from"` // organization names
	To    string `json:"to" yaml:"to"`
	Node  string `json:"node" yaml:"node"` // made in To as needed
	// Accounts moved with the asset (usernames).
	Accounts []string `json:"accounts" yaml:"accounts"`
	// Grants and Filters of the old organization named the asset; they
	// no longer do.
	Grants  []string `json:"grants" yaml:"grants"`
	Filters []string `json:"filters" yaml:"filters"`
	// Templates of the old organization had made accounts on it; those
	// accounts are no longer tied to them.
	Templates []string `json:"templates" yaml:"templates"`
}

// MoveAsset moves the asset called name, with its accounts, labels and
// facts, from the view's organization to the organization toOrg, in one
// transaction. What no longer fits is removed and named in the result:
// the old organization's grants and filters that named the asset, the
// ties of its accounts to the old organization's templates. Its node is
// made in toOrg; the name must be free there. Its sessions stay in the
// old organization's history. The move is audited in both.
func (s *Store) MoveAsset(ctx context.Context, name, toOrg string) (AssetMove, error) {
	mv := AssetMove{Asset: name, To: toOrg}
	from, err := s.writeOrg()
	if err != nil {
		return mv, err
	}
	to, err := s.GetOrg(ctx, toOrg)
	if err != nil {
		return mv, err
	}
	if to.ID == from {
		return mv, fmt.Errorf("asset %q is in organization %q already", name, toOrg)
	}
	err = s.withTx(ctx, func(q querier) error {
		var id int64
		err := q.QueryRowContext(ctx, `SELECT a.id, COALESCE(n.path, ''), o.name FROM assets a
			LEFT JOIN nodes n ON n.id = a.node_id JOIN orgs o ON o.id = a.org_id
			WHERE a.name = ? AND `+s.orgCond("a"), name).Scan(&id, &mv.Node, &mv.From)
		if err != nil {
			return fmt.Errorf("asset %q: %w", name, wrapError(err))
		}
		var taken int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM assets WHERE org_id = ? AND name = ?`, to.ID, name).Scan(&taken); err != nil {
			return wrapError(err)
		}
		if taken > 0 {
			return conflict(nil, "asset %q already exists in organization %q: rename one of them first", name, toOrg)
		}
		if err := s.moveLeaveBehind(ctx, q, id, &mv); err != nil {
			return err
		}
		return s.moveRow(ctx, q, id, to.ID, &mv)
	})
	if err != nil {
		return AssetMove{Asset: name, To: toOrg}, err
	}
	return mv, nil
}

// moveLeaveBehind removes the old organization's references to the
// asset id, noting their names in mv.
//
// unscoped: id is the view's asset, found by MoveAsset in the scope.
func (s *Store) moveLeaveBehind(ctx context.Context, q querier, id int64, mv *AssetMove) error {
	steps := []struct {
		names, remove string
		into          *[]string
	}{
		{`SELECT g.name FROM grant_assets x JOIN grants g ON g.id = x.grant_id WHERE x.asset_id = ? ORDER BY g.name`,
			`DELETE FROM grant_assets WHERE asset_id = ?`, &mv.Grants},
		{`SELECT f.name FROM filter_assets x JOIN filters f ON f.id = x.filter_id WHERE x.asset_id = ? ORDER BY f.name`,
			`DELETE FROM filter_assets WHERE asset_id = ?`, &mv.Filters},
		{`SELECT DISTINCT t.name FROM template_accounts x JOIN account_templates t ON t.id = x.template_id
			JOIN accounts c ON c.id = x.account_id WHERE c.asset_id = ? ORDER BY t.name`,
			`DELETE FROM template_accounts WHERE account_id IN (SELECT c.id FROM accounts c WHERE c.asset_id = ?)`, &mv.Templates},
		{`SELECT c.username FROM accounts c WHERE c.asset_id = ? ORDER BY c.username`, "", &mv.Accounts},
	}
	for _, st := range steps {
		names, err := queryNames(ctx, q, st.names, id)
		if err != nil {
			return err
		}
		*st.into = names
		if st.remove == "" || len(names) == 0 {
			continue
		}
		if _, err := q.ExecContext(ctx, st.remove, id); err != nil {
			return wrapError(err)
		}
	}
	return nil
}

// moveRow gives the asset id (and its accounts' rotation jobs) to the
// organization to, with its node made there, and audits the move in
// both organizations.
func (s *Store) moveRow(ctx context.Context, q querier, id, to int64, mv *AssetMove) error {
	dest := s.InOrg(to)
	now := formatTime(s.now())
	var node any
	if mv.Node != "" {
		nid, err := dest.ensureNode(ctx, q, mv.Node, now)
		if err != nil {
			return fmt.Errorf("asset %q: its node %s cannot be made in organization %q: %w", mv.Asset, mv.Node, mv.To, err)
		}
		node = nid
	}
	if _, err := q.ExecContext(ctx, `UPDATE assets SET org_id = ?, node_id = ?, updated_at = ? WHERE id = ? AND `+s.orgCond("assets"),
		to, node, now, id); err != nil {
		if err = wrapError(err); isTaken(err) {
			return conflict(err, "asset %q already exists in organization %q: rename one of them first", mv.Asset, mv.To)
		}
		return err
	}
	if _, err := q.ExecContext(ctx, `UPDATE automation_jobs SET org_id = ?
		WHERE account_id IN (SELECT c.id FROM accounts c WHERE c.asset_id = ?)`, to, id); err != nil {
		return wrapError(err)
	}
	detail := map[string]any{"from": mv.From, "to": mv.To, "accounts": mv.Accounts,
		"grants_removed": mv.Grants, "filters_removed": mv.Filters, "templates_untied": mv.Templates}
	if err := s.recordOp(ctx, q, "asset.move", mv.Asset, detail); err != nil {
		return err
	}
	return dest.recordOp(ctx, q, "asset.move", mv.Asset, detail)
}
