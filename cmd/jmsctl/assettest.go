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
		Short: "Check that the bastion can reach an asset and log in to it",
		Long: `test logs in to the asset as the bastion would for a session: the
connect timeout, the pinned host key (pinned now when none is and the
policy is tofu) and the account's secret. Without --account it uses the
asset's first account; an asset without accounts is only checked for an
SSH server answering at its address.`,
		Example: `  jmsctl asset test web1
  jmsctl asset test web1 --account root`,
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
			addr := net.JoinHostPort(asset.Address, strconv.Itoa(asset.Port))
			var acc store.Account
			if account != "" {
				if acc, err = s.GetAccount(ctx, asset.Name, account); err != nil {
					return err
				}
			} else {
				all, err := s.ListAccounts(ctx, asset.Name)
				if err != nil {
					return err
				}
				if len(all) == 0 {
					banner, err := sshBanner(ctx, addr, cfg.ConnectTimeout)
					if err != nil {
						return fmt.Errorf("%s (%s): %w", asset.Name, addr, err)
					}
					fmt.Fprintf(a.stdout, "%s: SSH server at %s answers %q (no account to log in with)\n", asset.Name, addr, banner)
					return nil
				}
				acc = all[0]
			}
			px := proxy.New(proxy.Config{HostKeyPolicy: cfg.HostKeyPolicy, ConnectTimeout: cfg.ConnectTimeout,
				RecordingsDir: cfg.RecordingsDir(), DataDir: cfg.DataDir}, s, nil)
			client, err := px.Dial(ctx, asset, store.GrantedAccount{Account: acc, Actions: []string{store.ActionConnect}})
			if err != nil {
				return err
			}
			defer client.Close()
			fmt.Fprintf(a.stdout, "%s: logged in at %s as %s (server %s)\n", asset.Name, addr, acc.Username, client.ServerVersion())
			return nil
		},
	}
	cmd.Flags().StringVar(&account, "account", "", "the account to log in as (default: the asset's first)")
	return cmd
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
