package automation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jms-bastion/jms/store"
)

// Marks of a discovered account.
const (
	MarkManaged = "managed" // jms stores an account of this name on the asset
	MarkUnknown = "unknown" // jms does not
)

// LocalAccount is an account found on an asset.
type LocalAccount struct {
	Asset string `json:"asset" yaml:"asset"`
	Name  string `json:"name" yaml:"name"`
	UID   int    `json:"uid" yaml:"uid"`
	Shell string `json:"shell" yaml:"shell"`
	// Password is "set", "empty", "locked" or "none".
	Password string `json:"password" yaml:"password"`
	Keys     int    `json:"keys" yaml:"keys"` // lines of authorized_keys
	// UnmanagedKeys are the keys that are not the stored key of a
	// managed account.
	UnmanagedKeys int    `json:"unmanaged_keys" yaml:"unmanaged_keys"`
	LastLogin     string `json:"last_login" yaml:"last_login"`
	Sudo          string `json:"sudo" yaml:"sudo"` // "ALL", "some", "no" or "?"
	Mark          string `json:"mark" yaml:"mark"`
	// Risks say why the account deserves a look: uid 0 other than root,
	// an empty password, keys nobody manages.
	Risks []string `json:"risks,omitempty" yaml:"risks,omitempty"`
}

// Discovery is what discover found on one asset, or why it could not.
type Discovery struct {
	Asset    string         `json:"asset" yaml:"asset"`
	Status   Status         `json:"status" yaml:"status"`
	Detail   string         `json:"detail,omitempty" yaml:"detail,omitempty"`
	Accounts []LocalAccount `json:"accounts" yaml:"accounts"`
	// Added are the accounts adopted (--add).
	Added []string `json:"added,omitempty" yaml:"added,omitempty"`
}

// noLoginShells are shells that refuse logins.
var noLoginShells = []string{"/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false", "/bin/sync", ""}

// interesting reports whether discover lists an account: root and
// uid 0, every account with a login shell, and users' uids (1000 and up,
// nobody aside).
func interesting(pe passwdEntry) bool {
	return pe.uid == 0 || !slices.Contains(noLoginShells, pe.shell) || (pe.uid >= minUID && pe.uid != 65534)
}

// Discover lists the local accounts of the assets, marked managed or
// unknown and with their risks. add names accounts to adopt as accounts
// without a secret where they are found.
func (r *Runner) Discover(ctx context.Context, t Target, add []string) ([]Discovery, error) {
	var assets []store.Asset
	switch {
	case t.Asset != "":
		a, err := r.st.GetAsset(ctx, t.Asset)
		if err != nil {
			return nil, err
		}
		assets = []store.Asset{a}
	case t.Node != "":
		as, err := r.st.ListAssets(ctx, store.AssetQuery{Node: t.Node})
		if err != nil {
			return nil, err
		}
		assets = as
	default:
		return nil, errors.New("name an asset or --node PATH")
	}
	for _, n := range add {
		if err := ValidAccountUser(n); err != nil {
			return nil, err
		}
	}
	out := make([]Discovery, len(assets))
	idx := make([]int, len(assets))
	for i := range idx {
		idx[i] = i
	}
	forEach(ctx, r, idx, func(ctx context.Context, i int) []Result {
		ctx, cancel := r.bounded(ctx)
		defer cancel()
		out[i] = r.discoverAsset(ctx, assets[i], add)
		return nil
	})
	return out, nil
}

func (r *Runner) discoverAsset(ctx context.Context, asset store.Asset, add []string) Discovery {
	d := Discovery{Asset: asset.Name}
	p, st, detail := r.connectPrivileged(ctx, asset)
	if p == nil {
		d.Status, d.Detail = st, detail
		return d
	}
	defer p.client.Close()
	f, err := r.facts(ctx, asset, p.remote)
	if err != nil {
		d.Status, d.Detail = StatusFailed, firstLine(err.Error())
		return d
	}
	if f.OSFamily == "" {
		d.Status, d.Detail = StatusUnsupported, "os "+f.OSID+" "+f.OSVersion
		return d
	}
	accs, err := r.localAccounts(ctx, p.remote, asset)
	if err != nil {
		d.Status, d.Detail = StatusFailed, firstLine(err.Error())
		return d
	}
	d.Status, d.Accounts = StatusOK, accs
	for _, n := range add {
		i := slices.IndexFunc(accs, func(a LocalAccount) bool { return a.Name == n })
		if i < 0 || accs[i].Mark == MarkManaged {
			continue
		}
		if _, err := r.st.AddAccount(ctx, store.NewAccount{Asset: asset.Name, Username: n, SecretKind: store.SecretNone,
			Comment: "adopted by discover"}); err != nil {
			d.Status, d.Detail = StatusFailed, "adopt "+n+": "+firstLine(err.Error())
			return d
		}
		d.Accounts[i].Mark = MarkManaged
		d.Added = append(d.Added, n)
	}
	return d
}

