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
type inventory struct {
	version  opVersion
	assets   []Asset             // sorted by name
	accounts map[int64][]Account // by asset id, sorted by username
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

// inventory returns the current snapshot, rebuilding it when an
// operation was recorded since it was taken. The version is read before
// the data, so a change that races the rebuild only makes the next
// reader rebuild again.
func (s *Store) inventory(ctx context.Context) (*inventory, error) {
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
	rows, err := s.db.QueryContext(ctx, `SELECT `+assetColumns+assetFrom+` ORDER BY a.name`)
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
