package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// strictTree makes the whole command tree refuse what it does not know,
// so that a typo in a script fails instead of printing help and
// succeeding:
//   - a noun (a command with subcommands) given an unknown subcommand or
//     a stray argument is an error with "did you mean" suggestions; alone,
//     it prints its help;
//   - a leaf that declares no argument rule and whose Use line names
//     no argument (NAME, [NAME…]) takes no arguments;
//   - every `rm` also answers to `delete` and `remove`.
func strictTree(root *cobra.Command) {
	walk(root, func(c *cobra.Command) {
		c.SuggestionsMinimumDistance = 2
		switch {
		case c.HasSubCommands():
			if c.Run == nil && c.RunE == nil {
				c.Args = unknownSubcommand
				c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
			}
		case c.Args == nil && (c.Run != nil || c.RunE != nil) && len(argKinds(c)) == 0:
			// A leaf whose Use line names no argument takes none.
			c.Args = noArgs
		}
		if c.Name() == "rm" {
			for _, alias := range []string{"remove", "delete"} {
				if !slices.Contains(c.Aliases, alias) {
					c.Aliases = append(c.Aliases, alias)
				}
			}
		}
	})
}

func walk(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		walk(sub, fn)
	}
}

// unknownSubcommand is the argument rule of a noun: no arguments but
// one of its subcommands, which cobra has already routed to.
func unknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf(": did you mean %s?", quoteList(s))
	} else {
		msg += fmt.Sprintf(" (see %q)", cmd.CommandPath()+" --help")
	}
	return fmt.Errorf("%s", msg)
}

// noArgs is the argument rule of a leaf that takes none.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	return fmt.Errorf("%q takes no arguments, got %q (see %q)", cmd.CommandPath(), strings.Join(args, " "), cmd.CommandPath()+" --help")
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	switch len(q) {
	case 1:
		return q[0]
	case 2:
		return q[0] + " or " + q[1]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
