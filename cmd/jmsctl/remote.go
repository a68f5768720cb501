package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/bastion"
	"github.com/jms-bastion/jms/config"
	"github.com/jms-bastion/jms/store"
)

// remoteAdmin returns what runs `ssh carol@bastion jmsctl …` inside jmsctl
// serve (bastion.Deps.Admin): the command tree, on serve's own store and
// configuration, as carol.
func remoteAdmin(cfg config.Config, st *store.Store) bastion.AdminRunner {
	return func(ctx context.Context, req bastion.AdminRequest) int {
		return runRemote(ctx, cfg, st, req)
	}
}

// runRemote runs one command over SSH and returns its exit status: 0, or
// 1 with one line on stderr, as the local CLI does. The app is fresh and
// sees the channel's streams, serve's open store (which it does not
// close) and configuration, and no environment: nothing of the serve
// process's (JMS_DATA_DIR, JMS_SECRET_KEY …) leaks into the command.
func runRemote(ctx context.Context, cfg config.Config, st *store.Store, req bastion.AdminRequest) int {
	a := newApp(req.Stdin, req.Stdout, req.Stderr, nil)
	a.cfg, a.base, a.sharedStore = &cfg, st, true
	a.caller = &caller{user: req.User, role: req.Role, source: req.Source}
	defer a.close()
	root := newRootCmd(a)
	a.dataDir = cfg.DataDir
	lockRemoteFlags(root)
	// Never nil: cobra reads a nil slice as "take os.Args", which are
	// serve's own.
	root.SetArgs(append([]string{}, req.Args...))
	root.SetIn(req.Stdin)
	root.SetOut(req.Stdout)
	root.SetErr(req.Stderr)
	err := refuseLocal(root, req.Args)
	if err == nil {
		err = root.ExecuteContext(ctx)
	}
	if ctx.Err() != nil {
		// Ended by the bastion (Ctrl-C, the idle timeout, the channel
		// closed): what the command made of it is not the news.
		err = context.Cause(ctx)
	}
	if err != nil {
		fmt.Fprintln(req.Stderr, "Error: "+oneLine(err))
		return 1
	}
	return 0
}

// actor is how the operations audit names a change the caller made.
func (c *caller) actor() string {
	if c.source == "" {
		return "ssh:" + c.user
	}
	return "ssh:" + c.user + " from " + c.source
}

// refuseLocal refuses, over SSH and before anything of it runs, a command
// that runs on the local machine (isLocalOnly, or whose role is local in
// roles.go; itself or a parent). (Completion candidates, __complete, pass:
// they are names only of what the caller may run, complete.go.)
func refuseLocal(root *cobra.Command, args []string) error {
	cmd, _, err := root.Find(args)
	if err != nil || cmd == nil {
		return nil // unknown: the command tree says so itself
	}
	for c := cmd; c != nil && c != root; c = c.Parent() {
		if c.Annotations[roleAnnotation] == roleLocal || (c.Parent() == root && isLocalOnly(c)) {
			return fmt.Errorf("%s runs on the bastion machine itself, not over SSH", cmd.CommandPath())
		}
	}
	return nil
}

// isLocalOnly reports whether c (a child of the root) acts on the machine
// jmsctl runs on rather than on the bastion's data: refused over SSH
// whatever its annotations say.
func isLocalOnly(c *cobra.Command) bool {
	return slices.Contains([]string{"serve", "init", "db", "secret", "server"}, c.Name())
}

// lockRemoteFlags makes the global flags that would point the command
// at other data (--data-dir, --database) an error over SSH.
func lockRemoteFlags(root *cobra.Command) {
	for _, name := range []string{"data-dir", "database"} {
		if f := root.PersistentFlags().Lookup(name); f != nil {
			f.Value = refusedFlag{name: name, typ: f.Value.Type()}
		}
	}
}

// refusedFlag is a flag that may not be set over SSH.
type refusedFlag struct{ name, typ string }

func (f refusedFlag) String() string { return "" }
func (f refusedFlag) Type() string   { return f.typ }
func (f refusedFlag) Set(string) error {
	return fmt.Errorf("--%s is not available over SSH: jmsctl there works on the bastion's own data", f.name)
}

// localFile refuses, over SSH, a path that names a file on the bastion
// machine (to read a key or an import, to write a download): the
// caller's files are on her side of ssh, and serve's are not hers. "-"
// (stdin, where the command takes it) and the local CLI pass.
func (a *app) localFile(what, path string) error {
	if a.caller == nil || path == "" || path == "-" {
		return nil
	}
	return fmt.Errorf("%s %s: over SSH a command reads no file on the bastion machine; give - and pipe the file into ssh (or write stdout to a file on your side)", what, path)
}
