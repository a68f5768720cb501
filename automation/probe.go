package automation

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/jms-bastion/jms/store"
)

// gatherFacts asks the asset what it runs.
func gatherFacts(ctx context.Context, r remote) (store.AssetFacts, error) {
	osr, err := r.run(ctx, command{args: []string{"cat", "/etc/os-release"}})
	if err != nil && exitStatus(err) < 0 {
		return store.AssetFacts{}, err
	}
	arch, err := r.run(ctx, command{args: []string{"uname", "-m"}})
	if err != nil {
		return store.AssetFacts{}, fmt.Errorf("uname -m: %w", err)
	}
	host, err := r.run(ctx, command{args: []string{"uname", "-n"}})
	if err != nil {
		return store.AssetFacts{}, fmt.Errorf("uname -n: %w", err)
	}
	return factsFrom(osr, arch, host), nil
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

// probeUser reads the state of user and the wanted groups, changing
// nothing. A missing user is not an error.
func probeUser(ctx context.Context, r remote, user string, groups []string) (userState, error) {
	var st userState
	out, err := r.run(ctx, command{args: []string{"getent", "passwd", user}})
	switch {
	case exitStatus(err) == 2:
	case err != nil:
		return st, fmt.Errorf("getent passwd: %w", err)
	default:
		pe, err := parsePasswd(firstLine(out))
		if err != nil {
			return st, err
		}
		st.exists, st.uid, st.gid, st.home, st.shell = true, pe.uid, pe.gid, pe.home, pe.shell
	}
	for _, g := range groups {
		if _, err := r.run(ctx, command{args: []string{"getent", "group", g}}); exitStatus(err) == 2 {
			st.missingGroups = append(st.missingGroups, g)
		} else if err != nil {
			return st, fmt.Errorf("getent group: %w", err)
		}
	}
	if sd, err := r.run(ctx, command{args: []string{"cat", sudoersPath(user)}}); err == nil {
		st.sudoers = sd
	} else if exitStatus(err) < 0 {
		return st, err
	}
	if !st.exists {
		return st, nil
	}
	if out, err = r.run(ctx, command{args: []string{"id", "-nG", user}}); err != nil {
		return st, fmt.Errorf("id -nG: %w", err)
	}
	st.groups = strings.Fields(out)
	if out, err = r.run(ctx, command{args: []string{"getent", "shadow", user}}); err == nil {
		f := strings.SplitN(strings.TrimSpace(out), ":", 3)
		if len(f) >= 2 {
			st.locked = strings.HasPrefix(f[1], "!")
			pw := strings.TrimLeft(f[1], "!")
			st.hasPassword = pw != "" && pw != "*" && !strings.HasPrefix(pw, "*")
		}
	} else if exitStatus(err) < 0 {
		return st, err
	}
	if st.home != "" && path.IsAbs(st.home) {
		if _, err := r.run(ctx, command{args: []string{"test", "-d", st.home}}); err == nil {
			st.homeExists = true
		} else if exitStatus(err) < 0 {
			return st, err
		}
	}
	if st.homeExists {
		keys, err := r.run(ctx, command{asUser: user, args: []string{"cat", authorizedKeysPath(st.home)}})
		if err == nil {
			st.authorizedKeys = keys
		} else if exitStatus(err) < 0 {
			return st, err
		}
	}
	return st, nil
}
