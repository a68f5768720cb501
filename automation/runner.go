package automation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/sshdial"
	"github.com/jms-bastion/jms/store"
)

// Config tunes a Runner.
type Config struct {
	// HostKeyPolicy and ConnectTimeout are the bastion's (config.go).
	HostKeyPolicy  string
	ConnectTimeout time.Duration
	// AssetTimeout bounds each part of the work on an asset (default
	// 2 min): the login and platform detection, then each account's
	// work. A slow asset ends failed without holding up the others.
	AssetTimeout time.Duration
	// Parallel is how many assets are worked on at once (default 20).
	Parallel int
	// Progress, when set, is called with each row as it is done.
	Progress func(Result)
	Log      *slog.Logger
}

// Runner runs account automation against assets. Safe for concurrent
// use.
type Runner struct {
	st   *store.Store
	cfg  Config
	dial sshdial.Dialer
	log  *slog.Logger
}

// New returns a Runner on st.
func New(st *store.Store, cfg Config) *Runner {
	if cfg.AssetTimeout <= 0 {
		cfg.AssetTimeout = 2 * time.Minute
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 20
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Runner{st: st, cfg: cfg, log: log,
		dial: sshdial.Dialer{Keys: st, Policy: cfg.HostKeyPolicy, Timeout: cfg.ConnectTimeout, Log: log}}
}

// inOrg returns a copy of r that works in the organization id (a job's).
func (r *Runner) inOrg(id int64) *Runner {
	c := *r
	c.st = r.st.InOrg(id)
	c.dial.Keys = c.st
	return &c
}

// forEach runs fn on each item, at most Parallel at once, started in
// the items' order, and returns the rows in that order.
func forEach[T any](ctx context.Context, r *Runner, items []T, fn func(context.Context, T) []Result) []Result {
	out := make([][]Result, len(items))
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range min(r.cfg.Parallel, len(items)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				rows := fn(ctx, items[i])
				out[i] = rows
				if r.cfg.Progress != nil {
					mu.Lock()
					for _, row := range rows {
						r.cfg.Progress(row)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range items {
		next <- i
	}
	close(next)
	wg.Wait()
	var all []Result
	for _, rows := range out {
		all = append(all, rows...)
	}
	return all
}

// bounded returns ctx bounded by the AssetTimeout.
func (r *Runner) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.cfg.AssetTimeout)
}

// dialFailure is the row of a failed dial.
func dialFailure(err error) (Status, string) {
	var de *sshdial.Error
	if !errors.As(err, &de) {
		return StatusFailed, firstLine(err.Error())
	}
	switch de.Kind {
	case sshdial.Unreachable, sshdial.Canceled:
		return StatusUnreachable, de.Reason
	case sshdial.AuthFailed:
		return StatusAuthFailed, de.Reason
	case sshdial.HostKeyMismatch:
		return StatusHostKeyMismatch, de.Reason
	}
	return StatusFailed, de.Reason
}

// privileged is a session on an asset as its privileged account.
type privileged struct {
	client *gossh.Client
	remote remote
}

// connectPrivileged logs in to the asset as its privileged account. A
// failure is a row status and detail.
func (r *Runner) connectPrivileged(ctx context.Context, asset store.Asset) (*privileged, Status, string) {
	if asset.Platform != "linux" {
		return nil, StatusUnsupported, "platform " + asset.Platform
	}
	priv, err := r.st.PrivilegedAccount(ctx, asset.Name)
	if err != nil {
		return nil, StatusFailed, firstLine(err.Error())
	}
	client, err := r.login(ctx, asset, priv)
	if err != nil {
		st, detail := dialFailure(err)
		return nil, st, "privileged account " + priv.Username + ": " + detail
	}
	return &privileged{client: client, remote: &sshRemote{client: client, sudo: priv.Username != "root"}}, "", ""
}

// login logs in to the asset as a stored account with its secret.
func (r *Runner) login(ctx context.Context, asset store.Asset, acc store.Account) (*gossh.Client, error) {
	_, secret, err := r.st.AccountSecret(ctx, acc.ID)
	if err != nil {
		return nil, err
	}
	defer clear(secret)
	return r.loginWith(ctx, asset, acc.Username, acc.SecretKind, secret)
}

// loginWith logs in to the asset as user with a secret not (yet)
// stored.
func (r *Runner) loginWith(ctx context.Context, asset store.Asset, user, kind string, secret store.Secret) (*gossh.Client, error) {
	auth, cleanup, err := sshdial.AuthMethods(kind, secret)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	return r.dial.Dial(ctx, asset, user, auth)
}

// tryLogin reports whether user logs in with the secret; a refusal is
// (false, nil), anything else an error.
func (r *Runner) tryLogin(ctx context.Context, asset store.Asset, user, kind string, secret store.Secret) (bool, error) {
	c, err := r.loginWith(ctx, asset, user, kind, secret)
	if err == nil {
		c.Close()
		return true, nil
	}
	if sshdial.KindOf(err) == sshdial.AuthFailed {
		return false, nil
	}
	return false, err
}

// facts returns the asset's cached facts, gathering them the first time.
func (r *Runner) facts(ctx context.Context, asset store.Asset, rem remote) (store.AssetFacts, error) {
	f, ok, err := r.st.AssetFacts(ctx, asset.ID)
	if err != nil || ok {
		return f, err
	}
	if f, err = gatherFacts(ctx, rem); err != nil {
		return f, fmt.Errorf("detect the platform: %w", err)
	}
	if err := r.st.SetAssetFacts(ctx, asset.ID, f); err != nil {
		return f, err
	}
	r.log.Info("asset facts gathered", "asset", asset.Name, "os", f.OSID, "version", f.OSVersion, "family", f.OSFamily)
	return f, nil
}
