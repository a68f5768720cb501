package store

import (
	"context"
	"errors"
)

// globalTables are the tables removeNamed serves whose rows belong to no
// organization.
var globalTables = map[string]bool{"users": true}

// removeNamed deletes the rows of table called names (of the scope's
// organization, but for a global table) in one transaction, auditing each as action: an unknown name removes nothing,
// and a row that something still refers to says what (stillUsed).
// table and action come from the store's own code, never from input.
func (s *Store) removeNamed(ctx context.Context, kind, table, action string, names []string) error {
	if len(names) == 0 {
		return errors.New("no " + kind + " named")
	}
	cond := "1 = 1" // people are global
	if !globalTables[table] {
		if _, err := s.writeOrg(); err != nil {
			return err
		}
		cond = s.orgCond(table)
	}
	return s.withTx(ctx, func(q querier) error {
		for _, name := range names {
			if err := execOne(ctx, q, kind, name, `DELETE FROM `+table+` WHERE name = ? AND `+cond, name); err != nil {
				return s.stillUsed(ctx, err, kind, table, "name", name)
			}
			if err := s.recordOp(ctx, q, action, name, nil); err != nil {
				return err
			}
		}
		return nil
	})
}
