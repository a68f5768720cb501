package store

import "context"

// PinAssetHostKey is PinHostKey for the asset id, in the asset's own
// organization: the bastion works in the all-organizations view, where
// a name may be several orgs' and writes need one org.
func (s *Store) PinAssetHostKey(ctx context.Context, assetID int64, key string) error {
	a, err := s.GetAssetByID(ctx, assetID)
	if err != nil {
		return err
	}
	return s.InOrg(a.OrgID).PinHostKey(ctx, a.Name, key)
}
