package bastion

// The menu: a PTY without a target gets the tui asset menu (auditors the
// auditor menu). The hand-off is explicit (STYLE.md, habit 7): the
// bubbletea program ends with her choice in its final model, the handler
// authorizes again and proxies with the raw channel, then runs a new
// menu restored where the old one was, with any error in its status
// line.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/jms-bastion/jms/bastion/sessionerr"
	"github.com/jms-bastion/jms/store"
	"github.com/jms-bastion/jms/tui"
)

// runProgram runs a bubbletea model on the terminal until it ends and
// returns its final model. Input comes through a view of the terminal
// that stops reading when the program ends, so the first key typed
// afterwards reaches whatever runs next; window changes go to the
// program while it runs; notices (the idle warning) go to its status
// line.
func (s *Server) runProgram(ctx context.Context, term *terminal, m tea.Model) (tea.Model, error) {
	v := term.attach()
	defer v.detach()
	pty, winch, _ := v.Pty()
	w, h := pty.Window.Width, pty.Window.Height
	if w <= 0 || h <= 0 {
		w, h = 80, 24
	}
	// SSH_TTY keeps bubbletea from querying the terminal: an answer that
	// came after the program ended would be typed into the asset.
	env := append(slices.Clone(term.sess.Environ()), "TERM="+pty.Term, "SSH_TTY=jms")
	prog := tea.NewProgram(m,
		tea.WithContext(ctx),
		tea.WithInput(v),
		tea.WithOutput(crlfWriter{term.sess}),
		tea.WithEnvironment(env),
		tea.WithColorProfile(colorProfile(env)),
		tea.WithWindowSize(w, h),
		tea.WithoutSignalHandler(),
		tea.WithFilter(func(_ tea.Model, msg tea.Msg) tea.Msg {
			if _, ok := msg.(tea.SuspendMsg); ok { // no job control over SSH
				return tea.ResumeMsg{}
			}
			return msg
		}),
	)
	done := make(chan struct{})
	forwarded := make(chan struct{})
	go func() {
		defer close(forwarded)
		for {
			select {
			case win, ok := <-winch:
				if !ok {
					return
				}
				prog.Send(tea.WindowSizeMsg{Width: win.Width, Height: win.Height})
			case <-done:
				return
			}
		}
	}()
	term.setNotify(func(msg string) { prog.Send(tui.NoticeMsg{Text: msg, Err: true}) })
	final, err := prog.Run()
	term.setNotify(nil)
	close(done)
	<-forwarded
	if err != nil {
		// Killed (the session ends): leave the alternate screen and show
		// the cursor, which a killed program does not.
		_, _ = term.sess.Write([]byte("\x1b[?1049l\x1b[?25h\x1b[0m"))
		return final, err
	}
	return final, nil
}

// colorProfile is the colour profile of the person's terminal, from the
// TERM of her PTY request and what her client sent of COLORTERM,
// NO_COLOR and CLICOLOR. The menu writes to an SSH channel, not to a file
// bubbletea could probe: left to itself it finds no terminal and strips
// every style, reverse video included. NO_COLOR keeps bold and reverse
// (the selected row) and drops the colours; TERM=dumb drops everything.
func colorProfile(env []string) colorprofile.Profile {
	return colorprofile.Env(env)
}

// crlfWriter writes "\n" as "\r\n". Bubbletea draws for a terminal that
// maps newlines (ONLCR) when its input is not a TTY; the client's
// terminal is raw and the bastion emulates no PTY, so the menu's output
// is mapped here, and only here: the proxy passes bytes untouched.
type crlfWriter struct{ w io.Writer }

