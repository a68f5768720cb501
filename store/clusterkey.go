package store

import (
	"context"
	"errors"
	"fmt"
)

// clusterKeyBinding is where the cluster's host key is sealed.
func clusterKeyBinding(ref string) binding {
	return binding{table: "cluster_host_key", id: 1, column: "private_key", ref: ref}
}

// ClusterHostKey returns the SSH host key (PEM) every node of the
// cluster shows, sealed in the database under the secret key, and
// whether it is own. When the database holds none yet, own (this node's
// key, whose public half is ownPublic, an authorized_keys line) becomes
// the cluster's: the first node to start keeps the key its clients
// already trust. Two nodes starting at once agree on one of theirs.
func (s *Store) ClusterHostKey(ctx context.Context, own Secret, ownPublic string) (Secret, bool, error) {
	for range 2 {
		key, err := s.readClusterHostKey(ctx)
		if err == nil {
			return key, string(key) == string(own), nil
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, false, err
		}
		err = s.withTx(ctx, func(q querier) error {
			env, ref, err := s.sealIn(ctx, q, own, clusterKeyBinding(""))
			if err != nil {
				return err
			}
			if _, err := q.ExecContext(ctx, `INSERT INTO cluster_host_key (id, private_key, key_ref, public_key, created_at)
				VALUES (1, ?, ?, ?, ?)`, env, ref, ownPublic, formatTime(s.now())); err != nil {
				return wrapError(err)
			}
			return s.recordOp(ctx, q, "server.hostkey", "cluster", map[string]any{"public_key": ownPublic})
		})
		if err == nil {
			return own, true, nil
		}
		if !errors.Is(err, ErrConflict) {
			return nil, false, fmt.Errorf("store the cluster's host key: %w", err)
		}
		// Another node stored its key first: read that one.
	}
	return nil, false, errors.New("the cluster's host key: stored and not found")
}

func (s *Store) readClusterHostKey(ctx context.Context) (Secret, error) {
	var env, ref string
	err := s.db.QueryRowContext(ctx, `SELECT private_key, key_ref FROM cluster_host_key WHERE id = 1`).Scan(&env, &ref)
	if err != nil {
		return nil, wrapError(err)
	}
	key, err := s.openBound(env, clusterKeyBinding(ref))
	if err != nil {
		return nil, fmt.Errorf("open the cluster's host key: %w", err)
	}
	return key, nil
}
