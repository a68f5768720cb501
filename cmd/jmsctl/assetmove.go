package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/store"
)

func newAssetMoveCmd(a *app) *cobra.Command {
	var toOrg string
	cmd := &cobra.Command{
		Use:   "move NAME --to-org ORG",
		Short: "Move an asset with its accounts to another organization, removing what no longer fits",
		Long: `move takes an asset, with its accounts, labels and facts, from the
organization --org names to the one --to-org names, in one change. The old
organization's grants and filters stop naming it and its accounts' ties to
the old organization's templates go: the command lists what it removed.
Its node is made in the new organization; its name must be free there.
Its past sessions and audit stay in the old organization. Over SSH it
needs the org-admin role in both organizations.`,
		Example: `  jmsctl --org team-a asset move web1 --to-org team-b
  jmsctl asset move db1 --to-org payments -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			if toOrg == "" {
				return errors.New("name the organization to move to with --to-org")
			}
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			if err := a.mayManage(ctx, cmd, toOrg); err != nil {
				return err
			}
			mv, err := s.MoveAsset(ctx, args[0], toOrg)
			if err != nil {
				return err
			}
			return a.printMove(mv)
		},
	}
	cmd.Flags().StringVar(&toOrg, "to-org", "", "the organization to move the asset to")
	return cmd
}

// mayManage checks, over SSH, that the caller is an org-admin of org
// too (the permission check saw the organization of --org only).
func (a *app) mayManage(ctx context.Context, cmd *cobra.Command, org string) error {
	if a.caller == nil || a.caller.role == roleAdmin {
		return nil
	}
	s, err := a.openBase(ctx)
	if err != nil {
		return err
	}
	o, err := s.GetOrg(ctx, org)
	if err != nil {
		return err
	}
	role, err := s.OrgRole(ctx, o.ID, a.caller.user)
	if err != nil {
		return err
	}
	return permit(decision{command: cmd.CommandPath() + " --to-org", need: roleOrgAdmin, who: a.caller, org: o.Name, orgRole: role})
}

func (a *app) printMove(mv store.AssetMove) error {
	l := a.listing()
	if l.format == "json" || l.format == "yaml" {
		return encode(l.w, l.format, mv)
	}
	fmt.Fprintf(a.stdout, "Moved asset %s from %s to %s", mv.Asset, mv.From, mv.To)
	if mv.Node != "" {
		fmt.Fprintf(a.stdout, " (node %s)", mv.Node)
	}
	fmt.Fprintln(a.stdout)
	for _, x := range []struct {
		what  string
		names []string
	}{
		{"accounts moved with it", mv.Accounts},
		{"grants of " + mv.From + " no longer name it", mv.Grants},
		{"filters of " + mv.From + " no longer name it", mv.Filters},
		{"templates of " + mv.From + " no longer tie its accounts", mv.Templates},
	} {
		if len(x.names) > 0 {
			fmt.Fprintf(a.stdout, "  %s: %s\n", x.what, joinComma(x.names))
		}
	}
	return nil
}
