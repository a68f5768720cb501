package store

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
)

var nodeSegmentRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// CleanNodePath checks and normalises a node path: "prod/web/" becomes
// "/prod/web"; "" and "/" are the root, returned as "".
func CleanNodePath(p string) (string, error) {
	p = strings.TrimSpace(p)
	if p == "" || p == "/" {
		return "", nil
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	p = strings.TrimSuffix(p, "/")
	if path.Clean(p) != p {
		return "", fmt.Errorf("invalid node path %q: use /a/b", p)
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if !nodeSegmentRE.MatchString(seg) {
			return "", fmt.Errorf("invalid node path %q: segment %q must be 1-64 of A-Z a-z 0-9 . _ -", p, seg)
		}
	}
	return p, nil
}

// ensureNode returns the id of the node at path p (already clean,
// non-empty) in the scope's organization, making it and its ancestors
// as needed.
func (s *Store) ensureNode(ctx context.Context, q querier, p, now string) (int64, error) {
	org, err := s.writeOrg()
	if err != nil {
		return 0, err
	}
	segs := strings.Split(p[1:], "/")
	var id int64
	for i := range segs {
		cur := "/" + strings.Join(segs[:i+1], "/")
		if _, err := q.ExecContext(ctx, `INSERT INTO nodes (path, created_at, org_id) VALUES (?, ?, ?) ON CONFLICT (org_id, path) DO NOTHING`, cur, now, org); err != nil {
			return 0, wrapError(err)
		}
		if err := q.QueryRowContext(ctx, `SELECT id FROM nodes WHERE path = ? AND org_id = ?`, cur, org).Scan(&id); err != nil {
			return 0, wrapError(err)
		}
	}
	return id, nil
}

// nodeID returns the id of an existing node of the scope.
func (s *Store) nodeID(ctx context.Context, q querier, p string) (int64, error) {
	clean, err := CleanNodePath(p)
	if err != nil {
		return 0, err
	}
	if clean == "" {
		return 0, fmt.Errorf("the root node / cannot be named here (it holds every asset)")
	}
	var id int64
	if err := q.QueryRowContext(ctx, `SELECT id FROM nodes n WHERE path = ? AND `+s.orgCond("n"), clean).Scan(&id); err != nil {
		return 0, fmt.Errorf("node %q: %w", clean, wrapError(err))
	}
	return id, nil
}

// Node is a folder of the asset tree.
type Node struct {
	ID     int64  `json:"id" yaml:"id"`
	OrgID  int64  `json:"org_id" yaml:"org_id"`
	Path   string `json:"path" yaml:"path"`
	Assets int    `json:"assets" yaml:"assets"` // directly in this node
	Total  int    `json:"total" yaml:"total"`   // in this node and below
}

// ListNodes returns the scope's nodes sorted by path, with asset counts.
// In the all-orgs view two organizations' nodes may share a path: each
// has its own counts.
func (s *Store) ListNodes(ctx context.Context) ([]Node, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT n.id, n.org_id, n.path, (SELECT COUNT(*) FROM assets a WHERE a.node_id = n.id)
		FROM nodes n WHERE `+s.orgCond("n")+` ORDER BY n.path, n.org_id`)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	var out []Node
	for rows.Next() {
		var n Node
		if err := rows.Scan(&n.ID, &n.OrgID, &n.Path, &n.Assets); err != nil {
			return nil, wrapError(err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapError(err)
	}
	// Sort by segments ("/prod/web" right after "/prod", before
	// "/prod-x", which a plain string order would put in between) and
	// add each node's assets to every ancestor's total.
	sort.SliceStable(out, func(i, j int) bool { return nodeLess(out[i].Path, out[j].Path) })
	type key struct {
		org  int64
		path string
	}
	idx := make(map[key]int, len(out))
	for i := range out {
		idx[key{out[i].OrgID, out[i].Path}] = i
		out[i].Total = out[i].Assets
	}
	for _, n := range out {
		for p := path.Dir(n.Path); p != "/" && p != "."; p = path.Dir(p) {
			if i, ok := idx[key{n.OrgID, p}]; ok {
				out[i].Total += n.Assets
			}
		}
	}
	return out, nil
}

// nodeLess orders node paths segment by segment.
func nodeLess(a, b string) bool {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if as[i] != bs[i] {
			return as[i] < bs[i]
		}
	}
	return len(as) < len(bs)
}

// PruneNodes removes the scope's nodes that hold no asset, have no
// descendant that does and are named by no grant, filter or account
// template.
func (s *Store) PruneNodes(ctx context.Context) (int, error) {
	if _, err := s.writeOrg(); err != nil {
		return 0, err
	}
	var removed int
	err := s.withTx(ctx, func(q querier) error {
		for {
			res, err := q.ExecContext(ctx, `DELETE FROM nodes WHERE `+s.orgCond("nodes")+`
				AND NOT EXISTS (SELECT 1 FROM assets a WHERE a.node_id = nodes.id)
				AND NOT EXISTS (SELECT 1 FROM nodes c WHERE c.org_id = nodes.org_id AND c.path LIKE nodes.path || '/%')
				AND NOT EXISTS (SELECT 1 FROM grant_nodes g WHERE g.node_id = nodes.id)
				AND NOT EXISTS (SELECT 1 FROM filter_nodes f WHERE f.node_id = nodes.id)
				AND NOT EXISTS (SELECT 1 FROM account_templates t WHERE t.node_id = nodes.id)`)
			if err != nil {
				return wrapError(err)
			}
			n, _ := res.RowsAffected()
			if n == 0 {
				break
			}
			removed += int(n)
		}
		if removed > 0 {
			return s.recordOp(ctx, q, "node.prune", "", map[string]any{"removed": removed})
		}
		return nil
	})
	return removed, err
}
