package bastion

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/jms-bastion/jms/printable"
	"github.com/jms-bastion/jms/store"
)

// AdminCommand is the reserved name that runs jmsctl inside the bastion:
// `ssh carol@bastion jmsctl asset list`, or the login name
// `carol@jmsctl`. It is never an asset (asset add and import refuse it).
const AdminCommand = store.ReservedAssetName

// methodAdmin is the login audit's method of a jmsctl command over SSH.
const methodAdmin = "admin"

// AdminRequest is one jmsctl command over SSH, for Deps.Admin.
type AdminRequest struct {
	User   string // the person's login name
	Role   string // her system role: admin, auditor or user
	Source string // the client's address
	Args   []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	PTY    bool // the client asked for a terminal
	Width  int  // its width in columns; 0 without one
}

// AdminRunner runs a jmsctl command for a person and returns its exit
// status (0 ok, non-zero an error told on Stderr).
type AdminRunner func(ctx context.Context, req AdminRequest) int

// isAdminTarget reports whether t names the admin command rather than
// an asset.
func isAdminTarget(t Target) bool { return t.Asset == AdminCommand }

// adminCommand runs `jmsctl …` for the person logged in and returns the
// exit status to send. It is audited as a login of method "admin" whose
// reason names the command.
func (s *Server) adminCommand(ctx context.Context, term *terminal, t Target, log *slog.Logger) int {
	errw := adminStream(term.sess.Stderr(), term.hasPty)
	args, err := s.adminArgs(t)
	if err != nil {
		fmt.Fprintln(errw, "jms: "+err.Error())
		return 1
	}
	u, err := s.st.GetUser(ctx, t.User)
	if err != nil {
		log.Error("looking up a user", "err", err)
		fmt.Fprintln(errw, "jms: internal error")
		return 1
	}
	source := hostOf(term.sess.RemoteAddr())
	s.audit(ctx, t.User, source, methodAdmin, store.LoginSuccess, adminReason(args))
	ctx, stdin, end := adminInput(ctx, term)
	defer end()
	width, _ := term.window()
	return s.admin(ctx, AdminRequest{
		User: u.Name, Role: u.Role, Source: source, Args: args,
		Stdin: stdin, Stdout: adminStream(term, term.hasPty), Stderr: errw,
		PTY: term.hasPty, Width: width,
	})
}

// adminArgs returns the arguments of the admin command t, or why it
// cannot run.
func (s *Server) adminArgs(t Target) ([]string, error) {
	switch {
	case t.Account != "":
		return nil, fmt.Errorf("%s is the admin command, not an asset: drop %q", AdminCommand, t.Account+"@")
	case s.admin == nil:
		return nil, fmt.Errorf("%s over SSH is not available on this bastion", AdminCommand)
	}
	args, err := splitAdminArgs(t.Command)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", AdminCommand, err)
	}
	return args, nil
}

// adminInput returns the command's context and stdin: the channel's
// input, or with a PTY ptyInput's, whose Ctrl-C ends the context. end
// releases them once the command is over.
func adminInput(ctx context.Context, term *terminal) (_ context.Context, stdin io.Reader, end func()) {
	view := term.attach()
	if !term.hasPty {
		return ctx, view, view.detach
	}
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	stdin = ptyInput(view, done, func() { cancel(errInterrupted) })
	return ctx, stdin, func() {
		close(done)
		cancel(nil)
		view.detach()
	}
}

// adminReason is what the login audit says of a command: jmsctl and its
// words up to the first flag (a flag's value may be anything; a word
// with blanks or quotes is quoted), at most
// 200 bytes, control characters written out.
func adminReason(args []string) string {
	words := []string{AdminCommand}
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			break
		}
		if a == "" || strings.ContainsAny(a, " \t\n\"'") {
			a = strconv.Quote(a)
		}
		words = append(words, a)
	}
	r := printable.Escape(strings.Join(words, " "))
	if len(r) > 200 {
		r = strings.ToValidUTF8(r[:200], "") + "…"
	}
	return r
}

// adminStream is w as a command writes to it: on a PTY, whose client
// terminal is raw, each "\n" goes out as "\r\n" (menu.go's crlfWriter).
func adminStream(w io.Writer, pty bool) io.Writer {
	if !pty {
		return w
	}
	return crlfWriter{w}
}
