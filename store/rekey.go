package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// RekeyResult says what RekeyDataDir did.
type RekeyResult struct {
	Resealed int    `json:"resealed" yaml:"resealed"`
	OldKeyID string `json:"old_key_id" yaml:"old_key_id"`
	NewKeyID string `json:"new_key_id" yaml:"new_key_id"`
	Resumed  bool   `json:"resumed" yaml:"resumed"` // an interrupted rekey was finished
}

// RekeyDataDir rotates the key file of dataDir: it writes a new key to
// secret.key.new (0600), re-seals every secret under it and records it as
// the key to seal with in one transaction, keeps the old key in
// secret.key.old, then renames secret.key.new over secret.key and syncs
// the directory. Interrupted at any step, nothing becomes unreadable:
// LoadSealer loads secret.key.new and secret.key.old as further keys, and
// a later rekey resumes with secret.key.new. The store must have been opened with the sealer of
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
	if err := s.keepOldKey(ctx, dataDir); err != nil {
		return res, fmt.Errorf("the secrets are sealed under the new key in %s, but: %w", newPath, err)
	}
	if err := os.Rename(newPath, keyPath); err != nil {
		return res, fmt.Errorf("the secrets are sealed under the new key, but %s could not replace %s (do it by hand): %w", newPath, keyPath, err)
	}
	if err := syncDir(dataDir); err != nil {
		return res, err
	}
	// Later seals use the new key; the old one still opens.
	s.setSealer(NewSealer(next, others...))
	return res, nil
}

