package store

import (
	"context"
	"fmt"
)

// Ping checks that the database answers, for a readiness check.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	return nil
}
