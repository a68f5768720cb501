package bastion

import (
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/colorprofile"
	"go.uber.org/goleak"
	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/bastion/proxy"
	"github.com/jms-bastion/jms/bastion/sessionerr"
	"github.com/jms-bastion/jms/config"
	"github.com/jms-bastion/jms/recorder"
	"github.com/jms-bastion/jms/store"
)

// menuSession is an interactive session with a PTY whose output goes
// through a terminal emulator, as a person would see it.
type menuSession struct {
	t    *testing.T
	sess *gossh.Session
	in   io.Writer

	mu   sync.Mutex
	scr  *recorder.Screen
	raw  strings.Builder // every byte of stdout, escapes included
	errs strings.Builder
	done chan error
}

func startMenu(t *testing.T, c *gossh.Client, w, h int) *menuSession {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.RequestPty("xterm-256color", h, w, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	m := &menuSession{t: t, sess: s, scr: recorder.NewScreen(w, h), done: make(chan error, 1)}
	m.in, _ = s.StdinPipe()
	out, _ := s.StdoutPipe()
	errOut, _ := s.StderrPipe()
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		b := make([]byte, 32<<10)
		for {
			n, err := out.Read(b)
			m.mu.Lock()
			_, _ = m.scr.Write(b[:n])
			m.raw.Write(b[:n])
			m.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		b := make([]byte, 1024)
		for {
			n, err := errOut.Read(b)
			m.mu.Lock()
			m.errs.Write(b[:n])
			m.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() { err := s.Wait(); wg.Wait(); m.done <- err }()
	return m
}

func (m *menuSession) screen() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.scr.Text()
}

func (m *menuSession) rawOutput() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.raw.String()
}

func (m *menuSession) stderr() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.errs.String()
}

