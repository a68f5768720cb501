package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AssetFacts is what the account automation learnt about an asset's
// platform, once, so that later runs need not ask again.
type AssetFacts struct {
	OSID       string    `json:"os_id" yaml:"os_id"`         // ID of /etc/os-release: debian, ubuntu, rhel...
	OSFamily   string    `json:"os_family" yaml:"os_family"` // debian or rhel; "" when unsupported
	OSVersion  string    `json:"os_version" yaml:"os_version"`
	Arch       string    `json:"arch" yaml:"arch"`
	Hostname   string    `json:"hostname" yaml:"hostname"`
	GatheredAt time.Time `json:"gathered_at" yaml:"gathered_at"`
}

// AssetFacts returns the facts cached for the asset; ok is false when
// none were gathered yet.
func (s *Store) AssetFacts(ctx context.Context, assetID int64) (f AssetFacts, ok bool, err error) {
	var at string
	err = s.db.QueryRowContext(ctx, `SELECT f.os_id, f.os_family, f.os_version, f.arch, f.hostname, f.gathered_at
		FROM asset_facts f JOIN assets a ON a.id = f.asset_id WHERE f.asset_id = ? AND `+s.orgCond("a"), assetID).Scan(&f.OSID, &f.OSFamily, &f.OSVersion, &f.Arch, &f.Hostname, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return f, false, nil
	}
	if err != nil {
		return f, false, wrapError(err)
	}
	f.GatheredAt = parseTime(at)
	return f, true, nil
}

// SetAssetFacts caches the facts of an asset of the scope, replacing
// earlier ones.
func (s *Store) SetAssetFacts(ctx context.Context, assetID int64, f AssetFacts) error {
	return s.withTx(ctx, func(q querier) error {
		var id int64
		if err := q.QueryRowContext(ctx, `SELECT a.id FROM assets a WHERE a.id = ? AND `+s.orgCond("a"), assetID).Scan(&id); err != nil {
			return fmt.Errorf("asset #%d: %w", assetID, wrapError(err))
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM asset_facts WHERE asset_id = ?`, assetID); err != nil {
			return wrapError(err)
		}
		_, err := q.ExecContext(ctx, `INSERT INTO asset_facts (asset_id, os_id, os_family, os_version, arch, hostname, gathered_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, assetID, f.OSID, f.OSFamily, f.OSVersion, f.Arch, f.Hostname, formatTime(s.now()))
		return wrapError(err)
	})
}
