package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/jms-bastion/jms/store"
)

// Shell completion of names, as kubectl does: `jmsctl completion bash`
// (zsh, fish, powershell) prints the script; then assets, users, groups,
// nodes, grants, filters, login rules, sessions (short ids), tickets,
// accounts and -o values complete from the data directory.
//
// Positional arguments complete by the placeholders of each command's
// Use line (NAME, USER, ASSET, GROUP, ID, USERNAME); flags by their
// names (--user, --rm-user, --asset …). One table decides both.

// nameLister lists the names of one kind, with a short description
// each ("name\tdescription", as cobra takes them). args are the
// arguments before the one being completed.
type nameLister func(ctx context.Context, s *store.Store, args []string) ([]string, error)

var listers = map[string]nameLister{
	"org": func(ctx context.Context, s *store.Store, _ []string) ([]string, error) {
		os, err := s.ListOrgs(ctx, "")
		return mapNames(os, err, func(o store.Org) string { return o.Name + "\t" + o.Comment })
	},
	"user": func(ctx context.Context, s *store.Store, _ []string) ([]string, error) {
		us, err := s.ListUsers(ctx)
		return mapNames(us, err, func(u store.User) string { return u.Name + "\t" + u.Role })
	},
	"group": func(ctx context.Context, s *store.Store, _ []string) ([]string, error) {
		gs, err := s.ListGroups(ctx)
		return mapNames(gs, err, func(g store.Group) string { return g.Name })
	},
	"asset": func(ctx context.Context, s *store.Store, _ []string) ([]string, error) {
		as, err := s.ListAssets(ctx, store.AssetQuery{})
		return mapNames(as, err, func(x store.Asset) string { return x.Name + "\t" + x.Address })
	},
	"node": func(ctx context.Context, s *store.Store, _ []string) ([]string, error) {
		ns, err := s.ListNodes(ctx)
		return mapNames(ns, err, func(n store.Node) string { return n.Path })
	},
	"grant": func(ctx context.Context, s *store.Store, _ []string) ([]string, error) {
		gs, err := s.ListGrants(ctx)
		return mapNames(gs, err, func(g store.Grant) string { return g.Name })
	},
	"filter": func(ctx context.Context, s *store.Store, _ []string) ([]string, error) {
		fs, err := s.ListFilters(ctx)
		return mapNames(fs, err, func(f store.Filter) string { return f.Name })
	},
	"acl": func(ctx context.Context, s *store.Store, _ []string) ([]string, error) {
		rs, err := s.ListLoginRules(ctx)
		return mapNames(rs, err, func(r store.LoginRule) string { return r.Name })
	},
	"session": func(ctx context.Context, s *store.Store, _ []string) ([]string, error) {
		ss, err := s.ListSessions(ctx, store.SessionQuery{Limit: 200})
		ids := make([]string, len(ss))
		for i, x := range ss {
			ids[i] = x.ID
		}
		short := uniquePrefixes(ids, minIDPrefix) // as the tables show them
		return mapNames(ss, err, func(x store.Session) string {
			return short[x.ID] + "\t" + x.User + "@" + x.Asset + " " + x.Status
		})
	},
	"ticket": func(ctx context.Context, s *store.Store, _ []string) ([]string, error) {
		ts, err := s.ListTickets(ctx, "pending")
		return mapNames(ts, err, func(t store.Ticket) string {
			return fmt.Sprintf("%d\t%s@%s", t.ID, t.User, t.Asset)
		})
	},
	// account usernames: on the asset named before, or on any asset.
	"account": func(ctx context.Context, s *store.Store, args []string) ([]string, error) {
		asset := ""
		if len(args) > 0 {
			asset = args[0]
		}
		as, err := s.ListAccounts(ctx, asset)
		names, err := mapNames(as, err, func(x store.Account) string { return x.Username })
		slices.Sort(names)
		return slices.Compact(names), err
	},
}

func mapNames[T any](items []T, err error, name func(T) string) ([]string, error) {
	if err != nil {
		return nil, err
	}
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = name(it)
	}
	return out, nil
}

