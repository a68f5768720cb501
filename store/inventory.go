package store

import (
	"context"
	"sync"
)

// inventory is a read-only snapshot of every asset (with its labels)
// and every account, for the authorization of people with many assets.
// Reading 10,000 assets and 20,000 accounts takes longer than a menu
// should wait, so the snapshot is kept until the inventory may have
// changed.
//
// Every change made through the store records an operation in the same
// transaction (recordOp), so the newest row of the operations table is
// an exact change counter, and a cheap one: whatever process commits a
// change, the next reader sees a new version and rebuilds (on
// PostgreSQL, transactions take turns so that ids commit in order: see
// lockWriters). Session and
// audit events do not record operations and leave the snapshot alone.
//
// The snapshot holds every organization (each asset with its OrgID),
// shared by every view; a view of one organization reads the part of
// it that is its own, made once per snapshot (ofOrg).
type inventory struct {
	version  opVersion
	assets   []Asset             // sorted by name
	accounts map[int64][]Account // by asset id, sorted by username

	mu    sync.Mutex
	byOrg map[int64]*inventory // the per-organization parts made so far
}

// ofOrg returns the part of the snapshot that is the organization's:
// its assets, and the same accounts map (keyed by asset id).
func (inv *inventory) ofOrg(org int64) *inventory {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if part, ok := inv.byOrg[org]; ok {
		return part
	}
	part := &inventory{version: inv.version, accounts: inv.accounts}
	for _, a := range inv.assets {
		if a.OrgID == org {
			part.assets = append(part.assets, a)
		}
	}
	if inv.byOrg == nil {
		inv.byOrg = map[int64]*inventory{}
	}
	inv.byOrg[org] = part
	return part
}

type opVersion struct {
	id int64
	at string
}

// inventoryCache holds the newest snapshot; the zero value is empty.
type inventoryCache struct {
	mu  sync.Mutex
	inv *inventory
}

// opVersion reads the newest operation.
//
// unscoped: the change counter of the whole store, every organization's.
func (s *Store) opVersion(ctx context.Context) (opVersion, error) {
	var v opVersion
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM operations`).Scan(&v.id)
	if err != nil {
		return v, wrapError(err)
	}
	if v.id != 0 {
		err = s.db.QueryRowContext(ctx, `SELECT at FROM operations WHERE id = ?`, v.id).Scan(&v.at)
	}
	return v, wrapError(err)
}

// inventory returns the current snapshot as the view sees it: every
// organization's assets in the all-orgs view, one organization's in its
// view.
func (s *Store) inventory(ctx context.Context) (*inventory, error) {
	whole, err := s.wholeInventory(ctx)
	if err != nil {
		return nil, err
	}
	if org, one := s.ScopeOrg(); one {
		return whole.ofOrg(org), nil
	}
	return whole, nil
}

// wholeInventory returns the current snapshot, rebuilding it when an
// operation was recorded since it was taken. The version is read before
// the data, so a change that races the rebuild only makes the next
// reader rebuild again.
//
// unscoped: the snapshot holds every organization; inventory gives a
// view its part.
func (s *Store) wholeInventory(ctx context.Context) (*inventory, error) {
	v, err := s.opVersion(ctx)
	if err != nil {
		return nil, err
	}
	s.inv.mu.Lock()
	cur := s.inv.inv
	s.inv.mu.Unlock()
	if cur != nil && cur.version == v {
		return cur, nil
	}
	inv := &inventory{version: v, accounts: map[int64][]Account{}}
	rows, err := s.db.QueryContext(ctx, `SELECT `+assetColumns+assetFrom+` ORDER BY a.name, a.org_id`)
	if err != nil {
		return nil, wrapError(err)
	}
	for rows.Next() {
		a, err := scanAsset(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		inv.assets = append(inv.assets, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrapError(err)
	}
	ptrs := make([]*Asset, len(inv.assets))
	names := make(map[int64]string, len(inv.assets))
	for i := range inv.assets {
		ptrs[i] = &inv.assets[i]
		names[inv.assets[i].ID] = inv.assets[i].Name
	}
	if err := s.fillLabels(ctx, ptrs); err != nil {
		return nil, err
	}
	crows, err := s.db.QueryContext(ctx, `SELECT c.id, c.asset_id, '', c.username, c.secret_kind, c.privileged, c.comment,
		c.created_at, c.updated_at FROM accounts c ORDER BY c.asset_id, c.username`)
	if err != nil {
		return nil, wrapError(err)
	}
	defer crows.Close()
	for crows.Next() {
		c, err := scanAccount(crows)
		if err != nil {
			return nil, err
		}
		c.Asset = names[c.AssetID]
		inv.accounts[c.AssetID] = append(inv.accounts[c.AssetID], c)
	}
	if err := crows.Err(); err != nil {
		return nil, wrapError(err)
	}
	s.inv.mu.Lock()
	if s.inv.inv == nil || s.inv.inv.version.id <= v.id {
		s.inv.inv = inv
	}
	s.inv.mu.Unlock()
	return inv, nil
}
