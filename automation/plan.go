package automation

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jms-bastion/jms/store"
)

// managedMarker ends the authorized_keys lines jms owns.
const managedMarker = "jms-managed"

// minUID is the lowest uid jms takes over: below are system accounts.
const minUID = 1000

// desired is what an account on an asset must be.
type desired struct {
	template string // name, for the sudoers comment
	user     string
	family   string
	shell    string
	home     bool
	groups   []string
	sudo     Sudo
	kind     string // store.SecretPassword or store.SecretKey
	// secret is the password (set through chpasswd unless passwordOK: it
	// already logs in) or the private key.
	secret     store.Secret
	passwordOK bool
	// keys are the authorized_keys lines jms wants (without the marker).
	keys []string
}

// step is one mutating command with the words a result gives it.
type step struct {
	what string
	cmd  command
	// undo runs when cmd fails (e.g. remove a temporary file).
	undo *command
}

// plan returns the commands that make st what d wants, in order; none
// when it already is. Pure: table-tested without an asset.
func plan(d desired, st userState) ([]step, error) {
	if st.exists && st.uid < minUID {
		return nil, fmt.Errorf("user %s exists as a system account (uid %d): jms does not take it over", d.user, st.uid)
	}
	var steps []step
	for _, g := range st.missingGroups {
		steps = append(steps, step{what: "group " + g, cmd: command{mutates: true, args: []string{"groupadd", g}}})
	}
	home := st.home
	if !st.exists {
		home = "/home/" + d.user
		args := []string{"useradd"}
		if d.home {
			args = append(args, "-m")
		} else if d.family == FamilyRHEL {
			args = append(args, "-M") // RHEL's useradd makes a home unless told not to
		}
		args = append(args, "-d", home)
		if d.shell != "" {
			args = append(args, "-s", d.shell)
		}
		if len(d.groups) > 0 {
			args = append(args, "-G", strings.Join(d.groups, ","))
		}
		if d.kind == store.SecretKey {
			args = append(args, "-p", "*") // no password, not locked: keys log in
		}
		args = append(args, "-c", "managed by jms", d.user)
		steps = append(steps, step{what: "user created", cmd: command{mutates: true, args: args}})
	} else {
		steps = append(steps, userChanges(d, st)...)
	}
	if d.kind == store.SecretPassword && !d.passwordOK {
		if err := checkPassword(d.secret); err != nil {
			return nil, err
		}
		in := append(append([]byte(d.user+":"), d.secret...), '\n')
		steps = append(steps, step{what: "password set", cmd: command{mutates: true, args: []string{"chpasswd"},
			stdin: in, shownStdin: d.user + ":[redacted]"}})
	}
	if len(d.keys) > 0 {
		ks, err := keySteps(d, st, home)
		if err != nil {
			return nil, err
		}
		steps = append(steps, ks...)
	}
	return append(steps, sudoSteps(d, st)...), nil
}

// userChanges brings an existing user's shell, groups, home and lock in
// line.
func userChanges(d desired, st userState) []step {
	var steps []step
	if d.shell != "" && st.shell != d.shell {
		steps = append(steps, step{what: "shell " + d.shell, cmd: command{mutates: true, args: []string{"usermod", "-s", d.shell, d.user}}})
	}
	var missing []string
	for _, g := range d.groups {
		if !slices.Contains(st.groups, g) {
			missing = append(missing, g)
		}
	}
	if len(missing) > 0 {
		steps = append(steps, step{what: "groups " + strings.Join(missing, ","),
			cmd: command{mutates: true, args: []string{"usermod", "-a", "-G", strings.Join(missing, ","), d.user}}})
	}
	if d.home && !st.homeExists {
		steps = append(steps, step{what: "home created", cmd: command{mutates: true, args: []string{"install", "-d", "-m", "0700",
			"-o", strconv.Itoa(st.uid), "-g", strconv.Itoa(st.gid), st.home}}})
	}
	if d.kind == store.SecretKey && st.locked && !st.hasPassword {
		steps = append(steps, step{what: "unlocked for keys", cmd: command{mutates: true, args: []string{"usermod", "-p", "*", d.user}}})
	}
	return steps
}