// localAccounts reads the asset's accounts and judges them.
func (r *Runner) localAccounts(ctx context.Context, rem remote, asset store.Asset) ([]LocalAccount, error) {
	out, err := rem.run(ctx, command{args: []string{"getent", "passwd"}})
	if err != nil {
		return nil, fmt.Errorf("getent passwd: %w", err)
	}
	shadow, err := rem.run(ctx, command{args: []string{"getent", "shadow"}})
	if err != nil {
		return nil, fmt.Errorf("getent shadow: %w", err)
	}
	pwState := passwordStates(shadow)
	lastLogins := map[string]string{}
	if ll, err := rem.run(ctx, command{args: []string{"lastlog"}}); err == nil {
		lastLogins = parseLastlog(ll)
	}
	stored, err := r.st.ListAccounts(ctx, asset.Name)
	if err != nil {
		return nil, err
	}
	var accs []LocalAccount
	var probe []passwdEntry
	for _, line := range strings.Split(out, "\n") {
		pe, err := parsePasswd(line)
		if err != nil || !interesting(pe) {
			continue
		}
		la := LocalAccount{Asset: asset.Name, Name: printableText(pe.name), UID: pe.uid, Shell: printableWord(pe.shell),
			Password: pwState[pe.name], LastLogin: lastLogins[pe.name], Mark: MarkUnknown, Sudo: "?"}
		if la.Password == "" {
			la.Password = "none"
		}
		accs = append(accs, la)
		// A name that is not a portable Unix name never goes into a
		// command: it is listed, as a risk, unprobed.
		if ValidAccountUser(pe.name) == nil && strings.HasPrefix(pe.home, "/") {
			probe = append(probe, pe)
		}
	}
	found, err := probeAccounts(ctx, rem, probe)
	if err != nil {
		return nil, err
	}
	for i := range accs {
		la := &accs[i]
		p, ok := found[la.Name]
		managedKey := r.managedKeyBlob(ctx, stored, la.Name, la)
		if ok {
			la.Keys, la.UnmanagedKeys = countKeys(p.keys, managedKey)
			la.Sudo = sudoRights(p.sudo)
		}
		la.Risks = risks(*la)
		if !ok {
			la.Risks = append(la.Risks, "unusual name or home (not probed)")
		}
	}
	return accs, nil
}

// probed is what one session read of an account.
type probed struct{ keys, sudo string }

// probeScript reads, for each user given after a marker, its
// authorized_keys (as the user) and what sudo lets it run. It is fixed
// text: the users come as arguments, already checked.
const probeScript = `m=$1; shift
for u do
  h=$(getent passwd "$u" | cut -d: -f6)
  printf '%s keys %s\n' "$m" "$u"
  runuser -u "$u" -- cat "$h/.ssh/authorized_keys" 2>/dev/null
  printf '%s sudo %s\n' "$m" "$u"
  sudo -n -l -U "$u" 2>&1
done
printf '%s end\n' "$m"`