// keepOldKey makes secret.key.old a copy of secret.key before secret.key
// is replaced, so that a value sealed under the old key (by a process
// that did not see the rekey) still opens. The secret.key.old of an
// earlier rekey is removed first, but only when no value names its key.
func (s *Store) keepOldKey(ctx context.Context, dataDir string) error {
	keyPath := filepath.Join(dataDir, KeyFileName)
	oldPath := filepath.Join(dataDir, oldKeyFileName)
	prev, err := readKeyFile(oldPath)
	switch {
	case err == nil:
		uses, err := s.KeyUsage(ctx)
		if err != nil {
			return err
		}
		for _, u := range uses {
			if u.KeyID == prev.ID && u.Envelopes > 0 {
				return fmt.Errorf("%s (key %s) still opens %d secrets, so it cannot be replaced: run 'jmsctl secret rekey' again", oldPath, prev.ID, u.Envelopes)
			}
		}
		if err := os.Remove(oldPath); err != nil {
			return fmt.Errorf("remove %s, which no secret needs any more: %w", oldPath, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	b, err := os.ReadFile(keyPath)
	if err != nil {
		return fmt.Errorf("keep the old key: %w", err)
	}
	if err := writeNewFileAtomic(oldPath, b); err != nil {
		return fmt.Errorf("keep the old key in %s: %w", oldPath, err)
	}
	return nil
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

// sealedColumns are the columns that hold sealed values, with the column
// of each that holds its ref.
var sealedColumns = []struct{ table, column, refColumn string }{
	{"accounts", "secret", "secret_ref"},
	{"users", "mfa_seed", "mfa_seed_ref"},
	{"cluster_host_key", "private_key", "key_ref"},
	{"mail_settings", "password", "password_ref"},
	{"webhooks", "secret", "secret_ref"},
	{"outbox", "payload", "payload_ref"},
	{"account_templates", "secret", "secret_ref"},
}

// sealedValue is one sealed value in the database.
type sealedValue struct {
	b   binding
	env string
}

// sealedValues returns every sealed value in the database.
//
// unscoped: a rekey reseals every secret of the database.
func sealedValues(ctx context.Context, q querier) ([]sealedValue, error) {
	var out []sealedValue
	for _, c := range sealedColumns {
		rows, err := q.QueryContext(ctx, `SELECT id, `+c.column+`, `+c.refColumn+` FROM `+c.table+` WHERE `+c.column+` IS NOT NULL`)
		if err != nil {
			return nil, wrapError(err)
		}
		for rows.Next() {
			v := sealedValue{b: binding{table: c.table, column: c.column}}
			if err := rows.Scan(&v.b.id, &v.env, &v.b.ref); err != nil {
				rows.Close()
				return nil, wrapError(err)
			}
			out = append(out, v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, wrapError(err)
		}
	}
	return out, nil
}

// refColumn returns the column holding the ref of a sealed column.
func refColumn(table string) string {
	for _, c := range sealedColumns {
		if c.table == table {
			return c.refColumn
		}
	}
	return ""
}

// Rekey re-seals every sealed value (account secrets, MFA seeds) under
// next, as current-version envelopes with fresh refs, and records next's
// key as the one new secrets are sealed with, in one transaction. Values
// are opened with the store's current sealer. On success the store uses
// next. A server running on the same database sees the new key id in its
// next seal and reloads its keys (see sealIn).
func (s *Store) Rekey(ctx context.Context, next *Sealer) (int, error) {
	cur := s.Sealer()
	if cur == nil || next == nil {
		return 0, ErrNoKey
	}
	var n int
	err := s.withTx(ctx, func(q querier) error {
		if err := s.lockKeyRow(ctx, q, cur.KeyID()); err != nil {
			return err
		}
		todo, err := sealedValues(ctx, q)
		if err != nil {
			return err
		}
		for _, v := range todo {
			if err := resealOne(ctx, q, cur, next, v); err != nil {
				return err
			}
		}
		n = len(todo)
		if err := setCurrentKeyID(ctx, q, next.KeyID(), formatTime(s.now())); err != nil {
			return err
		}
		return s.recordOp(ctx, q, "secret.rekey", "", map[string]any{"resealed": n, "key_id": next.KeyID()})
	})
	if err != nil {
		return 0, err
	}
	s.setSealer(next)
	return n, nil
}

// unscoped: a rekey reseals every secret of the database.
func resealOne(ctx context.Context, q querier, cur, next *Sealer, v sealedValue) error {
	plain, err := cur.Open(v.env, v.b.aad(EnvelopeVersion(v.env)))
	if err != nil {
		return fmt.Errorf("%s #%d: %w", v.b.table, v.b.id, err)
	}
	defer clear(plain)
	b := v.b
	if b.ref, err = newSealRef(); err != nil {
		return err
	}
	env, err := next.Seal(plain, b.aad(envelopeVersion))
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `UPDATE `+b.table+` SET `+b.column+` = ?, `+refColumn(b.table)+` = ? WHERE id = ?`, env, b.ref, b.id)
	return wrapError(err)
}

// KeyUse says which sealed values name a key.
type KeyUse struct {
	KeyID string `json:"key_id" yaml:"key_id"`
	// Source is where this process loaded the key from; "" when it did not.
	Source string `json:"source" yaml:"source"`
	// Current: the database says new secrets are sealed with this key.
	Current bool `json:"current" yaml:"current"`
	// Envelopes is how many sealed values name the key.
	Envelopes int `json:"envelopes" yaml:"envelopes"`
	// V1 is how many of them are v1 envelopes, bound to a row id that can
	// be reused; a rekey re-seals them as v2.
	V1 int `json:"v1_envelopes" yaml:"v1_envelopes"`
}

// KeyUsage lists the keys in play: the one the database says new secrets
// are sealed with, those sealed values name, and those this process
// loaded, each with how many values name it; the current key first.
func (s *Store) KeyUsage(ctx context.Context) ([]KeyUse, error) {
	byID := map[string]*KeyUse{}
	get := func(id string) *KeyUse {
		if byID[id] == nil {
			byID[id] = &KeyUse{KeyID: id}
		}
		return byID[id]
	}
	vals, err := sealedValues(ctx, s.db)
	if err != nil {
		return nil, err
	}
	for _, v := range vals {
		u := get(SealedKeyID(v.env))
		u.Envelopes++
		if EnvelopeVersion(v.env) == envelopeV1 {
			u.V1++
		}
	}
	for _, k := range s.Sealer().Keys() {
		get(k.ID).Source = k.Source
	}
	var cur string
	err = s.db.QueryRowContext(ctx, `SELECT key_id FROM sealing_key WHERE id = 1`).Scan(&cur)
	if err = wrapError(err); err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if cur == "" {
		// None recorded yet (a new database): the key the first seal
		// will record, as currentKeyID chooses it.
		if cur, err = mostNamedKey(ctx, s.db); err != nil {
			return nil, err
		}
		if cur == "" && s.Sealer() != nil {
			cur = s.Sealer().KeyID()
		}
	}
	if cur != "" {
		get(cur).Current = true
	}
	out := make([]KeyUse, 0, len(byID))
	for _, u := range byID {
		out = append(out, *u)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Current != out[j].Current {
			return out[i].Current
		}
		return out[i].KeyID < out[j].KeyID
	})
	return out, nil
}
