package transfer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/pkg/sftp"
	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/bastion/sessionerr"
	"github.com/jms-bastion/jms/store"
)

// SessionSFTP is the kind of the session row of an SFTP session.
const SessionSFTP = store.SessionSFTP

// Tuning of the SFTP client side, towards the assets.
const (
	// upstreamRequests is how many requests one file may have in flight
	// towards the asset (the sftp package's own default is 64).
	upstreamRequests = 64
	// upstreamReadBuffer is the buffer the replies of the asset are read
	// through (see newUpstreamClient).
	upstreamReadBuffer = 256 << 10
	// upstreamHandshakeTimeout bounds the start of SFTP on the asset
	// (INIT, VERSION and the limits): newUpstreamClient's timeout.
	upstreamHandshakeTimeout = 30 * time.Second
)

// newUpstreamClient starts the SFTP subsystem on conn and returns the
// client with the READ and WRITE size it uses (see upstreamHandshake).
// It is sftp.NewClient but for two things. The reader: x/crypto/ssh
// answers every Read of a channel with a window adjustment (a packet of
// its own, encrypted and written), and the sftp client reads each packet
// in two (its length, then the rest); reading through a buffer takes all
// that is pending at once, so one adjustment covers many packets. And
// the handshake, done before pkg/sftp's, which learns the asset's limits.
func newUpstreamClient(conn *gossh.Client, timeout time.Duration) (*sftp.Client, int, error) {
	s, err := conn.NewSession()
	if err != nil {
		return nil, 0, err
	}
	w, err := s.StdinPipe()
	if err != nil {
		s.Close()
		return nil, 0, err
	}
	r, err := s.StdoutPipe()
	if err != nil {
		s.Close()
		return nil, 0, err
	}
	if err := s.RequestSubsystem("sftp"); err != nil {
		s.Close()
		return nil, 0, err
	}
	br := bufio.NewReaderSize(r, upstreamReadBuffer)
	// An asset that never answers would hold the folder (and its lock)
	// for good: closing the session ends the handshake's reads.
	timer := time.AfterFunc(timeout, func() { s.Close() })
	version, size, err := upstreamHandshake(br, w)
	if !timer.Stop() {
		return nil, 0, fmt.Errorf("the asset's SFTP server did not answer within %s", timeout)
	}
	if err != nil {
		s.Close()
		return nil, 0, err
	}
	c, err := sftp.NewClientPipe(replayVersion(version, br), &dropInit{w: w},
		sftp.UseConcurrentReads(true),
		sftp.UseConcurrentWrites(true),
		sftp.MaxConcurrentRequestsPerFile(upstreamRequests),
		sftp.MaxPacketUnchecked(size),
	)
	if err != nil {
		s.Close()
		return nil, 0, err
	}
	return c, size, nil
}

// SFTPRequest is one SFTP subsystem to serve.
type SFTPRequest struct {
	User   string // the bastion user
	Source string // the client's address
	// Asset is the asset the login named (`alice@web1`): the session
	// then shows that asset's filesystem only, relative paths from the
	// account's home. Nil means the virtual root, one folder per asset.
	Asset *store.Access
	// Account is the account the login named (`alice@root@web1`); ""
	// when none was named.
	Account string
	// Stderr, when set, receives the lines a person should read (e.g. an
	// asset that cannot be reached): OpenSSH's sftp prints them.
	Stderr io.Writer
	// OnStart, when set, is called once the session's row exists: the
	// server's live-session registry can then end it.
	OnStart func(SFTPSession)
}

// SFTPSession is an SFTP session that started, as the live-session
// registry needs it.
type SFTPSession struct {
	ID string
	// AssetID, Asset and Account are the asset and account the login
	// named; zero and "" for the virtual root.
	AssetID int64
	Asset   string
	Account string
	// Needs returns the actions the session needs of its grant now: those
	// of its open files (upload for a file open to write, download for one
	// open to read).
	Needs func() []string
	// LastActive returns when the client last sent a request.
	LastActive func() time.Time
}