func (m *menuSession) waitScreen(want string) {
	m.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(m.screen(), want) {
		if time.Now().After(deadline) {
			m.t.Fatalf("the screen does not show %q:\n%s", want, m.screen())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (m *menuSession) typeText(s string) {
	m.t.Helper()
	if _, err := io.WriteString(m.in, s); err != nil {
		m.t.Fatal(err)
	}
}

// wait waits for the session to end and returns its exit status.
func (m *menuSession) wait(timeout time.Duration) int {
	m.t.Helper()
	select {
	case err := <-m.done:
		var ee *gossh.ExitError
		if errors.As(err, &ee) {
			return ee.ExitStatus()
		}
		if err != nil {
			m.t.Fatalf("session: %v", err)
		}
		return 0
	case <-time.After(timeout):
		m.t.Fatalf("the session did not end within %v; screen:\n%s", timeout, m.screen())
	}
	return -1
}

// TestMenu drives the tui menu over SSH: filter and connect on a unique
// match, come back where she was, the account picker, an error in place,
// quit.
func TestMenu(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.Banner = "Welcome to the test bastion." })
	c := f.mustDial("alice", gossh.PublicKeys(f.aliceKey))
	m := startMenu(t, c, 80, 24)
	m.waitScreen("Welcome to the test bastion.")
	m.waitScreen("alice (user) · 2 assets")
	m.waitScreen("web2")
	// TERM=xterm-256color: the styles reach her (issue 11, bug 3), the
	// selected row in reverse video.
	if raw := m.rawOutput(); !regexp.MustCompile(`\x1b\[[0-9;]*7[0-9;]*m`).MatchString(raw) || !strings.Contains(raw, "\x1b[35;1m") {
		t.Fatalf("the menu has no reverse video or no colour:\n%q", raw)
	}
	m.typeText("second")
	m.waitScreen("1/2")
	m.typeText("\r")
	waitReqs(t, f.proxy, 1)
	m.waitScreen("Search: second")
	if r := f.proxy.last(); r.Asset.Name != "web2" || r.Account.Username != "root" || r.Command != "" {
		t.Fatalf("proxy got %+v", r)
	}
	// stderr is read apart from the screen: wait for it.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(m.stderr(), "Connecting to web2 (10.0.0.2) as root…"); {
		if time.Now().After(deadline) {
			t.Fatalf("no line saying where Enter led: %q", m.stderr())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// web1 has two accounts: the picker.
	m.typeText("\x15web1\r")
	m.waitScreen("Choose an account on web1")
	m.waitScreen("› deploy") // the unprivileged account first (issue 11)
	m.typeText("\x1b[B\r")   // down, enter: root
	waitReqs(t, f.proxy, 2)
	m.waitScreen("Search: web1")
	if r := f.proxy.last(); r.Asset.Name != "web1" || r.Account.Username != "root" {
		t.Fatalf("proxy got %+v", r)
	}
	// An error from the proxy shows in place.
	f.proxy.mu.Lock()
	f.proxy.hook = func(context.Context, proxy.Downstream, *proxy.Request) (int, error) {
		return 255, &sessionerr.UserError{Msg: "jms: cannot connect to web2: connection refused"}
	}
	f.proxy.mu.Unlock()
	m.typeText("\x15web2\r")
	m.waitScreen("✗ jms: cannot connect to web2: connection refused")
	m.typeText("\x1b") // esc clears the search
	m.waitScreen("type to filter")
	m.typeText("q")
	if status := m.wait(5 * time.Second); status != 0 {
		t.Fatalf("quit: status %d", status)
	}
}

func waitReqs(t *testing.T, p *fakeProxy, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		p.mu.Lock()
		got := len(p.reqs)
		p.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the proxy ran %d sessions, want %d", got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// holdProxy is a fake asset session that records its row, registers
// through OnStart and lasts until its context ends, as proxy.Run does.
func holdProxy(st *store.Store, started chan<- string) func(ctx context.Context, down proxy.Downstream, req *proxy.Request) (int, error) {
	return func(ctx context.Context, down proxy.Downstream, req *proxy.Request) (int, error) {
		row, err := st.StartSession(ctx, store.NewSession{User: req.User, Asset: req.Asset.Name, Account: req.Account.Username})
		if err != nil {
			return 255, err
		}
		if req.OnStart != nil {
			req.OnStart(row)
		}
		_, _ = io.WriteString(down, "asset shell $ ")
		started <- row.ID
		<-ctx.Done()
		cause := context.Cause(ctx)
		end := store.SessionEnd{Status: store.StatusClosed, Reason: cause.Error()}
		if errors.Is(cause, sessionerr.ErrKilled) {
			end.Status = store.StatusKilled
		}
		_ = st.EndSession(context.WithoutCancel(ctx), row.ID, end)
		return 255, &sessionerr.UserError{Msg: "jms: session ended: " + cause.Error()}
	}
}

func TestKillAndRevoke(t *testing.T) {
	f := newFixture(t, nil)
	started := make(chan string, 1)
	f.proxy.hook = holdProxy(f.st, started)
	ctx := store.WithActor(context.Background(), "os:root")
	c := f.mustDial("alice", gossh.PublicKeys(f.aliceKey))

	// A kill request ends the session within the poll; she reads why.
	m := startMenu(t, c, 80, 24)
	m.waitScreen("web2")
	m.typeText("web2\r")
	id := <-started
	m.waitScreen("asset shell $")
	begin := time.Now()
	if _, err := f.st.RequestKill(ctx, id, "maintenance"); err != nil {
		t.Fatal(err)
	}
	m.waitScreen("✗ jms: session ended: killed by os:root: maintenance")
	if d := time.Since(begin); d > 2*time.Second {
		t.Fatalf("the kill took %v", d)
	}
	ss, err := f.st.GetSession(ctx, id)
	if err != nil || ss.Status != store.StatusKilled || ss.EndReason != "killed by os:root: maintenance" {
		t.Fatalf("session row %+v, %v", ss, err)
	}

	// A revoked grant ends the session too.
	m.typeText("\r")
	id = <-started
	m.waitScreen("asset shell $")
	if err := f.st.RemoveGrant(ctx, "alice-web"); err != nil {
		t.Fatal(err)
	}
	m.waitScreen("jms: session ended: the grant to web2 expired or was revoked")
	if ss, _ := f.st.GetSession(ctx, id); ss.Status != store.StatusKilled {
		t.Fatalf("session row after revoke %+v", ss)
	}
	m.waitScreen("0 assets")
	m.typeText("\x03")
	m.wait(5 * time.Second)
	select {
	case <-f.srv.live.stopped():
	case <-time.After(2 * time.Second):
		t.Fatal("the poller still runs with no live session")
	}
}

func TestIdleTimeout(t *testing.T) {
	// 3 s: the first keystroke in the session comes 700 ms after its start,
	// which a loaded machine delays.
	f := newFixture(t, func(c *config.Config) { c.IdleTimeout = 3 * time.Second })
	started := make(chan string, 1)
	f.proxy.hook = holdProxy(f.st, started)
	c := f.mustDial("alice", gossh.PublicKeys(f.aliceKey))

	// In the menu: a warning in the status line, then the end.
	m := startMenu(t, c, 80, 24)
	m.waitScreen("this session ends in")
	if status := m.wait(10 * time.Second); status == 0 {
		t.Fatal("an idle menu ended with status 0")
	}
	if !strings.Contains(m.stderr(), "jms: session ended: idle timeout") {
		t.Fatalf("stderr %q", m.stderr())
	}

	// In an asset session: typing keeps it; silence ends it, recorded.
	m = startMenu(t, c, 80, 24)
	m.typeText("web2\r")
	id := <-started
	for range 3 {
		time.Sleep(700 * time.Millisecond)
		m.typeText(" ")
	}
	if ss, _ := f.st.GetSession(context.Background(), id); ss.Status != store.StatusActive {
		t.Fatalf("a session with input ended: %+v", ss)
	}
	m.wait(10 * time.Second)
	ss, err := f.st.GetSession(context.Background(), id)
	if err != nil || ss.Status != store.StatusKilled || ss.EndReason != "idle timeout" {
		t.Fatalf("session row %+v, %v", ss, err)
	}
}

func TestMaxSessionDuration(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.MaxSessionDuration = 500 * time.Millisecond })
	started := make(chan string, 1)
	f.proxy.hook = holdProxy(f.st, started)
	c := f.mustDial("alice", gossh.PublicKeys(f.aliceKey))
	res := run(t, c, "web2", true, "")
	if !strings.Contains(res.stderr, "jms: session ended: maximum session duration") || res.status == 0 {
		t.Fatalf("%+v", res)
	}
	ss, _ := f.st.GetSession(context.Background(), <-started)
	if ss.EndReason != "maximum session duration" || ss.Status != store.StatusKilled {
		t.Fatalf("session row %+v", ss)
	}
}

func TestLiveRegistryStops(t *testing.T) {
	defer goleak.VerifyNone(t)
	var mu sync.Mutex
	polls := 0
	l := newLiveSessions(10*time.Millisecond, func(_ context.Context, list []*liveSession) {
		mu.Lock()
		polls++
		mu.Unlock()
	})
	canceled := make(chan error, 1)
	l.add(&liveSession{id: "a", cancel: func(err error) { canceled <- err }})
	l.add(&liveSession{id: "b"})
	// Wait for a poll (not for a time: a loaded machine may take long).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		mu.Lock()
		n := polls
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("never polled")
		}
	}
	l.remove("a")
	if n := len(l.list()); n != 1 {
		t.Fatalf("%d sessions listed, want 1", n)
	}
	l.remove("b")
	select {
	case <-l.stopped():
	case <-time.After(time.Second):
		t.Fatal("the poller did not stop when the registry emptied")
	}
	mu.Lock()
	defer mu.Unlock()
	if polls == 0 {
		t.Fatal("never polled")
	}
	// It starts again with the next session.
	l.add(&liveSession{id: "c"})
	l.remove("c")
	<-l.stopped()
}

