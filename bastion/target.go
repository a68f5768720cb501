package bastion

import (
	"fmt"
	"strings"

	"github.com/jms-bastion/jms/store"
)

// Target is what a person asked for when she logged in: her bastion
// user name and, optionally, an asset, an account on it and a command.
type Target struct {
	User    string // the bastion user
	Account string // the account on the asset; "" when not named
	Asset   string // name, address or id of the asset, or org/that; "" when not named
	Command string // the raw remote command; "" for a shell
}

// ParseTarget reads a login name and an SSH exec command. The login
// name is `user`, `user@asset`, `user@account@asset` or the same with
// '#' (for clients that mangle '@'); the asset may be `org/asset`, an
// asset of one of her organizations. Bastion user names have neither
// '@' nor '#', so the name splits at the first of them; the rest is
// `[account@]asset`. When the login name names no asset, the first word
// of the command does (`web1`, `root@web1`) and the rest of the command
// is what runs there. It never fails on a command it does not
// understand: the command belongs to the asset.
func ParseTarget(login, command string) (Target, error) {
	var t Target
	user, rest, hasRest := cutSep(login)
	if err := store.ValidName("user", user); err != nil {
		return t, fmt.Errorf("invalid login name %q: the user part %q is not a jms user name", login, user)
	}
	t.User = user
	if hasRest {
		acct, asset, err := parseAssetRef(rest)
		if err != nil {
			return t, fmt.Errorf("invalid login name %q: %w", login, err)
		}
		t.Account, t.Asset, t.Command = acct, asset, command
		return t, nil
	}
	first, more := firstWord(command)
	if first == "" {
		return t, nil
	}
	acct, asset, err := parseAssetRef(first)
	if err != nil {
		return t, fmt.Errorf("invalid target %q: %w", first, err)
	}
	t.Account, t.Asset, t.Command = acct, asset, more
	return t, nil
}

// String formats t back as a login name (the inverse of ParseTarget for
// a target without a command).
func (t Target) String() string {
	switch {
	case t.Asset == "":
		return t.User
	case t.Account == "":
		return t.User + "@" + t.Asset
	}
	return t.User + "@" + t.Account + "@" + t.Asset
}

// cutSep splits s at its first '@' or '#'.
func cutSep(s string) (before, after string, found bool) {
	if i := strings.IndexAny(s, "@#"); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}

// parseAssetRef reads `[account@]asset` (or with '#').
func parseAssetRef(ref string) (account, asset string, err error) {
	a, b, two := cutSep(ref)
	if two {
		account, asset = a, b
		if err := store.ValidAccountName(account); err != nil {
			return "", "", fmt.Errorf("%q is not an account name", account)
		}
	} else {
		asset = a
	}
	if err := checkAssetRef(asset); err != nil {
		return "", "", err
	}
	return account, asset, nil
}

// checkAssetRef checks `[org/]asset`: an organization's name and the
// name, address or id of an asset.
func checkAssetRef(ref string) error {
	asset := ref
	if org, rest, ok := strings.Cut(ref, "/"); ok {
		if store.ValidName("organization", org) != nil {
			return fmt.Errorf("%q is not an organization name", org)
		}
		asset = rest
	}
	if asset == "" {
		return fmt.Errorf("no asset named")
	}
	if len(asset) > 253 {
		return fmt.Errorf("asset name too long")
	}
	for _, r := range asset {
		if !isAssetRune(r) {
			return fmt.Errorf("%q is not an asset name, address or id", asset)
		}
	}
	return nil
}

// isAssetRune reports whether r may appear in an asset name, host name,
// IP address (v6 too) or id.
func isAssetRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("._-:[]%", r)
}

// firstWord splits a raw command into its first blank-separated word
// and the rest, keeping the rest byte for byte (its quoting is the
// asset shell's business).
func firstWord(cmd string) (first, rest string) {
	cmd = strings.TrimLeft(cmd, " \t\r\n")
	i := strings.IndexAny(cmd, " \t\r\n")
	if i < 0 {
		return cmd, ""
	}
	return cmd[:i], strings.TrimLeft(cmd[i:], " \t\r\n")
}

// connectable returns the accounts on acc that the person may connect as.
func connectable(acc store.Access) []store.GrantedAccount {
	var out []store.GrantedAccount
	for _, g := range acc.Accounts {
		if g.Can(store.ActionConnect) {
			out = append(out, g)
		}
	}
	return out
}

// accountNames lists the usernames of accounts.
func accountNames(accounts []store.GrantedAccount) []string {
	out := make([]string, len(accounts))
	for i, g := range accounts {
		out[i] = g.Username
	}
	return out
}
