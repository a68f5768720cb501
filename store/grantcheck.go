package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// NodeCovers reports whether a grant or filter naming node covers an
// asset in assetNode: the node itself and its descendants (/prod covers
// /prod/web, not /production).
func NodeCovers(node, assetNode string) bool {
	return assetNode != "" && (assetNode == node || strings.HasPrefix(assetNode, node+"/"))
}

// givesNothing returns why a new grant would give nothing: a window
// already over, accounts (names, checked) on none of the assets it
// covers.
func (s *Store) givesNothing(ctx context.Context, q querier, ng NewGrant, names []string, now time.Time) ([]string, error) {
	var problems []string
	if ng.ValidUntil != nil && !ng.ValidUntil.After(now) {
		problems = append(problems, fmt.Sprintf("its window ended at %s, so it would never apply", ng.ValidUntil.UTC().Format(time.RFC3339)))
	}
	missing, err := s.accountsOnNone(ctx, q, ng.Assets, ng.Nodes, names)
	if err != nil {
		return nil, err
	}
	covered := strings.Join(append(slices.Clone(ng.Assets), ng.Nodes...), ", ")
	for _, m := range missing {
		problems = append(problems, fmt.Sprintf("account %q exists on none of the assets it covers (%s): add it with 'jmsctl account add ASSET %s' first", m, covered, m))
	}
	return problems, nil
}

// accountsOnNone returns, of the account usernames given (@all is
// checked already), those that exist on none of the assets named or under the
// nodes: a grant giving them would give nothing. Names and paths are
// those of a NewGrant, before it is stored; the assets are those of the
// scope's organization (the grant's).
func (s *Store) accountsOnNone(ctx context.Context, q querier, assets, nodes, accounts []string) ([]string, error) {
	names := make([]any, len(accounts))
	for i, a := range accounts {
		names[i] = a
	}
	if len(names) == 0 {
		return nil, nil
	}
	nodes = slices.Clone(nodes)
	for i, n := range nodes {
		if c, err := CleanNodePath(n); err == nil {
			nodes[i] = c
		}
	}
	rows, err := q.QueryContext(ctx, `SELECT ac.username, a.name, COALESCE(n.path, '')
		FROM accounts ac JOIN assets a ON a.id = ac.asset_id LEFT JOIN nodes n ON n.id = a.node_id
		WHERE `+s.orgCond("a")+` AND ac.username IN (`+placeholders(len(names))+`)`, names...)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	found := map[string]bool{}
	for rows.Next() {
		var user, asset, node string
		if err := rows.Scan(&user, &asset, &node); err != nil {
			return nil, wrapError(err)
		}
		if slices.Contains(assets, asset) || slices.ContainsFunc(nodes, func(n string) bool { return NodeCovers(n, node) }) {
			found[user] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, wrapError(err)
	}
	var missing []string
	for _, n := range names {
		if !found[n.(string)] {
			missing = append(missing, n.(string))
		}
	}
	return missing, nil
}
