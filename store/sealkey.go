package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// currentKeyID returns the id of the key new secrets must be sealed
// with, as the database records it. A database that records none yet
// (new, or made before migration 0003) records the key most sealed
// values name, or primary when there are none: a process started with
// a wrong key cannot make its key the current one.
//
// The read takes the row FOR SHARE on PostgreSQL: until the transaction
// that seals with the key commits, a rekey (which takes it FOR UPDATE)
// waits, and a seal never interleaves with one.
func (s *Store) currentKeyID(ctx context.Context, q querier, primary string, now string) (string, error) {
	var id string
	keyRow := `SELECT key_id FROM sealing_key WHERE id = 1` + s.db.d.forShare()
	err := q.QueryRowContext(ctx, keyRow).Scan(&id)
	if err = wrapError(err); err == nil || !errors.Is(err, ErrNotFound) {
		return id, err
	}
	first, err := mostNamedKey(ctx, q)
	if err != nil {
		return "", err
	}
	if first == "" {
		first = primary
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO sealing_key (id, key_id, changed_at) VALUES (1, ?, ?)
		ON CONFLICT (id) DO NOTHING`, first, now); err != nil {
		return "", wrapError(err)
	}
	err = q.QueryRowContext(ctx, keyRow).Scan(&id)
	return id, wrapError(err)
}

// lockKeyRow takes the row of the current key for writing until the
// transaction ends (FOR UPDATE on PostgreSQL; SQLite's write transaction
// holds the whole database), making it first when the database records
// none: a seal that reads the key (FOR SHARE) waits for a rekey to
// commit, and a rekey for the seals under way.
func (s *Store) lockKeyRow(ctx context.Context, q querier, keyID string) error {
	if _, err := q.ExecContext(ctx, `INSERT INTO sealing_key (id, key_id, changed_at) VALUES (1, ?, ?)
		ON CONFLICT (id) DO NOTHING`, keyID, formatTime(s.now())); err != nil {
		return wrapError(err)
	}
	var id string
	err := q.QueryRowContext(ctx, `SELECT key_id FROM sealing_key WHERE id = 1`+s.db.d.forUpdate()).Scan(&id)
	return wrapError(err)
}

// mostNamedKey returns the key id most sealed values name, "" if none.
func mostNamedKey(ctx context.Context, q querier) (string, error) {
	vals, err := sealedValues(ctx, q)
	if err != nil {
		return "", err
	}
	count := map[string]int{}
	best := ""
	for _, v := range vals {
		id := SealedKeyID(v.env)
		if id == "" {
			continue
		}
		count[id]++
		if count[id] > count[best] || (count[id] == count[best] && id < best) {
			best = id
		}
	}
	return best, nil
}

// setCurrentKeyID records the key new secrets are sealed with.
func setCurrentKeyID(ctx context.Context, q querier, keyID, now string) error {
	_, err := q.ExecContext(ctx, `INSERT INTO sealing_key (id, key_id, changed_at) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET key_id = excluded.key_id, changed_at = excluded.changed_at`, keyID, now)
	return wrapError(err)
}

// sealerFor returns a sealer whose primary key is keyID: the store's own,
// or one made with the keys reloaded from their files, which then
// becomes the store's. It fails, naming both, when no loaded key is it.
func (s *Store) sealerFor(keyID string) (*Sealer, error) {
	cur := s.Sealer()
	if cur == nil {
		return nil, ErrNoKey
	}
	if cur.KeyID() == keyID {
		return cur, nil
	}
	var reloaded *Sealer
	if !cur.Has(keyID) && s.reload != nil {
		next, err := s.reload()
		if err != nil {
			return nil, fmt.Errorf("secrets are now sealed with key %s (a rekey changed it); reloading the key: %w", keyID, err)
		}
		reloaded = next
	}
	next, ok := cur.withPrimary(keyID, reloaded)
	if !ok {
		return nil, fmt.Errorf("%w: secrets are now sealed with key %s (a rekey changed it), but the loaded keys are %s: "+
			"load that key (restart jmsctl serve, or set %s to it)", ErrWrongKey, keyID, keyList(cur, reloaded), KeySourceEnv)
	}
	s.setSealer(next)
	return next, nil
}

func keyList(sealers ...*Sealer) string {
	seen := map[string]bool{}
	var out []string
	for _, sl := range sealers {
		for _, k := range sl.Keys() {
			if !seen[k.ID] {
				seen[k.ID] = true
				out = append(out, k.ID+" ("+k.Source+")")
			}
		}
	}
	return strings.Join(out, ", ")
}

// sealIn seals plain for the row b names, inside the transaction q that
// writes it: with the key the database says is current (reloading the
// key files when a rekey by another process changed it) and a fresh ref.
// It returns the envelope and the ref to store beside it.
func (s *Store) sealIn(ctx context.Context, q querier, plain Secret, b binding) (env, ref string, err error) {
	cur := s.Sealer()
	if cur == nil {
		return "", "", ErrNoKey
	}
	keyID, err := s.currentKeyID(ctx, q, cur.KeyID(), formatTime(s.now()))
	if err != nil {
		return "", "", err
	}
	sealer, err := s.sealerFor(keyID)
	if err != nil {
		return "", "", err
	}
	if b.ref, err = newSealRef(); err != nil {
		return "", "", err
	}
	env, err = sealer.Seal(plain, b.aad(envelopeVersion))
	return env, b.ref, err
}

// openBound opens an envelope stored in the row b names. When the
// envelope names a key the sealer does not hold and the store can reload
// its keys, it reloads once and tries again.
func (s *Store) openBound(envelope string, b binding) (Secret, error) {
	aad := b.aad(EnvelopeVersion(envelope))
	sealer := s.Sealer()
	plain, err := sealer.Open(envelope, aad)
	if err == nil || s.reload == nil || sealer == nil || sealer.Has(SealedKeyID(envelope)) {
		return plain, err
	}
	next, rerr := s.reload()
	if rerr != nil {
		return nil, fmt.Errorf("%w (reloading the key: %v)", err, rerr)
	}
	if merged, ok := next.withPrimary(next.KeyID(), sealer); ok {
		next = merged
	}
	s.setSealer(next)
	return next.Open(envelope, aad)
}
