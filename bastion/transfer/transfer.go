// Package transfer moves files and forwarded connections through the
// bastion: an SFTP server whose root holds one folder per granted asset
// (or, when the login names an asset, that asset's own filesystem), the
// checks of rsync and legacy scp commands, and direct-tcpip forwarding
// under a grant's forward action. Every operation, every open file (again
// every few seconds while it moves bytes) and every forward is authorized
// by store.Authorize against the grant actions (upload, download, delete,
// forward) and written to the transfer audit; SFTP sessions and forwards
// are session rows of their own.
package transfer

import (
	"context"
	"log/slog"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/bastion/sessionerr"
	"github.com/jms-bastion/jms/metrics"
	"github.com/jms-bastion/jms/store"
)

// Store is what file transfer needs of the store; *store.Store
// satisfies it.
type Store interface {
	AuthorizedAssets(ctx context.Context, user string, at time.Time) ([]store.Access, error)
	AddTransferEvent(ctx context.Context, e store.TransferEvent) (int64, error)
	StartSession(ctx context.Context, ns store.NewSession) (store.Session, error)
	EndSession(ctx context.Context, id string, end store.SessionEnd) error
	Authorize(ctx context.Context, q store.AuthzQuery) (store.Access, error)
}

// Dialer opens an SSH connection to an asset as one of its accounts,
// checking the pinned host key; *proxy.Proxy satisfies it. Errors a
// person should read are *sessionerr.UserError.
type Dialer interface {
	Dial(ctx context.Context, asset store.Asset, account store.GrantedAccount) (*gossh.Client, error)
}

// Service serves file transfers and forwarded connections. It is safe
// for concurrent use.
type Service struct {
	st   Store
	dial Dialer
	log  *slog.Logger
	now  func() time.Time
	// recheck is how long the grant check of an open file holds before
	// its I/O checks again (defaultRecheck).
	recheck time.Duration
	node    string           // the cluster node name the session rows carry
	metrics *metrics.Metrics // relayed bytes; nil counts nothing
}

// SetNode names the cluster node whose session rows the service
// writes. Call it before serving.
func (s *Service) SetNode(name string) { s.node = name }

// SetMetrics makes the service count the bytes it moves (SFTP reads
// and writes, forwarded bytes) in m. Call it before serving.
func (s *Service) SetMetrics(m *metrics.Metrics) { s.metrics = m }

// New returns a Service. A nil logger discards; a nil now is time.Now.
func New(st Store, d Dialer, logger *slog.Logger, now func() time.Time) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Service{st: st, dial: d, log: logger, now: now, recheck: defaultRecheck}
}

// UserError is what a person is told when she is refused.
type UserError = sessionerr.UserError

func userErrorf(err error, format string, args ...any) *UserError {
	return sessionerr.Userf(err, format, args...)
}

// fileActions are the actions that give access to an account's files.
var fileActions = []string{store.ActionUpload, store.ActionDownload, store.ActionDelete}

// canFiles reports whether the account has any file action.
func canFiles(g store.GrantedAccount) bool {
	for _, a := range fileActions {
		if g.Can(a) {
			return true
		}
	}
	return false
}

// fileAccounts returns the accounts on acc with a file action.
func fileAccounts(acc store.Access) []store.GrantedAccount {
	var out []store.GrantedAccount
	for _, g := range acc.Accounts {
		if canFiles(g) {
			out = append(out, g)
		}
	}
	return out
}

// audit records a transfer event; a failure to record is logged.
func (s *Service) audit(ctx context.Context, e store.TransferEvent) {
	if e.At.IsZero() {
		e.At = s.now()
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := s.st.AddTransferEvent(actx, e); err != nil {
		s.log.Error("cannot record a transfer event", "session", e.SessionID, "user", e.User, "operation", e.Operation, "err", err)
	}
}