// authorizedKeys returns the new authorized_keys: the lines jms does not
// manage, kept in order, then keys marked as jms's.
func authorizedKeys(current string, keys []string) string {
	var b strings.Builder
	for _, l := range strings.Split(current, "\n") {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasSuffix(t, " "+managedMarker) {
			continue
		}
		b.WriteString(t + "\n")
	}
	for _, k := range keys {
		b.WriteString(k + " " + managedMarker + "\n")
	}
	return b.String()
}

// keySteps writes authorized_keys as the user, through a temporary file
// renamed over it, when it is not what d wants.
func keySteps(d desired, st userState, home string) ([]step, error) {
	if st.exists && !st.homeExists && !d.home {
		return nil, fmt.Errorf("the home directory %s of %s does not exist: give the template --home", home, d.user)
	}
	want := authorizedKeys(st.authorizedKeys, d.keys)
	if want == st.authorizedKeys {
		return nil, nil
	}
	return keyWriteSteps(d.user, home, want), nil
}

// keyWriteScript writes stdin as $1/.ssh/authorized_keys through a
// temporary file renamed over it, removed if a step fails. It runs as
// the user.
const keyWriteScript = `set -e
d=$1/.ssh; f=$d/authorized_keys; t=$f.jms-new
trap 'rm -f "$t"' EXIT
mkdir -p "$d"; chmod 0700 "$d"
cat > "$t"; chmod 0600 "$t"
mv -f "$t" "$f"`

// keyWriteSteps write content as user's authorized_keys, as the user,
// in one session.
func keyWriteSteps(user, home, content string) []step {
	dir := home + "/.ssh"
	file := authorizedKeysPath(home)
	tmp := file + ".jms-new"
	as := func(args ...string) string {
		return commandLine(append([]string{"runuser", "-u", user, "--"}, args...))
	}
	c := script("write authorized_keys", keyWriteScript, []string{
		as("mkdir", "-p", dir), as("chmod", "0700", dir), as("tee", tmp) + " <<< [authorized_keys]",
		as("chmod", "0600", tmp), as("mv", "-f", tmp, file),
	}, home)
	c.asUser, c.stdin = user, []byte(content)
	return []step{{what: "authorized_keys written", cmd: c}}
}

// sudoersContent is the drop-in for d ("" when it allows nothing).
func sudoersContent(d desired) string {
	if d.sudo.Empty() {
		return ""
	}
	return "# managed by jms (template " + d.template + "): the next push rewrites this file\n" + d.sudo.sudoersLine(d.user) + "\n"
}

// sudoersScript installs stdin as the drop-in $2 once visudo accepted
// it as $1, a temporary file that is removed if a step fails. A file
// with a "." in its name is ignored by sudo's includedir, so the
// temporary one never counts.
const sudoersScript = `set -e
t=$1; f=$2
trap 'rm -f "$t"' EXIT
cat > "$t"; chmod 0440 "$t"
visudo -c -q -f "$t"
mv -f "$t" "$f"`

// sudoSteps installs the drop-in after visudo accepted it, or removes it
// when the template gives no sudo.
func sudoSteps(d desired, st userState) []step {
	want := sudoersContent(d)
	final := sudoersPath(d.user)
	if want == st.sudoers {
		return nil
	}
	if want == "" {
		return []step{{what: "sudo removed", cmd: command{mutates: true, args: []string{"rm", "-f", final}}}}
	}
	tmp := "/etc/sudoers.d/.jms-" + d.user + ".new"
	c := script("install the sudoers drop-in", sudoersScript, []string{
		commandLine([]string{"tee", tmp}) + " <<< [sudoers rule]", commandLine([]string{"chmod", "0440", tmp}),
		commandLine([]string{"visudo", "-c", "-q", "-f", tmp}), commandLine([]string{"mv", "-f", tmp, final}),
	}, tmp, final)
	c.stdin = []byte(want)
	return []step{{what: "sudo " + d.sudo.String(), cmd: c}}
}