func (c crlfWriter) Write(p []byte) (int, error) {
	if bytes.IndexByte(p, '\n') < 0 {
		return c.w.Write(p)
	}
	if _, err := c.w.Write(bytes.ReplaceAll(p, []byte("\n"), []byte("\r\n"))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// menu runs the menu until the person quits or the session ends, and
// returns the exit status.
func (s *Server) menu(ctx context.Context, term *terminal, user string, log *slog.Logger) int {
	u, err := s.st.GetUser(ctx, user)
	if err != nil {
		log.Error("menu: looking up the user", "err", err)
		_, _ = fmt.Fprint(term.sess.Stderr(), "jms: internal error"+term.newline())
		return 1
	}
	scope, audits, err := s.auditScopeOf(ctx, u)
	if err != nil {
		log.Error("menu: looking up what the user audits", "err", err)
		_, _ = fmt.Fprint(term.sess.Stderr(), "jms: internal error"+term.newline())
		return 1
	}
	if audits {
		return s.auditorMenu(ctx, term, u, scope, log)
	}
	return s.assetMenu(ctx, term, u, log)
}

// assetMenu is the asset menu loop.
func (s *Server) assetMenu(ctx context.Context, term *terminal, u store.User, log *slog.Logger) int {
	var restore *tui.MenuState
	flash := ""
	reload := func(ctx context.Context) ([]store.Access, error) {
		list, err := s.st.AuthorizedAssets(ctx, u.Name, s.now())
		if errors.Is(err, store.ErrDenied) {
			return nil, errors.New("access denied")
		}
		return list, err
	}
	var before []store.Access
	mfa := s.ownMFA(u.Name, log) // one per session: its wrong codes add up
	for {
		assets, err := s.st.AuthorizedAssets(ctx, u.Name, s.now())
		if errors.Is(err, store.ErrDenied) {
			// Disabled, removed or locked since she logged in.
			_, _ = fmt.Fprint(term.sess.Stderr(), "jms: "+u.Name+": access denied"+term.newline())
			return 1
		}
		if err != nil {
			if ctx.Err() != nil {
				return 0
			}
			log.Error("menu: listing assets", "err", err)
			_, _ = fmt.Fprint(term.sess.Stderr(), "jms: internal error"+term.newline())
			return 1
		}
		if gone := tui.Gone(before, assets); gone != "" && flash == "" {
			flash = gone
		}
		before = assets
		w, h := term.window()
		cfg := tui.MenuConfig{
			User:    u.Name,
			Role:    u.Role,
			Banner:  s.cfg.Banner,
			Assets:  assets,
			Width:   w,
			Height:  h,
			Reload:  reload,
			Context: ctx,
			Restore: restore,
			Flash:   flash,

			ChangePassword: s.ownPasswordChange(u.Name, log),
			ListKeys: func(ctx context.Context) ([]store.UserKey, error) {
				return s.st.ListUserKeys(ctx, u.Name)
			},
			AddKey: func(ctx context.Context, line string) (store.UserKey, error) {
				k, err := s.st.AddUserKey(store.WithActor(ctx, "ssh:"+u.Name), u.Name, line)
				if err != nil {
					log.Info("menu: key refused", "err", err)
					return k, userFacing(err)
				}
				log.Info("menu: key added", "fingerprint", k.Fingerprint)
				return k, nil
			},
			StartMFA:   mfa.start,
			ConfirmMFA: mfa.confirm,
		}
		cfg.LastAccounts = s.lastAccounts(ctx, u.Name, log)
		final, err := s.runProgram(ctx, term, tui.NewMenu(cfg))
		if err != nil {
			if ctx.Err() == nil {
				log.Error("menu", "err", err)
			}
			return 0
		}
		m, _ := final.(tui.Menu)
		acc, ga, ok := m.Choice()
		if !ok {
			return 0
		}
		st := m.State()
		restore = &st
		t := Target{User: u.Name, Asset: acc.Asset.Name, Account: ga.Username}
		_, flash = s.session(ctx, term, t, &acc, &ga, log)
		if ctx.Err() != nil {
			return 0
		}
	}
}

// userFacing keeps the store's message of a refused change, without the
// wrapping a person does not need.
func userFacing(err error) error {
	if errors.Is(err, store.ErrConflict) {
		return errors.New("this key is already registered (a key belongs to one person)")
	}
	return err
}

// maxPasswordChangeTries caps wrong current passwords per menu session.
const maxPasswordChangeTries = 3

// ownPasswordChange returns the menu's password change for user: the
// current password checked, the policy applied, audited as done by
// ssh:user. A wrong current password is a failed login (audited,
// counted towards the lockouts); a session gets maxPasswordChangeTries
// of them, and a password locked after failed logins cannot be changed
// here: the screen must not be a way around the lockout.
func (s *Server) ownPasswordChange(user string, log *slog.Logger) func(ctx context.Context, current, next string) error {
	var mu sync.Mutex
	wrong := 0
	return func(ctx context.Context, current, next string) error {
		mu.Lock()
		defer mu.Unlock()
		if wrong >= maxPasswordChangeTries {
			return errors.New("too many wrong passwords: log in again to try once more")
		}
		if reason := s.passwordLocked(ctx, user, stateOf(ctx).key); reason != "" {
			log.Warn("menu: password change refused", "reason", reason)
			return errors.New("your password is locked after failed logins: try again later, or ask an administrator")
		}
		ok, err := s.verifyOwnPassword(ctx, user, current, log)
		if err != nil {
			return err
		}
		if !ok {
			wrong++
			s.failure(ctx, user, methodPasswordChange, false, reasonWrongPassword)
			return errors.New("the current password is wrong")
		}
		if current == next {
			return errors.New("the new password is the current one: choose another")
		}
		if err := (store.PasswordPolicy{MinLength: s.cfg.PasswordMinLength}).Check(store.Secret(next)); err != nil {
			return err
		}
		if err := s.saveNewPassword(ctx, user, store.Secret(next)); err != nil {
			log.Error("menu: saving the password", "err", err)
			return errors.New("cannot save the new password now")
		}
		log.Info("menu: password changed")
		return nil
	}
}

// lastAccounts maps each asset to the account the user used there last,
// from her latest sessions: the account picker starts on it.
func (s *Server) lastAccounts(ctx context.Context, user string, log *slog.Logger) map[string]string {
	list, err := s.st.ListSessions(ctx, store.SessionQuery{User: user, Limit: 500})
	if err != nil {
		log.Warn("menu: reading her last sessions", "err", err)
		return nil
	}
	last := make(map[string]string, len(list))
	for _, x := range list { // oldest first: the latest wins
		last[x.Asset] = x.Account
	}
	return last
}

// verifyOwnPassword checks user's current password, under the hashing
// cap.
func (s *Server) verifyOwnPassword(ctx context.Context, user, current string, log *slog.Logger) (bool, error) {
	if err := s.acquireHash(ctx); err != nil {
		return false, err
	}
	defer s.releaseHash()
	_, hash, err := s.st.PasswordHash(ctx, user)
	if err != nil {
		log.Error("menu: reading the password hash", "err", err)
		return false, errors.New("cannot check your password now")
	}
	if hash == "" {
		return false, errors.New("you have no password to change: ask an administrator to set one")
	}
	_, verr := store.VerifyPassword(store.Secret(current), hash, s.argon)
	return verr == nil, nil
}

// pickAccount asks which of several accounts to log in as, with the
// menu's account picker alone; total is how many assets she has.
func (s *Server) pickAccount(ctx context.Context, term *terminal, user string, acc store.Access, accounts []store.GrantedAccount, total int) (store.GrantedAccount, error) {
	one := acc
	one.Accounts = accounts
	w, h := term.window()
	final, err := s.runProgram(ctx, term, tui.NewMenu(tui.MenuConfig{User: user, Assets: []store.Access{one}, Total: total,
		LastAccounts: s.lastAccounts(ctx, user, s.log.With("user", user)), PickAccount: true, Context: ctx, Width: w, Height: h}))
	none := &sessionerr.UserError{Msg: "jms: no account chosen", Reason: fmt.Sprintf("no account chosen on %s", acc.Asset.Name), Err: err}
	if err != nil {
		return store.GrantedAccount{}, none
	}
	m, _ := final.(tui.Menu)
	_, g, ok := m.Choice()
	if !ok {
		return store.GrantedAccount{}, none
	}
	return g, nil
}
