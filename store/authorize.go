package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AuthzQuery is one authorization question: may User, at time At, do
// every one of Actions on asset AssetID as Account? An empty Account asks
// for any account that has them (a forward is made as nobody on the
// asset). Port, when not zero, is where a forward goes: a grant giving
// the forward action on a qualifying account must open it (no ports
// listed on a grant opens the asset's SSH port).
type AuthzQuery struct {
	User    string
	AssetID int64
	Account string
	Actions []string
	Port    int
	At      time.Time
}

// DeniedError is a refusal of Authorize that names what is missing. It
// wraps ErrDenied.
type DeniedError struct {
	User    string
	Asset   string // the asset's name; "" when it is not granted at all
	Account string // the account asked for; "" for any
	// Missing are the actions asked for that no grant gives; empty when
	// the asset or the account is not granted at all.
	Missing []string
	// Port is a forward's port that no grant opens, and Ports the ones
	// that are open.
	Port  int
	Ports []int
}

func (e *DeniedError) Error() string {
	switch {
	case e.Asset == "":
		return fmt.Sprintf("%s may not reach the asset", e.User)
	case e.Port != 0:
		ps := make([]string, len(e.Ports))
		for i, p := range e.Ports {
			ps[i] = strconv.Itoa(p)
		}
		return fmt.Sprintf("%s may not forward to %s port %d (open: %s)", e.User, e.Asset, e.Port, strings.Join(ps, ", "))
	case len(e.Missing) > 0 && e.Account != "":
		return fmt.Sprintf("%s lacks %s on %s as %s", e.User, strings.Join(e.Missing, ", "), e.Asset, e.Account)
	case len(e.Missing) > 0:
		return fmt.Sprintf("%s lacks %s on %s", e.User, strings.Join(e.Missing, ", "), e.Asset)
	}
	return fmt.Sprintf("%s may not use %s on %s", e.User, e.Account, e.Asset)
}

func (e *DeniedError) Unwrap() error { return ErrDenied }

// Authorize answers q. It is the bastion's one authorization decision:
// at connect, for each SFTP operation and open file, for each rsync or
// scp command, for each forward, and whenever the live-session poller
// checks a running session again. It returns the asset as granted now
// with the accounts that qualify (the one asked for, or every one with
// all the actions). A refusal wraps ErrDenied, and is a *DeniedError
// when the person may reach the asset but lacks something there.
func (s *Store) Authorize(ctx context.Context, q AuthzQuery) (Access, error) {
	list, err := s.authorized(ctx, q.User, q.At, q.AssetID)
	if err != nil {
		return Access{}, err
	}
	if len(list) == 0 {
		return Access{}, fmt.Errorf("asset #%d: %w", q.AssetID, &DeniedError{User: q.User, Account: q.Account})
	}
	acc := list[0]
	denied := &DeniedError{User: q.User, Asset: acc.Asset.Name, Account: q.Account}
	out := Access{Asset: acc.Asset, OrgID: acc.OrgID, Org: acc.Org}
	for _, g := range acc.Accounts {
		if q.Account != "" && g.Username != q.Account {
			continue
		}
		missing := missingActions(g, q.Actions)
		if len(missing) == 0 {
			out.Accounts = append(out.Accounts, g)
		} else if q.Account != "" || len(denied.Missing) == 0 || len(missing) < len(denied.Missing) {
			denied.Missing = missing
		}
	}
	if len(out.Accounts) == 0 {
		if q.Account == "" && len(denied.Missing) == 0 {
			denied.Missing = slices.Clone(q.Actions)
		}
		return Access{}, denied
	}
	if q.Port == 0 {
		return out, nil
	}
	return s.authorizePort(ctx, out, denied, q.Port)
}

// missingActions returns the actions of want that g lacks.
func missingActions(g GrantedAccount, want []string) []string {
	var out []string
	for _, a := range want {
		if !g.Can(a) {
			out = append(out, a)
		}
	}
	return out
}

// authorizePort narrows acc to the accounts whose forward grants open
// port, with one query for all their grants.
func (s *Store) authorizePort(ctx context.Context, acc Access, denied *DeniedError, port int) (Access, error) {
	var names []string
	for _, g := range acc.Accounts {
		names = append(names, g.Grants...)
	}
	slices.Sort(names)
	opens, err := s.InOrg(acc.OrgID).forwardGrantPorts(ctx, slices.Compact(names), acc.Asset.Port)
	if err != nil {
		return Access{}, err
	}
	var open []int
	out := Access{Asset: acc.Asset, OrgID: acc.OrgID, Org: acc.Org}
	for _, g := range acc.Accounts {
		ok := false
		for _, name := range g.Grants {
			open = append(open, opens[name]...)
			ok = ok || slices.Contains(opens[name], port)
		}
		if ok {
			out.Accounts = append(out.Accounts, g)
		}
	}
	if len(out.Accounts) == 0 {
		slices.Sort(open)
		denied.Missing, denied.Port, denied.Ports = nil, port, slices.Compact(open)
		return Access{}, denied
	}
	return out, nil
}

// IsDenied reports whether err is a refusal, and the details when it
// names them.
func IsDenied(err error) (*DeniedError, bool) {
	var de *DeniedError
	if errors.As(err, &de) {
		return de, true
	}
	return nil, errors.Is(err, ErrDenied)
}
