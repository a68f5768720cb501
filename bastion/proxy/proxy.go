// Package proxy carries one authorized session from a person to an asset:
// it dials the asset over SSH as the granted account (checking the pinned
// host key), bridges a shell or a command with its PTY, window changes,
// signals and exit status, records the session as asciicast v2 and keeps
// the session row in the store.
//
// Bytes pass untouched in both directions: the proxy never rewrites them,
// and stdout of an exec session carries nothing of the bastion's own. The
// command filters (filter.go) are the one exception: they may hold the
// Enter of a line, or replace it with ^C, and print their one-line
// messages (on stderr when there is no PTY).
package proxy

import (
	"context"
	"io"
	"log/slog"
	"time"

	"charm.land/ssh"

	"github.com/jms-bastion/jms/bastion/sessionerr"
	"github.com/jms-bastion/jms/metrics"
	"github.com/jms-bastion/jms/recorder"
	"github.com/jms-bastion/jms/store"
)

// Downstream is the person's side of one session; charm.land/ssh's
// ssh.Session satisfies it. The proxy never ends the channel (no EOF, no
// close): the server does, once it has sent the exit status, so that the
// status comes before EOF as sshd sends it.
type Downstream interface {
	io.ReadWriter // stdin / stdout of the channel
	Stderr() io.ReadWriter
	Pty() (ssh.Pty, <-chan ssh.Window, bool)
	Signals(c chan<- ssh.Signal)
	Environ() []string
}

// ReadInterrupter may be implemented by a Downstream whose blocked Read can
// be made to return early. Run reads the Downstream until the session
// ends; a Read still blocked then is left to return on its own (its bytes
// are dropped), unless the Downstream implements ReadInterrupter: then Run
// calls InterruptRead and waits for that Read to return before it returns,
// so that a menu reading the same channel afterwards loses no keystroke.
type ReadInterrupter interface {
	InterruptRead()
}

// InputPusher may be implemented by a Downstream that reads its input in
// a goroutine of its own anyway (the server's terminal): Run then hands
// it a sink instead of reading, and carries the person's input to the
// asset in that goroutine, so that an idle session has no goroutine of
// its own waiting for keystrokes. PushInput calls sink with each chunk
// read (p is reused once sink returns) and, once input ends, with the
// read error (io.EOF); one call at a time. StopInput removes the sink:
// once it returns, sink is not called any more and input goes back to
// Read. Run calls StopInput before it returns.
type InputPusher interface {
	PushInput(sink func(p []byte, err error))
	StopInput()
}

// Request is a session the server has already authenticated and
// authorized.
type Request struct {
	User    string // bastion user name
	Source  string // client address host:port
	Asset   store.Asset
	Account store.GrantedAccount // the granted account to log in as
	Command string               // raw exec command; "" means an interactive shell

	// OnStart, when set, is called with the session row once it exists
	// (before the asset is dialed), e.g. to list it in a live registry.
	OnStart func(store.Session)
}

// Store is what the proxy needs of the store (*store.Store satisfies it).
type Store interface {
	AccountSecret(ctx context.Context, id int64) (store.Account, store.Secret, error)
	// PinAssetHostKey pins an asset's host key at first use (tofu), in
	// the asset's organization.
	PinAssetHostKey(ctx context.Context, assetID int64, key string) error
	StartSession(ctx context.Context, ns store.NewSession) (store.Session, error)
	EndSession(ctx context.Context, id string, end store.SessionEnd) error

	// Command filtering and its audit.
	FiltersFor(ctx context.Context, user string, assetID int64, account string) ([]store.Filter, error)
	AddCommandEvent(ctx context.Context, e store.CommandEvent) (int64, error)
	AddTicket(ctx context.Context, nt store.NewTicket) (store.Ticket, error)
	TicketStatus(ctx context.Context, id int64) (store.TicketDecision, error)
	CancelTicket(ctx context.Context, id int64, why string) (store.Ticket, error)
}