// probeAccounts reads the keys and sudo rights of the accounts in one
// session; the sections are split on a random marker that the files
// read cannot forge.
func probeAccounts(ctx context.Context, rem remote, users []passwdEntry) (map[string]probed, error) {
	out := map[string]probed{}
	if len(users) == 0 {
		return out, nil
	}
	mark := "jms-" + randomHex(8)
	args := []string{"sh", "-c", probeScript, "sh", mark}
	for _, u := range users {
		args = append(args, u.name)
	}
	text, err := rem.run(ctx, command{args: args})
	if err != nil {
		return nil, fmt.Errorf("read the accounts' keys and sudo rights: %w", err)
	}
	if !strings.Contains(text, mark+" end\n") {
		return nil, errors.New("read the accounts' keys and sudo rights: the output was cut short")
	}
	var user, section string
	var b strings.Builder
	flush := func() {
		if user == "" {
			return
		}
		p := out[user]
		if section == "keys" {
			p.keys = b.String()
		} else {
			p.sudo = b.String()
		}
		out[user] = p
		b.Reset()
	}
	for _, l := range strings.SplitAfter(text, "\n") {
		if rest, ok := strings.CutPrefix(l, mark+" "); ok {
			flush()
			f := strings.Fields(rest)
			if len(f) == 2 {
				section, user = f[0], f[1]
			} else {
				user = ""
			}
			continue
		}
		b.WriteString(l)
	}
	return out, nil
}

// managedKeyBlob marks la managed when the store has its account, and
// returns the stored key's public blob when it has one.
func (r *Runner) managedKeyBlob(ctx context.Context, stored []store.Account, name string, la *LocalAccount) []byte {
	i := slices.IndexFunc(stored, func(a store.Account) bool { return a.Username == name })
	if i < 0 {
		return nil
	}
	la.Mark = MarkManaged
	if stored[i].SecretKind != store.SecretKey {
		return nil
	}
	_, sec, err := r.st.AccountSecret(ctx, stored[i].ID)
	if err != nil {
		return nil
	}
	defer clear(sec)
	line, err := publicLine(sec)
	if err != nil {
		return nil
	}
	return keyBlob(line)
}

// countKeys counts the keys of an authorized_keys text, and those that
// are not the managed one.
func countKeys(text string, managed []byte) (all, unmanaged int) {
	for _, l := range strings.Split(text, "\n") {
		blob := keyBlob(strings.TrimSpace(l))
		if blob == nil {
			continue
		}
		all++
		if managed == nil || string(blob) != string(managed) {
			unmanaged++
		}
	}
	return all, unmanaged
}

// sudoRights reads what sudo -l -U said: "ALL", "some", "no", or "?"
// when sudo could not say.
func sudoRights(out string) string {
	if strings.Contains(out, "is not allowed to run sudo") {
		return "no"
	}
	_, rules, ok := strings.Cut(out, "may run the following commands")
	if !ok {
		return "?"
	}
	for _, l := range strings.Split(rules, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasSuffix(l, ") ALL") || strings.HasSuffix(l, ": ALL") || l == "ALL" {
			return "ALL"
		}
	}
	return "some"
}

// passwordStates reads getent shadow into name -> set, empty, locked or
// none. The hashes themselves are not kept.
func passwordStates(shadow string) map[string]string {
	out := map[string]string{}
	for _, l := range strings.Split(shadow, "\n") {
		f := strings.SplitN(l, ":", 3)
		if len(f) < 2 {
			continue
		}
		switch h := f[1]; {
		case h == "":
			out[f[0]] = "empty"
		case strings.HasPrefix(h, "!"):
			out[f[0]] = "locked"
		case strings.HasPrefix(h, "*"):
			out[f[0]] = "none"
		default:
			out[f[0]] = "set"
		}
	}
	return out
}

// parseLastlog reads lastlog's table into name -> when ("never" when
// never).
func parseLastlog(text string) map[string]string {
	out := map[string]string{}
	for i, l := range strings.Split(text, "\n") {
		f := strings.Fields(l)
		if i == 0 || len(f) < 2 {
			continue
		}
		switch {
		case strings.Contains(l, "**Never logged in**"):
			out[f[0]] = "never"
		case len(f) >= 7:
			out[f[0]] = printableText(strings.Join(f[len(f)-6:], " "))
		}
	}
	return out
}

// printableText keeps the printable ASCII of s, at most 64 bytes.
func printableText(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 64 {
			break
		}
		if r >= ' ' && r < 0x7f {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// risks says why an account deserves a look.
func risks(la LocalAccount) []string {
	var out []string
	if la.UID == 0 && la.Name != "root" {
		out = append(out, "uid 0")
	}
	if la.Password == "empty" {
		out = append(out, "empty password")
	}
	if la.UnmanagedKeys > 0 {
		out = append(out, fmt.Sprintf("%d unmanaged keys", la.UnmanagedKeys))
	}
	return out
}
