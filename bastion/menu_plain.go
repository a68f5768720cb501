package bastion

// The plain menu: a numbered list and a line editor, until the
// bubbletea menu of the tui package replaces this file. Its contract
// with the rest of the server is plainMenu (run until the person quits,
// return the exit status) and pickAccount.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jms-bastion/jms/store"
)

var errCanceled = errors.New("canceled")

// plainMenu lists the user's assets, reads a number or a name, connects,
// and comes back to the list when the session ends.
func (s *Server) plainMenu(ctx context.Context, term *terminal, user string, log *slog.Logger) int {
	nl := term.newline()
	for {
		list, err := s.st.AuthorizedAssets(ctx, user, s.now())
		if err != nil && !errors.Is(err, store.ErrDenied) {
			log.Error("menu: listing assets", "err", err)
			fmt.Fprint(term, "jms: internal error"+nl)
			return 1
		}
		fmt.Fprintf(term, "%sAssets for %s:%s", nl, user, nl)
		if len(list) == 0 {
			fmt.Fprint(term, "  (none: ask an administrator for a grant)"+nl)
		}
		for i, a := range list {
			line := fmt.Sprintf("  %3d) %-20s %s:%d", i+1, a.Asset.Name, a.Asset.Address, a.Asset.Port)
			if a.Asset.Comment != "" {
				line += "  " + a.Asset.Comment
			}
			fmt.Fprint(term, line+nl)
		}
		answer, err := readLine(term, "Asset number or name (q to quit): ")
		switch {
		case errors.Is(err, errCanceled):
			continue
		case err != nil:
			return 0
		}
		answer = strings.TrimSpace(answer)
		switch answer {
		case "":
			continue
		case "q", "quit", "exit":
			return 0
		}
		var acc store.Access
		found := false
		if n, err := strconv.Atoi(answer); err == nil && n >= 1 && n <= len(list) {
			acc, found = list[n-1], true
		} else {
			acc, found = findAsset(list, answer)
		}
		if !found {
			fmt.Fprint(term.sess.Stderr(), noAsset(user, answer).msg+nl)
			continue
		}
		t := Target{User: user, Asset: acc.Asset.Name}
		ga, err := s.chooseAccount(ctx, term, user, acc, "")
		if errors.Is(err, errCanceled) {
			continue
		}
		if err != nil {
			s.refused(ctx, term, user, err, log)
			continue
		}
		s.run(ctx, term, t, acc, ga, log)
		if ctx.Err() != nil {
			return 0
		}
	}
}

// pickAccount asks which of several accounts to log in as.
func (s *Server) pickAccount(_ context.Context, term *terminal, _ string, acc store.Access, accounts []store.GrantedAccount) (store.GrantedAccount, error) {
	nl := term.newline()
	for {
		fmt.Fprintf(term, "Accounts on %s:%s", acc.Asset.Name, nl)
		for i, g := range accounts {
			fmt.Fprintf(term, "  %d) %s%s", i+1, g.Username, nl)
		}
		answer, err := readLine(term, "Account number or name: ")
		if err != nil {
			if errors.Is(err, errCanceled) {
				return store.GrantedAccount{}, err
			}
			return store.GrantedAccount{}, &userError{msg: "jms: no account chosen", reason: "no account chosen", err: err}
		}
		answer = strings.TrimSpace(answer)
		if n, err := strconv.Atoi(answer); err == nil && n >= 1 && n <= len(accounts) {
			return accounts[n-1], nil
		}
		for _, g := range accounts {
			if g.Username == answer {
				return g, nil
			}
		}
		if answer == "" || answer == "q" {
			return store.GrantedAccount{}, errCanceled
		}
		fmt.Fprintf(term, "jms: no account %q on %s%s", answer, acc.Asset.Name, nl)
	}
}

// readLine reads one line from a raw terminal, echoing it: backspace
// erases, ^U clears, ^C cancels (errCanceled), ^D on an empty line ends
// (io.EOF); escape sequences (arrows) are ignored. It reads a byte at a
// time so that what follows the line end stays for the next reader.
func readLine(term *terminal, prompt string) (string, error) {
	fmt.Fprint(term, prompt)
	var line []byte
	b := make([]byte, 1)
	inEsc := false
	for {
		if _, err := term.Read(b); err != nil {
			return "", err
		}
		c := b[0]
		switch {
		case inEsc:
			if c != '[' && c != 'O' && c >= '@' && c <= '~' {
				inEsc = false
			}
		case c == 0x1b:
			inEsc = true
		case c == '\r' || c == '\n':
			fmt.Fprint(term, term.newline())
			return string(line), nil
		case c == 0x03:
			fmt.Fprint(term, "^C"+term.newline())
			return "", errCanceled
		case c == 0x04:
			if len(line) == 0 {
				fmt.Fprint(term, term.newline())
				return "", io.EOF
			}
		case c == 0x7f || c == 0x08:
			if len(line) > 0 {
				_, size := utf8.DecodeLastRune(line)
				line = line[:len(line)-size]
				fmt.Fprint(term, "\b \b")
			}
		case c == 0x15:
			for n := utf8.RuneCount(line); n > 0; n-- {
				fmt.Fprint(term, "\b \b")
			}
			line = line[:0]
		case c >= 0x20 && len(line) < 1024:
			line = append(line, c)
			_, _ = term.Write(b)
		}
	}
}
