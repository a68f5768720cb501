package main

import (
	"context"
	"fmt"
	"io"
	"path"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/printable"
	"github.com/jms-bastion/jms/store"
)

func newNodeCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "node",
		Short: "The asset tree (nodes are made from asset paths such as /prod/web)",
		Example: `  jmsctl node list
  jmsctl node prune`,
	}
	cmd.AddCommand(newNodeListCmd(a), newNodePruneCmd(a))
	return cmd
}

func newNodeListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls", "tree"},
		Short:   "Draw the asset tree with asset counts (-o json|yaml|csv: the flat list)",
		Long: `list draws the node tree. Each node shows the assets in it and below it;
"(n here)" counts those directly in the node. -o json, yaml or csv give the
flat list with path, assets (directly in the node) and total (with descendants).`,
		Example: `  jmsctl node list
  jmsctl node list -o csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			rows, err := inOrgs(cmd.Context(), a, s, func(v *store.Store) ([]store.Node, error) { return v.ListNodes(cmd.Context()) })
			if err != nil {
				return err
			}
			if a.output != "table" {
				return renderInOrgs(a.listing(), rows, []column[store.Node]{
					{"path", func(n store.Node) string { return n.Path }},
					{"assets", func(n store.Node) string { return strconv.Itoa(n.Assets) }},
					{"total", func(n store.Node) string { return strconv.Itoa(n.Total) }},
				})
			}
			return a.drawTrees(cmd.Context(), s, rows)
		},
	}
}

// drawTrees draws the node tree of the view's organization, or with
// --all-orgs one tree per organization under its name.
func (a *app) drawTrees(ctx context.Context, s *store.Store, rows []inOrg[store.Node]) error {
	if _, one := s.ScopeOrg(); one {
		total, err := s.CountAssets(ctx)
		if err != nil {
			return err
		}
		drawTree(a.stdout, untag(rows), total)
		return nil
	}
	orgs, err := s.ListOrgs(ctx, "")
	if err != nil {
		return err
	}
	for _, o := range orgs {
		var nodes []store.Node
		for _, r := range rows {
			if r.Org == o.Name {
				nodes = append(nodes, r.Item)
			}
		}
		fmt.Fprintf(a.stdout, "org %s:\n", o.Name)
		drawTree(a.stdout, nodes, o.Assets)
	}
	return nil
}

func untag[T any](rows []inOrg[T]) []T {
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = r.Item
	}
	return out
}

func plural(n int, one string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + one + "s"
}

// drawTree writes the nodes (sorted parent first, as ListNodes returns
// them) as a tree under "/".
func drawTree(w io.Writer, nodes []store.Node, total int) {
	children := map[string][]store.Node{}
	for _, n := range nodes {
		p := path.Dir(n.Path)
		children[p] = append(children[p], n)
	}
	direct := total
	for _, n := range children["/"] {
		direct -= n.Total
	}
	label := func(count, here int, hasChildren bool) string {
		s := plural(count, "asset")
		if hasChildren && here > 0 {
			s += fmt.Sprintf(", %d here", here)
		}
		return "(" + s + ")"
	}
	fmt.Fprintf(w, "/ %s\n", label(total, direct, len(children["/"]) > 0))
	var walk func(parent, prefix string)
	walk = func(parent, prefix string) {
		kids := children[parent]
		for i, n := range kids {
			branch, next := "├── ", "│   "
			if i == len(kids)-1 {
				branch, next = "└── ", "    "
			}
			fmt.Fprintf(w, "%s%s%s %s\n", prefix, branch, printable.Escape(path.Base(n.Path)), label(n.Total, n.Assets, len(children[n.Path]) > 0))
			walk(n.Path, prefix+next)
		}
	}
	walk("/", "")
}

func newNodePruneCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "prune",
		Short:   "Remove nodes that hold no asset and that no grant or filter names",
		Example: `  jmsctl node prune`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			n, err := s.PruneNodes(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Removed %s\n", plural(n, "empty node"))
			return nil
		},
	}
}
