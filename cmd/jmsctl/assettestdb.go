package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/jms-bastion/jms/bastion/database"
	"github.com/jms-bastion/jms/bastion/dbwire"
	"github.com/jms-bastion/jms/store"
)

// testDatabase logs in to a database asset with each account, a line
// each with the server's version, and fails when any did not log in. An
// asset without accounts is only checked for a server listening.
func (a *app) testDatabase(ctx context.Context, s *store.Store, asset store.Asset, addr string,
	accounts []store.Account, timeout time.Duration) error {
	if len(accounts) == 0 {
		d := net.Dialer{Timeout: timeout}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return fmt.Errorf("%s (%s): %w", asset.Name, addr, err)
		}
		_ = c.Close()
		fmt.Fprintf(a.stdout, "%s: %s answers at %s (no account to log in with)\n", asset.Name, asset.Platform, addr)
		return nil
	}
	failed := 0
	var last error
	for _, acc := range accounts {
		version, err := testDatabaseAccount(ctx, s, asset, acc, timeout)
		if err != nil {
			if len(accounts) == 1 {
				return err
			}
			failed, last = failed+1, err
			fmt.Fprintf(a.stdout, "%s: %s: failed: %s\n", asset.Name, acc.Username, oneLine(err))
			continue
		}
		fmt.Fprintf(a.stdout, "%s: logged in at %s as %s (%s %s)\n", asset.Name, addr, acc.Username, asset.Platform, version)
	}
	switch {
	case failed == 0:
		return nil
	case failed == len(accounts):
		return fmt.Errorf("%s: no account logged in (the last: %w)", asset.Name, last)
	}
	return fmt.Errorf("%s: %d of %d accounts did not log in", asset.Name, failed, len(accounts))
}

func testDatabaseAccount(ctx context.Context, s *store.Store, asset store.Asset, acc store.Account, timeout time.Duration) (string, error) {
	t, err := dbwire.Target(ctx, s, asset, acc.ID, timeout)
	if err != nil {
		return "", err
	}
	return database.Test(ctx, t)
}
