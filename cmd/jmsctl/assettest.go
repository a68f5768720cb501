package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/bastion/proxy"
	"github.com/jms-bastion/jms/store"
)

func newAssetTestCmd(a *app) *cobra.Command {
	var account string
	cmd := &cobra.Command{
		Use:   "test NAME [--account USERNAME]",
		Short: "Check that the bastion can reach an asset and log in to it with each account",
		Long: `test logs in to the asset as the bastion would for a session: the
connect timeout, the pinned host key (pinned now when none is and the
policy is tofu) and each account's secret. Without --account it tries every
account on the asset and says, one line each, which logged in and why the
others did not; it fails when any did not. An asset without accounts is
only checked for an SSH server answering at its address. A database asset
(mysql, postgresql) is logged in to with each database account, with the
asset's TLS settings, and the server's version is shown.`,
		Example: `  jmsctl asset test web1
  jmsctl asset test web1 --account root
  jmsctl asset test db1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			cfg, err := a.config()
			if err != nil {
				return err
			}
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			asset, err := s.GetAsset(ctx, args[0])
			if err != nil {
				return err
			}
			accounts, err := accountsToTest(ctx, s, asset.Name, account)
			if err != nil {
				return err
			}
			addr := net.JoinHostPort(asset.Address, strconv.Itoa(asset.Port))
			if store.IsDatabasePlatform(asset.Platform) {
				return a.testDatabase(ctx, s, asset, addr, accounts, cfg.ConnectTimeout)
			}
			if len(accounts) == 0 {
				banner, err := sshBanner(ctx, addr, cfg.ConnectTimeout)
				if err != nil {
					return fmt.Errorf("%s (%s): %w", asset.Name, addr, err)
				}
				fmt.Fprintf(a.stdout, "%s: SSH server at %s answers %q (no account to log in with)\n", asset.Name, addr, banner)
				return nil
			}
			px := proxy.New(proxy.Config{HostKeyPolicy: cfg.HostKeyPolicy, ConnectTimeout: cfg.ConnectTimeout,
				RecordingsDir: cfg.RecordingsDir(), DataDir: cfg.DataDir}, s, nil)
			return a.testAccounts(ctx, px, asset, addr, accounts)
		},
	}
	cmd.Flags().StringVar(&account, "account", "", "the account to log in as (default: every account on the asset)")
	return cmd
}

// accountsToTest is the named account, or every account on the asset.
func accountsToTest(ctx context.Context, s *store.Store, asset, account string) ([]store.Account, error) {
	if account != "" {
		acc, err := s.GetAccount(ctx, asset, account)
		return []store.Account{acc}, err
	}
	return s.ListAccounts(ctx, asset)
}

// testAccounts logs in with each account, a line each, and fails when
// any did not log in. A single account's failure is the error itself.
func (a *app) testAccounts(ctx context.Context, px *proxy.Proxy, asset store.Asset, addr string, accounts []store.Account) error {
	failed := 0
	var last error
	for _, acc := range accounts {
		client, err := px.Dial(ctx, asset, store.GrantedAccount{Account: acc, Actions: []string{store.ActionConnect}})
		if err != nil {
			if len(accounts) == 1 {
				return err
			}
			failed, last = failed+1, err
			fmt.Fprintf(a.stdout, "%s: %s: failed: %s\n", asset.Name, acc.Username, oneLine(err))
			continue
		}
		fmt.Fprintf(a.stdout, "%s: logged in at %s as %s (server %s)\n", asset.Name, addr, acc.Username, client.ServerVersion())
		_ = client.Close()
	}
	switch {
	case failed == 0:
		return nil
	case failed == len(accounts):
		return fmt.Errorf("%s: no account logged in (the last: %w)", asset.Name, last)
	}
	return fmt.Errorf("%s: %d of %d accounts did not log in", asset.Name, failed, len(accounts))
}

// sshBanner returns the SSH identification line of the server at addr.
func sshBanner(ctx context.Context, addr string, timeout time.Duration) (string, error) {
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	r := bufio.NewReaderSize(c, 256)
	for i := 0; i < 20; i++ {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", fmt.Errorf("no SSH banner: %w", err)
		}
		if line = strings.TrimRight(line, "\r\n"); strings.HasPrefix(line, "SSH-") {
			return line, nil
		}
	}
	return "", errors.New("no SSH banner")
}