// placeholderKinds maps a Use placeholder to the kind it names; NAME
// and ID take the kind of the noun they sit under.
var placeholderKinds = map[string]string{
	"USER": "user", "ASSET": "asset", "ORG": "org", "GROUP": "group", "USERNAME": "account",
}

// flagKinds maps a flag name (without add-/rm-/un-) to the kind of
// its values.
var flagKinds = map[string]string{
	"user": "user", "group": "group", "asset": "asset", "node": "node", "account": "account",
	"to-org": "org",
}

// completeTree attaches completion to every command of the tree.
func (a *app) completeTree(root *cobra.Command) {
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(
		[]string{"table", "wide", "json", "yaml", "csv"}, cobra.ShellCompDirectiveNoFileComp))
	walk(root, func(c *cobra.Command) {
		if kinds := argKinds(c); len(kinds) > 0 && c.ValidArgsFunction == nil {
			c.ValidArgsFunction = a.completeArgs(kinds)
		}
		c.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
			name := strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(f.Name, "add-"), "rm-"), "un")
			if kind, ok := flagKinds[name]; ok {
				_ = c.RegisterFlagCompletionFunc(f.Name, a.completeKind(kind))
			}
		})
	})
}

// argKinds reads the kinds of c's positional arguments off its Use
// line: "show NAME" under asset is [asset]; "add GROUP USER…" is
// [group, user…] (the last one repeats).
func argKinds(c *cobra.Command) []string {
	words := strings.Fields(c.Use)
	var kinds []string
	for _, w := range words[min(1, len(words)):] {
		w = strings.Trim(w, "[]")
		w, _, _ = strings.Cut(w, "|") // replay ID|FILE.cast
		if w == "" || !isPlaceholder(strings.TrimSuffix(w, "…")) {
			break
		}
		p := strings.TrimSuffix(w, "…")
		kind := placeholderKinds[p]
		if p == "NAME" || p == "ID" {
			kind = nounOf(c)
		}
		if kind == "" {
			kind = "-" // a file, a key: nothing to offer
		}
		if strings.HasSuffix(w, "…") {
			kind += "…"
		}
		kinds = append(kinds, kind)
	}
	return kinds
}

func isPlaceholder(w string) bool {
	return w != "" && strings.ToUpper(w) == w && strings.Trim(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == ""
}

// nounOf is the kind of the nearest noun above c ("asset" for
// `asset show`, "session" for `replay` and `session kill`).
func nounOf(c *cobra.Command) string {
	if c.Name() == "replay" {
		return "session"
	}
	for p := c.Parent(); p != nil; p = p.Parent() {
		if _, ok := listers[p.Name()]; ok {
			return p.Name()
		}
	}
	return ""
}

// completeArgs completes the next positional argument by its kind.
func (a *app) completeArgs(kinds []string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		i := min(len(args), len(kinds)-1)
		kind := kinds[i]
		if len(args) >= len(kinds) && !strings.HasSuffix(kind, "…") {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		kind = strings.TrimSuffix(kind, "…")
		if kind == "-" {
			return nil, cobra.ShellCompDirectiveDefault
		}
		names := a.names(cmd, kind, args)
		return slices.DeleteFunc(names, func(n string) bool {
			name, _, _ := strings.Cut(n, "\t")
			return slices.Contains(args, name)
		}), cobra.ShellCompDirectiveNoFileComp
	}
}

func (a *app) completeKind(kind string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if kind == "account" {
			args = nil // any asset's accounts for --account
		}
		return a.names(cmd, kind, args), cobra.ShellCompDirectiveNoFileComp
	}
}

// names lists the names of kind for completing cmd; completion fails
// quietly (nothing to offer) when the data directory cannot be read or
// the caller may not run cmd (over SSH: names are data too).
func (a *app) names(cmd *cobra.Command, kind string, args []string) []string {
	ctx := cmd.Context()
	if kind == "org" {
		return a.orgNames(ctx)
	}
	list := listers[kind]
	if list == nil {
		return nil
	}
	if a.checkPermission(cmd, args) != nil {
		return nil
	}
	s, err := a.openStore(ctx)
	if err != nil {
		return nil
	}
	names, err := list(ctx, s, args)
	if err != nil {
		return nil
	}
	return names
}
