package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// RekeyResult says what RekeyDataDir did.
type RekeyResult struct {
	Resealed int    `json:"resealed" yaml:"resealed"`
	OldKeyID string `json:"old_key_id" yaml:"old_key_id"`
	NewKeyID string `json:"new_key_id" yaml:"new_key_id"`
	Resumed  bool   `json:"resumed" yaml:"resumed"` // an interrupted rekey was finished
}

// RekeyDataDir rotates the key file of dataDir: it writes a new key to
// secret.key.new (0600), re-seals every secret under it in one
// transaction, then renames secret.key.new over secret.key and syncs the
// directory. Interrupted at any step, nothing becomes unreadable:
// LoadSealer loads secret.key.new as a second key, and a later rekey
// resumes with it. The store must have been opened with the sealer of
// LoadSealer(dataDir, ""); a key from JMS_SECRET_KEY is refused.
func (s *Store) RekeyDataDir(ctx context.Context, dataDir string) (RekeyResult, error) {
	var res RekeyResult
	cur := s.Sealer()
	if cur == nil {
		return res, ErrNoKey
	}
	if cur.primary.Source == KeySourceEnv {
		return res, fmt.Errorf("the secret key comes from %s, not from a file in %s: rotating it is not supported here", KeySourceEnv, dataDir)
	}
	keyPath := filepath.Join(dataDir, KeyFileName)
	newPath := filepath.Join(dataDir, newKeyFileName)
	res.OldKeyID = cur.primary.ID
	next, err := readKeyFile(newPath)
	switch {
	case err == nil:
		res.Resumed = true
	case errors.Is(err, fs.ErrNotExist):
		raw, err := GenerateKeyBytes()
		if err != nil {
			return res, err
		}
		if err := WriteKeyFile(newPath, raw); err != nil {
			return res, err
		}
		if next, err = NewKey(raw, newPath); err != nil {
			return res, err
		}
		if err := syncDir(dataDir); err != nil {
			return res, err
		}
	default:
		return res, err
	}
	next.Source = keyPath // where it lives once the rename is done
	others := make([]*Key, 0, len(cur.keys))
	for _, k := range cur.keys {
		others = append(others, k)
	}
	n, err := s.Rekey(ctx, NewSealer(next, others...))
	if err != nil {
		return res, fmt.Errorf("rekey (nothing changed; %s stays for the next attempt): %w", newPath, err)
	}
	res.Resealed, res.NewKeyID = n, next.ID
	if err := os.Rename(newPath, keyPath); err != nil {
		return res, fmt.Errorf("the secrets are sealed under the new key, but %s could not replace %s (do it by hand): %w", newPath, keyPath, err)
	}
	if err := syncDir(dataDir); err != nil {
		return res, err
	}
	// Later seals use the new key alone.
	s.setSealer(NewSealer(next))
	return res, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
