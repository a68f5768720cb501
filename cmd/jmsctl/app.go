package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/user"
	"strings"

	"github.com/jms-bastion/jms/config"
	"github.com/jms-bastion/jms/printable"
	"github.com/jms-bastion/jms/store"
)

// app is what every command shares: the I/O streams, the global flags
// and the lazily opened store.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	environ        []string

	dataDir   string
	database  string // --database: overrides the database setting
	output    string // table, json, yaml or csv
	wide      bool   // -o wide: a table with every column, whole
	noHeaders bool

	cfg   *config.Config
	store *store.Store // the view of the chosen organization (or of all)
	base  *store.Store // the store as opened, for closing
	// sharedStore says that base belongs to someone else (jmsctl serve,
	// for a command over SSH: remote.go): close leaves it open.
	sharedStore bool
	// orgName and orgRole are the organization the store's view is of
	// ("" with --all-orgs) and the caller's role in it, once resolved.
	orgName, orgRole string

	// caller is the person running the command over SSH (jmsctl inside
	// the bastion, see remote.go); nil for the local CLI, which is root
	// on the database and may do everything.
	caller *caller
	// org is --org (env JMS_ORG): the organization commands work in;
	// allOrgs is --all-orgs, for listings across every organization.
	org     string
	allOrgs bool
}

// caller is who runs a command over SSH.
type caller struct {
	user   string // the person's login name
	role   string // the person's system role: admin, auditor or user
	source string // the client's address
}

func newApp(stdin io.Reader, stdout, stderr io.Writer, environ []string) *app {
	return &app{stdin: stdin, stdout: stdout, stderr: stderr, environ: environ}
}

func (a *app) getenv(name string) string {
	for _, kv := range a.environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

// config loads the configuration of the data directory once.
func (a *app) config() (config.Config, error) {
	if a.cfg != nil {
		return *a.cfg, nil
	}
	c, err := config.Load(a.dataDir, a.environ)
	if err != nil {
		return c, err
	}
	if a.database != "" {
		if err := noPasswordInArgs("--database", a.database); err != nil {
			return c, err
		}
		c.Database = a.database
	}
	a.cfg = &c
	return c, nil
}

// openStore opens the data directory's store with its secret key and
// returns the view of the organization the command works in (--org,
// --all-orgs; see scope). The data directory must have been initialised.
func (a *app) openStore(ctx context.Context) (*store.Store, error) {
	if a.store != nil {
		return a.store, nil
	}
	s, err := a.openBase(ctx)
	if err != nil {
		return nil, err
	}
	view, err := a.scope(ctx, s)
	if err != nil {
		return nil, err
	}
	a.store = view
	return view, nil
}

// openBase opens the store as store.Open returns it, once.
func (a *app) openBase(ctx context.Context) (*store.Store, error) {
	if a.base != nil {
		return a.base, nil
	}
	cfg, err := a.config()
	if err != nil {
		return nil, err
	}
	if !isInitialised(cfg) {
		return nil, fmt.Errorf("no jms data in %s (run 'jmsctl init' or 'jmsctl serve', or pass --data-dir)", cfg.DataDir)
	}
	sealer, err := store.LoadSealer(cfg.DataDir, a.getenv(store.KeySourceEnv))
	if err != nil {
		return nil, err
	}
	envKey := a.getenv(store.KeySourceEnv)
	s, err := store.Open(ctx, cfg.StoreLocation(), store.Options{
		Sealer: sealer,
		// A `jmsctl secret rekey` in another process replaces the key
		// file: reload it when a secret names a key we do not hold.
		ReloadSealer: func() (*store.Sealer, error) { return store.LoadSealer(cfg.DataDir, envKey) },
	})
	if err != nil {
		return nil, err
	}
	a.base = s
	return s, nil
}

func (a *app) close() {
	if a.base != nil {
		if !a.sharedStore {
			a.base.Close()
		}
		a.base, a.store = nil, nil
	}
}

// actorContext marks ctx so that changes are audited as made by the OS
// user running jmsctl, or by the person running it over SSH.
func (a *app) actorContext(ctx context.Context) context.Context {
	if a.caller != nil {
		return store.WithActor(ctx, a.caller.actor())
	}
	return store.WithActor(ctx, osActor(a.getenv("SUDO_USER")))
}

func osActor(sudoUser string) string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if sudoUser != "" && sudoUser != name {
		return "os:" + name + " (sudo by " + sudoUser + ")"
	}
	return "os:" + name
}

func (a *app) logger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: l}))
}

// oneLine folds an error into the single line the CLI contract wants,
// its control characters written out: errors quote names, values of an
// import file and reasons that came from people.
func oneLine(err error) string {
	return printable.Escape(strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " "))
}