// ServeSFTP serves the SFTP protocol on ch until the client ends it or
// ctx is done. Errors a person should read before the session starts
// are *UserError; the session row (kind sftp) is kept in the store.
func (s *Service) ServeSFTP(ctx context.Context, ch io.ReadWriteCloser, req SFTPRequest) error {
	v, ns, err := s.newVFS(ctx, req)
	if err != nil {
		return err
	}
	if _, err := s.st.StartSession(ctx, ns); err != nil {
		return fmt.Errorf("sftp session %s: record its start: %w", v.id, err)
	}
	if req.OnStart != nil {
		live := SFTPSession{ID: v.id, Needs: v.needs, LastActive: v.lastActive}
		if v.direct != nil {
			live.AssetID, live.Asset, live.Account = v.direct.asset.ID, v.direct.asset.Name, v.direct.account
		}
		req.OnStart(live)
	}
	end := store.SessionEnd{Status: store.StatusClosed}
	defer v.finish(ctx, &end)
	v.log.Info("sftp session starting", "source", req.Source, "asset", ns.Asset, "account", ns.Account, "folders", len(v.folders))
	opts, err := v.startDirect(ctx)
	if err != nil {
		end.Status, end.Reason = store.StatusFailed, errText(err)
		return err
	}
	v.ctx = ctx
	end.Reason = v.serve(ctx, ch, opts)
	if errors.Is(context.Cause(ctx), sessionerr.ErrKilled) {
		end.Status = store.StatusKilled
	}
	return nil
}

// newVFS builds the session's filesystem and its row: the asset the
// login named, or the virtual root of the assets granted now.
func (s *Service) newVFS(ctx context.Context, req SFTPRequest) (*vfs, store.NewSession, error) {
	v := &vfs{
		s:         s,
		user:      req.User,
		id:        uuid.NewString(),
		stderr:    req.Stderr,
		started:   s.now(),
		folders:   map[string]*folder{},
		openFiles: map[string]int{},
	}
	v.touch()
	if v.stderr == nil {
		v.stderr = io.Discard
	}
	ns := store.NewSession{ID: v.id, Kind: SessionSFTP, User: req.User, Source: req.Source, StartedAt: v.started, Command: "sftp", Node: s.node}
	if req.Asset != nil {
		ga, err := directAccount(req.User, *req.Asset, req.Account)
		if err != nil {
			return nil, ns, err
		}
		v.direct = &folder{name: req.Asset.Asset.Name, asset: req.Asset.Asset, account: ga.Username}
		ns.AssetID, ns.Asset, ns.Account = req.Asset.Asset.ID, req.Asset.Asset.Name, ga.Username
		ns.Command = "sftp " + ga.Username + "@" + req.Asset.Asset.Name
	} else {
		list, err := s.st.AuthorizedAssets(ctx, req.User, s.now())
		if err != nil && !errors.Is(err, store.ErrDenied) {
			return nil, ns, fmt.Errorf("sftp: the assets of %s: %w", req.User, err)
		}
		v.setFolders(list)
	}
	v.log = s.log.With("session", v.id, "user", req.User, "kind", SessionSFTP)
	return v, ns, nil
}

// startDirect dials the asset a login named at once (the session is
// about it only) and returns the options that start relative paths in
// the account's home. For the virtual root it does nothing.
func (v *vfs) startDirect(ctx context.Context) ([]sftp.RequestServerOption, error) {
	opts := []sftp.RequestServerOption{sftp.WithRSAllocator(), sftp.WithRSMaxTxPacket(sftpMaxData)}
	if v.direct == nil {
		return opts, nil
	}
	c, err := v.client(ctx, v.direct, "/")
	if err != nil {
		return nil, err
	}
	home, err := c.Getwd()
	if err != nil || !strings.HasPrefix(home, "/") {
		home = "/"
	}
	v.home = home
	return append(opts, sftp.WithStartDirectory(home)), nil
}

// serve runs the SFTP request server on ch until the client ends the
// session or ctx is done, and returns why it ended.
func (v *vfs) serve(ctx context.Context, ch io.ReadWriteCloser, opts []sftp.RequestServerOption) string {
	h := sftp.Handlers{FileGet: v, FilePut: v, FileCmd: v, FileList: v}
	// The request server closes what it serves when done; the channel
	// must stay open for the exit status, so it gets a Close of its own.
	// Between the two, the limits shim lets OpenSSH's client use
	// requests of up to sftpMaxData bytes.
	rs := sftp.NewRequestServer(keepOpen{newLimitsShim(active{ch, v})}, h, opts...)
	stop := context.AfterFunc(ctx, func() { ch.Close() })
	defer stop()
	err := rs.Serve()
	switch {
	case ctx.Err() != nil:
		return "ended: " + errText(context.Cause(ctx))
	case err != nil && !errors.Is(err, io.EOF):
		return "connection lost: " + err.Error()
	}
	return "client ended the session"
}