// Config tunes the proxy. Zero values take the defaults noted.
type Config struct {
	// RecordingsDir holds the recordings, one folder per day.
	RecordingsDir string
	// Node is the cluster node name the session rows carry.
	Node string
	// DataDir, when set and holding RecordingsDir, makes the recording
	// paths kept in session rows relative to it.
	DataDir string
	// HostKeyPolicy is "tofu" (default: pin an asset's key at first
	// connect) or "require" (refuse until an admin pinned one).
	HostKeyPolicy string
	// ConnectTimeout bounds the TCP connect and the SSH handshake with the
	// asset (default 10 s).
	ConnectTimeout time.Duration
	// Keepalive is the interval of keepalives to the asset (default 30 s,
	// negative turns them off); three unanswered ones end the session.
	Keepalive time.Duration
	// SeparateConnections gives each session a connection to the asset
	// of its own (reuse_connections: false). By default a session opens
	// its channel on a live connection of the same person to the same
	// asset as the same account, when there is one.
	SeparateConnections bool
	// RecordInput records what people type ("i" events).
	RecordInput bool
	// RecordingFailure is "close" (default: end the session when its
	// recording cannot be written) or "continue".
	RecordingFailure string
	// SpoolFull, when set, says why no new recording may begin (the
	// recording spool is over spool_max); a new session then follows
	// RecordingFailure as when its recording cannot be created.
	SpoolFull func() error
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Metrics count relayed and recorded bytes and verdicts; nil none.
	Metrics *metrics.Metrics

	// EchoSettle is how long the asset must be quiet after echoing a line
	// before the line is read off the screen and judged, when filters
	// apply (default 30 ms); EchoDeadline bounds that wait (default
	// 300 ms: an asset that does not echo, at a password prompt, is not
	// waited for longer). Both delay only the Enter key.
	EchoSettle   time.Duration
	EchoDeadline time.Duration
	// ReviewTimeout is how long a command held for review waits for a
	// decision before its ticket is canceled (default 5 minutes);
	// ReviewPoll is how often the ticket is looked at (default 250 ms).
	ReviewTimeout time.Duration
	ReviewPoll    time.Duration
}

// Defaults.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultKeepalive      = 30 * time.Second
	// keepaliveMax unanswered keepalives end the session, as OpenSSH's
	// ServerAliveCountMax.
	keepaliveMax = 3

	DefaultEchoSettle    = 30 * time.Millisecond
	DefaultEchoDeadline  = 300 * time.Millisecond
	DefaultReviewTimeout = 5 * time.Minute
	DefaultReviewPoll    = 250 * time.Millisecond
)

// ExitDenied is the exit status of an exec session whose command a filter
// denied (or whose review was rejected or canceled): nothing ran on the
// asset. It is the shell's "found but cannot execute", apart from the
// status 1 commands use for their own failures and from the 255 of an
// SSH error.
const ExitDenied = 126

// ExitLost is the exit status passed on when the session did not end with
// one of its own (the asset was unreachable or the connection was lost),
// as the OpenSSH client does.
const ExitLost = 255

func userErrorf(err error, format string, args ...any) *sessionerr.UserError {
	return sessionerr.Userf(err, format, args...)
}

// Proxy runs proxied sessions. It is safe for concurrent use.
type Proxy struct {
	cfg Config
	st  Store
	log *slog.Logger

	pool pool // the asset connections sessions share

	// createRecording makes a session's recording; tests replace it to
	// inject write failures.
	createRecording func(path string, h recorder.Header, o recorder.Options) (*recorder.Writer, error)
	// createRaw makes the raw stream file of a session without a PTY;
	// tests replace it too.
	createRaw func(path string, start time.Time, now func() time.Time) (*recorder.RawWriter, error)
}

// New returns a Proxy. A nil logger discards.
func New(cfg Config, st Store, logger *slog.Logger) *Proxy {
	if cfg.HostKeyPolicy == "" {
		cfg.HostKeyPolicy = "tofu"
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.Keepalive == 0 {
		cfg.Keepalive = DefaultKeepalive
	}
	if cfg.RecordingFailure == "" {
		cfg.RecordingFailure = "close"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.EchoSettle <= 0 {
		cfg.EchoSettle = DefaultEchoSettle
	}
	if cfg.EchoDeadline <= 0 {
		cfg.EchoDeadline = DefaultEchoDeadline
	}
	if cfg.ReviewTimeout <= 0 {
		cfg.ReviewTimeout = DefaultReviewTimeout
	}
	if cfg.ReviewPoll <= 0 {
		cfg.ReviewPoll = DefaultReviewPoll
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Proxy{cfg: cfg, st: st, log: logger, createRecording: recorder.CreateWith, createRaw: recorder.CreateRaw}
}