func TestFmtIdle(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{45 * time.Second, "45s"},
		{90 * time.Second, "1m30s"},
		{29 * time.Minute, "29m"},
		{90 * time.Minute, "1h30m"},
	} {
		if got := fmtIdle(tc.d); got != tc.want {
			t.Errorf("fmtIdle(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
	if w := idleWarning(30 * time.Minute); w != time.Minute {
		t.Errorf("warning of 30m = %v", w)
	}
	if w := idleWarning(10 * time.Second); w != time.Second {
		t.Errorf("warning of 10s = %v", w)
	}
}

// TestColorProfile: the menu's colours come from the PTY's TERM and the
// variables her client may send, not from probing the SSH channel.
func TestColorProfile(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		want colorprofile.Profile
	}{
		{[]string{"TERM=xterm-256color"}, colorprofile.ANSI256},
		{[]string{"TERM=xterm-256color", "COLORTERM=truecolor"}, colorprofile.TrueColor},
		{[]string{"TERM=xterm"}, colorprofile.ANSI},
		{[]string{"TERM=screen"}, colorprofile.ANSI256},
		{[]string{"TERM=vt100"}, colorprofile.ANSI},
		{[]string{"TERM=xterm-256color", "NO_COLOR=1"}, colorprofile.ASCII},
		{[]string{"TERM=dumb"}, colorprofile.NoTTY},
		{[]string{"TERM="}, colorprofile.NoTTY},
		{nil, colorprofile.NoTTY},
	} {
		if got := colorProfile(tc.env); got != tc.want {
			t.Errorf("colorProfile(%q) = %v, want %v", tc.env, got, tc.want)
		}
	}
}

// TestAllowedEnv: COLORTERM and NO_COLOR reach the menu (and the asset,
// as Debian's sshd accepts them); nothing else beyond TERM, LANG, LC_*.
func TestAllowedEnv(t *testing.T) {
	for name, want := range map[string]bool{
		"TERM": true, "LANG": true, "LC_ALL": true, "COLORTERM": true, "NO_COLOR": true,
		"LD_PRELOAD": false, "PATH": false, "LC_": false, "lc_all": false, "COLORTERMX": false, "NO_COLOR_": false,
	} {
		if got := allowedEnv(name); got != want {
			t.Errorf("allowedEnv(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestMenuAccessEnded: a grant that ended while she looked at the menu
// says so (she had seen the asset), and so does the next menu.
func TestMenuAccessEnded(t *testing.T) {
	f := newFixture(t, nil)
	c := f.mustDial("alice", gossh.PublicKeys(f.aliceKey))
	m := startMenu(t, c, 80, 24)
	m.waitScreen("alice (user) · 2 assets")
	m.typeText("second")
	m.waitScreen("1/2")
	if err := f.st.RemoveGrant(context.Background(), "alice-web"); err != nil {
		t.Fatal(err)
	}
	m.typeText("\r")
	m.waitScreen("✗ jms: your access to web2 has ended: the grant expired or was revoked")
	m.waitScreen("0 assets")
	f.waitEvent(store.LoginEvent{User: "alice", Method: "connect", Result: store.LoginFailure, Reason: "grant to web2 expired or revoked"})
	m.typeText("q")
	m.wait(5 * time.Second)
}

// TestMenuPickerLastAccount: the picker starts on the account she used
// last on the asset.
func TestMenuPickerLastAccount(t *testing.T) {
	f := newFixture(t, nil)
	if _, err := f.st.StartSession(context.Background(), store.NewSession{User: "alice", Asset: "web1", Account: "root"}); err != nil {
		t.Fatal(err)
	}
	c := f.mustDial("alice", gossh.PublicKeys(f.aliceKey))
	m := startMenu(t, c, 80, 24)
	m.waitScreen("2 assets")
	m.typeText("web1\r")
	m.waitScreen("› root")
	m.typeText("\r")
	waitReqs(t, f.proxy, 1)
	if r := f.proxy.last(); r.Account.Username != "root" {
		t.Fatalf("proxy got %s", r.Account.Username)
	}
	m.typeText("q")
	m.wait(5 * time.Second)

	// ssh -t alice@web1: the picker alone counts her assets, not 1.
	m = startMenu(t, f.mustDial("alice@web1", gossh.PublicKeys(f.aliceKey)), 80, 24)
	m.waitScreen("Choose an account on web1")
	m.waitScreen("alice · 2 assets")
	m.waitScreen("› root")
	m.typeText("\x1b")
	if status := m.wait(5 * time.Second); status != 1 {
		t.Fatalf("esc on the picker: status %d", status)
	}
}

// TestGrantExpiryWarning: a session whose grant ends within 5 minutes is
// told so, once, over the asset's screen (issue 11).
func TestGrantExpiryWarning(t *testing.T) {
	f := newFixture(t, nil)
	started := make(chan string, 1)
	f.proxy.hook = holdProxy(f.st, started)
	ctx := context.Background()
	if err := f.st.RemoveGrant(ctx, "alice-web"); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(4 * time.Minute)
	if _, err := f.st.AddGrant(ctx, store.NewGrant{Name: "alice-web2-brief", Users: []string{"alice"},
		Assets: []string{"web2"}, Accounts: []string{store.AllAccounts}, ValidUntil: &until}); err != nil {
		t.Fatal(err)
	}
	m := startMenu(t, f.mustDial("alice@web2", gossh.PublicKeys(f.aliceKey)), 80, 24)
	<-started
	m.waitScreen("asset shell $")
	m.waitScreen("jms: your access to web2 ends within 5 minutes: the grant expires")
	time.Sleep(2500 * time.Millisecond) // another poll: no second warning
	if n := strings.Count(m.screen(), "ends within 5 minutes"); n != 1 {
		t.Fatalf("%d warnings:\n%s", n, m.screen())
	}
}

// FuzzColorProfile: whatever TERM, COLORTERM and NO_COLOR a client sends,
// the profile is one of the known ones and NO_COLOR=1 never gets colour.
func FuzzColorProfile(f *testing.F) {
	f.Add("xterm-256color", "truecolor", "")
	f.Add("dumb", "", "1")
	f.Add("", "24bit", "true")
	f.Fuzz(func(t *testing.T, term, colorterm, noColor string) {
		env := []string{"TERM=" + term, "COLORTERM=" + colorterm, "NO_COLOR=" + noColor}
		p := colorProfile(env)
		if p < colorprofile.NoTTY || p > colorprofile.TrueColor {
			t.Fatalf("profile %v", p)
		}
		if noColor == "1" && p > colorprofile.ASCII {
			t.Fatalf("NO_COLOR=1 gave %v", p)
		}
	})
}

// FuzzAllowedEnv: only TERM, LANG, COLORTERM, NO_COLOR and LC_ names made
// of capitals and underscores pass.
func FuzzAllowedEnv(f *testing.F) {
	for _, s := range []string{"TERM", "LC_ALL", "LC_", "LD_PRELOAD", "NO_COLOR", "lc_all", "LC_Ä"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if !allowedEnv(name) {
			return
		}
		switch name {
		case "TERM", "LANG", "COLORTERM", "NO_COLOR":
			return
		}
		rest, ok := strings.CutPrefix(name, "LC_")
		if !ok || rest == "" || strings.Trim(rest, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") != "" {
			t.Fatalf("allowedEnv(%q) = true", name)
		}
	})
}

// TestLockDoesNotSuspendRevocation: failed logins that lock alice's
// password neither end her running session nor stop a revoked grant
// from ending it; an administrator's lock ends it.
func TestLockDoesNotSuspendRevocation(t *testing.T) {
	f := newFixture(t, func(c *config.Config) {
		c.LockoutThreshold, c.LockoutUserThreshold, c.ThrottleNames, c.ThrottleFailures = 0, 2, 0, 0
	})
	started := make(chan string, 1)
	f.proxy.hook = holdProxy(f.st, started)
	ctx := store.WithActor(context.Background(), "os:root")
	c := f.mustDial("alice", gossh.PublicKeys(f.aliceKey))
	startHeld := func() chan result {
		out := make(chan result, 1)
		go func() { out <- run(t, c, "web2", true, "") }()
		<-started
		return out
	}

	held := startHeld()
	for range 3 {
		if c, err := f.dial("alice", gossh.Password("wrong")); err == nil {
			c.Close()
		}
	}
	if _, locked, _ := f.st.LoginLockedUntil(ctx, "alice", store.AnySource, time.Now()); !locked {
		t.Fatal("wrong passwords did not lock alice's password")
	}
	time.Sleep(3 * revokeInterval / 2)
	select {
	case res := <-held:
		t.Fatalf("a password lock ended her session: %+v", res)
	default:
	}
	if err := f.st.RemoveGrant(ctx, "alice-web"); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-held:
		if !strings.Contains(res.stderr, "the grant to web2 expired or was revoked") {
			t.Fatalf("session ended with %+v", res)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a revoked grant did not end the session of a locked user")
	}

	// An administrator's lock ends her sessions.
	if _, err := f.st.AddGrant(ctx, store.NewGrant{Name: "again", Users: []string{"alice"}, Assets: []string{"web2"},
		Accounts: []string{store.AllAccounts}}); err != nil {
		t.Fatal(err)
	}
	held = startHeld()
	if err := f.st.LockUser(ctx, "alice", time.Now().Add(time.Hour), "admin"); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-held:
		if !strings.Contains(res.stderr, "user alice locked") {
			t.Fatalf("session ended with %+v", res)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("an administrator's lock did not end the session")
	}
}

// TestMenuPasswordChangeIsNoOracle: a wrong current password on the
// menu's password screen is a failed login (audited, counted towards
// the lockout); a session gets three, and a locked password cannot be
// changed there.
func TestMenuPasswordChangeIsNoOracle(t *testing.T) {
	f := newFixture(t, func(c *config.Config) {
		c.LockoutThreshold, c.LockoutUserThreshold, c.ThrottleNames, c.ThrottleFailures = 4, 0, 0, 0
	})
	cs := &connState{source: "127.0.0.1", key: "127.0.0.1", authed: true}
	ctx := context.WithValue(context.Background(), connStateKey{}, cs)
	change := f.srv.ownPasswordChange("alice", f.srv.log)
	for range maxPasswordChangeTries {
		if err := change(ctx, "guess", "new-password-1"); err == nil || !strings.Contains(err.Error(), "current password is wrong") {
			t.Fatalf("a wrong current password: %v", err)
		}
	}
	if err := change(ctx, alicePassword, "new-password-1"); err == nil || !strings.Contains(err.Error(), "too many") {
		t.Fatalf("a fourth try in the session: %v", err)
	}
	e := f.waitEvent(store.LoginEvent{User: "alice", Method: methodPasswordChange, Result: store.LoginFailure, Reason: reasonWrongPassword})
	if e.Count != maxPasswordChangeTries {
		t.Errorf("audited %d wrong passwords, want %d", e.Count, maxPasswordChangeTries)
	}
	// One more wrong try in a new session reaches the lockout: then even
	// the right password cannot change it from there.
	if err := f.srv.ownPasswordChange("alice", f.srv.log)(ctx, "guess", "new-password-1"); err == nil {
		t.Fatal("a wrong password changed it")
	}
	if err := f.srv.ownPasswordChange("alice", f.srv.log)(ctx, alicePassword, "new-password-1"); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("a locked password: %v", err)
	}
	if _, locked, _ := f.st.LoginLockedUntil(context.Background(), "alice", "127.0.0.1", time.Now()); !locked {
		t.Fatal("wrong passwords on the menu did not lock the name from the address")
	}
}

// TestLoginRulesAfterLogin: a login rule added after alice logged in
// refuses her next channel on the same connection (ControlMaster) and
// ends her running session.
func TestLoginRulesAfterLogin(t *testing.T) {
	f := newFixture(t, nil)
	started := make(chan string, 1)
	f.proxy.hook = holdProxy(f.st, started)
	ctx := store.WithActor(context.Background(), "test")
	c := f.mustDial("alice", gossh.PublicKeys(f.aliceKey))
	held := make(chan result, 1)
	go func() { held <- run(t, c, "web2", true, "") }()
	id := <-started

	if _, err := f.st.AddLoginRule(ctx, store.LoginRule{Name: "closing-time", Action: "deny", Sources: []string{"127.0.0.0/8"}}); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-held:
		if !strings.Contains(res.stderr, `login rule "closing-time" does not allow alice`) {
			t.Fatalf("session ended with %+v", res)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a login rule did not end the running session")
	}
	if ss, _ := f.st.GetSession(ctx, id); ss.Status != store.StatusKilled {
		t.Errorf("session row %+v", ss)
	}
	if _, err := c.NewSession(); err == nil || !strings.Contains(err.Error(), "closing-time") {
		t.Fatalf("a new channel under a denying rule: %v", err)
	}
	f.waitEvent(store.LoginEvent{User: "alice", Method: methodConnect, Reason: "denied by login rule closing-time"})
}
