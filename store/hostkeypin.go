package store

import (
	"context"
	"fmt"
)

// PinAssetHostKey is PinHostKey for the asset id, in the asset's own
// organization: the bastion works in the all-organizations view, where
// a name may be several orgs' and writes need one org.
func (s *Store) PinAssetHostKey(ctx context.Context, assetID int64, key string) error {
	org, err := s.orgOfAsset(ctx, assetID)
	if err != nil {
		return err
	}
	if org == 0 {
		return fmt.Errorf("asset #%d: %w", assetID, ErrNotFound)
	}
	in := s.InOrg(org)
	a, err := in.GetAssetByID(ctx, assetID)
	if err != nil {
		return err
	}
	return in.PinHostKey(ctx, a.Name, key)
}
