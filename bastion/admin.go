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
	if t.Account != "" {
		fmt.Fprintf(errw, "jms: %s is the admin command, not an asset: drop %q\n", AdminCommand, t.Account+"@")
		return 1
	}
	if s.admin == nil {
		fmt.Fprintf(errw, "jms: %s over SSH is not available on this bastion\n", AdminCommand)
		return 1
	}
	args, err := splitAdminArgs(t.Command)
	if err != nil {
		fmt.Fprintf(errw, "jms: %s: %v\n", AdminCommand, err)
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
	view := term.attach()
	defer view.detach()
	var stdin io.Reader = view
	if term.hasPty {
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		done := make(chan struct{})
		defer close(done)
		stdin = ptyInput(view, done, func() { cancel(errInterrupted) })
	}
	width, _ := term.window()
	return s.admin(ctx, AdminRequest{
		User: u.Name, Role: u.Role, Source: source, Args: args,
		Stdin: stdin, Stdout: adminStream(term, term.hasPty), Stderr: errw,
		PTY: term.hasPty, Width: width,
	})
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