// finish closes the session's connections and records its end.
func (v *vfs) finish(ctx context.Context, end *store.SessionEnd) {
	v.closeAll()
	end.EndedAt = v.s.now()
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := v.s.st.EndSession(ectx, v.id, *end); err != nil {
		v.log.Error("cannot record the end of the session", "err", err)
	}
	v.log.Info("sftp session ended", "status", end.Status, "reason", end.Reason)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// directAccount picks the account of a login that named an asset: the
// one named, or the only one with a file action.
func directAccount(user string, acc store.Access, name string) (store.GrantedAccount, error) {
	accounts := fileAccounts(acc)
	asset := acc.Asset.Name
	if name != "" {
		for _, g := range accounts {
			if g.Username == name {
				return g, nil
			}
		}
		return store.GrantedAccount{}, userErrorf(nil, "jms: no file access to %s as %q for %s", asset, name, user)
	}
	switch len(accounts) {
	case 0:
		return store.GrantedAccount{}, userErrorf(nil, "jms: no file access to %s for %s", asset, user)
	case 1:
		return accounts[0], nil
	}
	names := make([]string, len(accounts))
	for i, g := range accounts {
		names[i] = g.Username
	}
	return store.GrantedAccount{}, userErrorf(nil, "jms: several accounts on %s (%s): name one, e.g. sftp %s@%s@%s@bastion",
		asset, strings.Join(names, ", "), user, names[0], asset)
}

// folderNames names the folders of the virtual root: an asset with one
// account with file access is `/web1`; with several, each account is a
// folder of its own, `/web1@deploy` and `/web1@root`. A name that assets
// of several of her organizations have is prefixed with the org:
// `/team-a:web1` and `/team-b:web1`.
func folderNames(list []store.Access) map[string]*folder {
	orgsOf := map[string]map[string]bool{}
	for _, acc := range list {
		if orgsOf[acc.Asset.Name] == nil {
			orgsOf[acc.Asset.Name] = map[string]bool{}
		}
		orgsOf[acc.Asset.Name][acc.Org] = true
	}
	out := map[string]*folder{}
	for _, acc := range list {
		accounts := fileAccounts(acc)
		for _, g := range accounts {
			name := acc.Asset.Name
			if len(orgsOf[name]) > 1 {
				name = acc.Org + ":" + name
			}
			if len(accounts) > 1 {
				name += "@" + g.Username
			}
			out[name] = &folder{name: name, asset: acc.Asset, account: g.Username}
		}
	}
	return out
}

func (v *vfs) setFolders(list []store.Access) {
	v.folders = folderNames(list)
	v.order = make([]string, 0, len(v.folders))
	for name := range v.folders {
		v.order = append(v.order, name)
	}
	sort.Strings(v.order)
}

// folder is one asset (as one account) in the session, connected at
// first use and kept for the rest of the session.
type folder struct {
	name    string // in the virtual root
	asset   store.Asset
	account string

	mu   sync.Mutex
	conn *gossh.Client
	c    *sftp.Client
	dead chan struct{} // closed when conn ends
}

// vfs is one SFTP session: the pkg/sftp request handlers over the
// folders.
type vfs struct {
	s       *Service
	ctx     context.Context
	log     *slog.Logger
	user    string
	id      string
	stderr  io.Writer
	started time.Time

	direct *folder // set when the login named an asset
	home   string  // the account's home on it

	folders map[string]*folder // the virtual root
	order   []string           // sorted names of folders

	mu        sync.Mutex
	openFiles map[string]int  // open files by the action they need
	told      map[string]bool // lines already written on stderr (tellOnce)

	lastNano atomic.Int64 // when the client last sent something, unix nanoseconds
}

// touch notes that the client sent something now (on the real clock, as
// the idle watch reads it).
func (v *vfs) touch() { v.lastNano.Store(time.Now().UnixNano()) }

func (v *vfs) lastActive() time.Time { return time.Unix(0, v.lastNano.Load()) }

// active notes every read of the client's requests as activity.
type active struct {
	io.ReadWriteCloser
	v *vfs
}

func (a active) Read(p []byte) (int, error) {
	n, err := a.ReadWriteCloser.Read(p)
	if n > 0 {
		a.v.touch()
	}
	return n, err
}

// needs returns the actions the open files need, for the live-session
// registry.
func (v *vfs) needs() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for a, n := range v.openFiles {
		if n > 0 {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

// opened counts a file open for action (+1) or closed (-1).
func (v *vfs) opened(action string, delta int) {
	v.mu.Lock()
	v.openFiles[action] += delta
	v.mu.Unlock()
}

// client returns the folder's SFTP client, connecting first when needed.
// A dial failure is told on stderr and audited.
func (v *vfs) client(ctx context.Context, f *folder, p string) (*sftp.Client, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.c != nil {
		select {
		case <-f.dead:
			f.c.Close()
			f.c, f.conn = nil, nil
		default:
			return f.c, nil
		}
	}
	acc, ga, err := v.grant(ctx, f, OpConnect)
	if err != nil {
		return nil, err
	}
	conn, err := v.s.dial.Dial(ctx, acc.Asset, ga)
	if err != nil {
		msg := fmt.Sprintf("jms: cannot connect to %s as %s (the bastion's log has the details)", f.asset.Name, f.account)
		var ue *UserError
		if errors.As(err, &ue) {
			msg = ue.Msg
		}
		v.log.Warn("cannot connect to the asset", "asset", f.asset.Name, "account", f.account, "err", err)
		v.event(ctx, f, OpConnect, p, 0, ResultFailed, msg)
		fmt.Fprintln(v.stderr, msg)
		return nil, &UserError{Msg: msg, Err: &statusError{msg: msg, code: sftp.ErrSSHFxNoConnection}}
	}
	c, size, err := newUpstreamClient(conn, upstreamHandshakeTimeout)
	if err != nil {
		conn.Close()
		msg := fmt.Sprintf("jms: %s has no SFTP server for %s: %v", f.asset.Name, f.account, err)
		v.log.Warn("cannot start SFTP on the asset", "asset", f.asset.Name, "account", f.account, "err", err)
		v.event(ctx, f, OpConnect, p, 0, ResultFailed, msg)
		fmt.Fprintln(v.stderr, msg)
		return nil, &statusError{msg: msg, code: sftp.ErrSSHFxNoConnection}
	}
	f.conn, f.c, f.dead = conn, c, make(chan struct{})
	dead := f.dead
	go func() {
		conn.Wait()
		close(dead)
	}()
	v.log.Info("connected to the asset", "asset", f.asset.Name, "account", f.account, "request_size", size)
	return c, nil
}

// closeAll ends the folders' connections.
func (v *vfs) closeAll() {
	all := slices.Collect(func(yield func(*folder) bool) {
		for _, f := range v.folders {
			if !yield(f) {
				return
			}
		}
	})
	if v.direct != nil {
		all = append(all, v.direct)
	}
	for _, f := range all {
		f.mu.Lock()
		if f.c != nil {
			f.c.Close()
			f.conn.Close()
			<-f.dead
			f.c, f.conn = nil, nil
		}
		f.mu.Unlock()
	}
}

// grant returns the asset and the account as granted now, with every one
// of actions (none: any file action), through store.Authorize: a grant
// that expired, was removed or lost an action since the session started
// ends access at the next operation.
func (v *vfs) grant(ctx context.Context, f *folder, op string, actions ...string) (store.Access, store.GrantedAccount, error) {
	acc, err := v.s.st.Authorize(ctx, store.AuthzQuery{User: v.user, AssetID: f.asset.ID, Account: f.account, Actions: actions, At: v.s.now()})
	if de, isDenied := store.IsDenied(err); isDenied {
		return store.Access{}, store.GrantedAccount{}, denied(refusalWhy(de, op, f))
	}
	if err != nil {
		return store.Access{}, store.GrantedAccount{}, fmt.Errorf("authorize %s on %s: %w", v.user, f.asset.Name, err)
	}
	ga := acc.Accounts[0]
	if len(actions) == 0 && !canFiles(ga) {
		return store.Access{}, store.GrantedAccount{}, denied(fmt.Sprintf("%s on %s is no longer granted", f.account, f.asset.Name))
	}
	return acc, ga, nil
}

// refusalWhy says what a refusal of op on f lacks, for the person and
// the audit; de is nil when the store named nothing (a disabled user).
func refusalWhy(de *store.DeniedError, op string, f *folder) string {
	switch {
	case de != nil && len(de.Missing) > 0:
		return fmt.Sprintf("%s needs the %s action on %s as %s", op, strings.Join(de.Missing, ", "), f.asset.Name, f.account)
	case de != nil && de.Asset != "":
		return fmt.Sprintf("%s on %s is no longer granted", f.account, f.asset.Name)
	}
	return fmt.Sprintf("%s is no longer granted", f.asset.Name)
}

// deniedError is a refusal: the client sees SSH_FX_PERMISSION_DENIED.
type deniedError struct{ why string }

func (e *deniedError) Error() string { return "jms: permission denied: " + e.why }
func (e *deniedError) Unwrap() error { return sftp.ErrSSHFxPermissionDenied }

func denied(why string) error { return &deniedError{why: why} }

// event records one transfer event of the session.
func (v *vfs) event(ctx context.Context, f *folder, op, p string, size int64, result, detail string) {
	e := store.TransferEvent{SessionID: v.id, User: v.user, Operation: op, Path: p, Size: size, Result: result, Detail: detail}
	if f != nil {
		e.AssetID, e.Asset, e.Account = f.asset.ID, f.asset.Name, f.account
	}
	v.s.audit(ctx, e)
}

// keepOpen hides the Close of a channel from the SFTP request server.
type keepOpen struct{ io.ReadWriter }

func (keepOpen) Close() error { return nil }
