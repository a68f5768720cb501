package automation

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/jms-bastion/jms/store"
)

// factsScript reads the platform in one session (fixed text).
const factsScript = `m=$1
sec() { printf '\n%s %s\n' "$m" "$1"; }
sec os-release; cat /etc/os-release; sec "rc $?"
sec arch; uname -m; sec "rc $?"
sec hostname; uname -n; sec "rc $?"
sec end`

// gatherFacts asks the asset what it runs.
func gatherFacts(ctx context.Context, r remote) (store.AssetFacts, error) {
	mark := "jms-" + randomHex(8)
	out, err := r.run(ctx, command{args: []string{"sh", "-c", factsScript, "sh", mark}})
	if err != nil {
		return store.AssetFacts{}, err
	}
	sections, ok := parseProbe(out, mark)
	if !ok {
		return store.AssetFacts{}, errors.New("the output was cut short")
	}
	got := map[string]string{}
	for _, sec := range sections {
		if sec.rc == 0 {
			got[sec.name] = sec.text
		}
	}
	return factsFrom(got["os-release"], got["arch"], got["hostname"]), nil
}

// userState is what an asset has of a managed user.
type userState struct {
	exists     bool
	uid, gid   int
	home       string
	shell      string
	groups     []string // every group the user is in, the primary one too
	homeExists bool
	// locked: the password field starts with "!" (useradd's default),
	// which sshd without PAM holds against key logins too.
	locked      bool
	hasPassword bool
	// authorizedKeys is ~/.ssh/authorized_keys ("" when none).
	authorizedKeys string
	// sudoers is the jms drop-in ("" when none).
	sudoers string
	// missingGroups are the wanted groups the asset lacks.
	missingGroups []string
}

// passwdEntry is one getent passwd line.
type passwdEntry struct {
	name        string
	uid, gid    int
	home, shell string
}

func parsePasswd(line string) (passwdEntry, error) {
	f := strings.Split(strings.TrimSpace(line), ":")
	if len(f) != 7 {
		return passwdEntry{}, fmt.Errorf("unexpected passwd line (%d fields)", len(f))
	}
	uid, err1 := strconv.Atoi(f[2])
	gid, err2 := strconv.Atoi(f[3])
	if err1 != nil || err2 != nil {
		return passwdEntry{}, fmt.Errorf("unexpected passwd line for %q: uid or gid not a number", f[0])
	}
	return passwdEntry{name: f[0], uid: uid, gid: gid, home: f[5], shell: f[6]}, nil
}

func sudoersPath(user string) string { return "/etc/sudoers.d/jms-" + user }

func authorizedKeysPath(home string) string { return path.Join(home, ".ssh", "authorized_keys") }

// userProbeScript reads, in one session, what probeUser needs. It is
// fixed text: the user and the groups come as arguments, already
// checked; each section ends with the exit status of its command.
const userProbeScript = `m=$1; u=$2; shift 2
sec() { printf '\n%s %s\n' "$m" "$1"; }
sec passwd; getent passwd "$u"; sec "rc $?"
for g do sec "group"; getent group "$g" >/dev/null; sec "rc $?"; done
sec sudoers; cat "/etc/sudoers.d/jms-$u" 2>/dev/null; sec "rc $?"
if getent passwd "$u" >/dev/null; then
  h=$(getent passwd "$u" | cut -d: -f6)
  sec groups; id -nG "$u"; sec "rc $?"
  sec shadow; getent shadow "$u" | cut -d: -f2; sec "rc $?"
  sec home; test -d "$h"; sec "rc $?"
  sec keys; runuser -u "$u" -- cat "$h/.ssh/authorized_keys" 2>/dev/null; sec "rc $?"
fi
sec end`

// probeSection is one section of the probe's output.
type probeSection struct {
	name, text string
	rc         int
}

// parseProbe splits the probe's output on the marker. ok is false when
// the output was cut short (no end section).
func parseProbe(out, mark string) (sections []probeSection, ok bool) {
	var cur *probeSection
	var b strings.Builder
	for _, l := range strings.SplitAfter(out, "\n") {
		rest, isMark := strings.CutPrefix(strings.TrimSuffix(l, "\n"), mark+" ")
		if !isMark {
			b.WriteString(l)
			continue
		}
		switch {
		case rest == "end":
			return sections, true
		case strings.HasPrefix(rest, "rc "):
			if cur != nil {
				cur.rc, _ = strconv.Atoi(strings.TrimPrefix(rest, "rc "))
				// The section's text ends with the newline sec printed.
				cur.text = strings.TrimSuffix(b.String(), "\n")
				sections = append(sections, *cur)
				cur = nil
			}
		default:
			cur = &probeSection{name: rest}
		}
		b.Reset()
	}
	return sections, false
}

// probeUser reads the state of user and the wanted groups, changing
// nothing, in one session. A missing user is not an error.
func probeUser(ctx context.Context, r remote, user string, groups []string) (userState, error) {
	var st userState
	mark := "jms-" + randomHex(8)
	out, err := r.run(ctx, command{args: append([]string{"sh", "-c", userProbeScript, "sh", mark, user}, groups...)})
	if err != nil {
		return st, fmt.Errorf("read the account: %w", err)
	}
	sections, ok := parseProbe(out, mark)
	if !ok {
		return st, errors.New("read the account: the output was cut short")
	}
	gi := 0
	for _, sec := range sections {
		switch sec.name {
		case "passwd":
			switch sec.rc {
			case 0:
				pe, err := parsePasswd(firstLine(sec.text))
				if err != nil {
					return st, err
				}
				st.exists, st.uid, st.gid, st.home, st.shell = true, pe.uid, pe.gid, pe.home, pe.shell
			case 2: // no such user
			default:
				return st, fmt.Errorf("getent passwd exited with status %d", sec.rc)
			}
		case "group":
			if gi < len(groups) && sec.rc == 2 {
				st.missingGroups = append(st.missingGroups, groups[gi])
			} else if sec.rc != 0 {
				return st, fmt.Errorf("getent group exited with status %d", sec.rc)
			}
			gi++
		case "sudoers":
			if sec.rc == 0 {
				st.sudoers = sec.text
			}
		case "groups":
			st.groups = strings.Fields(sec.text)
		case "shadow":
			if f := strings.TrimSpace(sec.text); sec.rc == 0 {
				st.locked = strings.HasPrefix(f, "!")
				pw := strings.TrimLeft(f, "!")
				st.hasPassword = pw != "" && !strings.HasPrefix(pw, "*")
			}
		case "home":
			st.homeExists = sec.rc == 0
		case "keys":
			if sec.rc == 0 {
				st.authorizedKeys = sec.text
			}
		}
	}
	if gi != len(groups) {
		return st, errors.New("read the account: the groups were not all read")
	}
	return st, nil
}
