package automation

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// unixNameRE is the portable user and group name of useradd's default
// NAME_REGEX, without the trailing "$" of machine accounts: it can never
// start with "-" (read as an option) nor hold a shell metacharacter.
var unixNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

// reservedUsers are accounts a template must never take over.
var reservedUsers = map[string]bool{
	"root": true, "daemon": true, "bin": true, "sys": true, "sync": true, "games": true, "man": true,
	"lp": true, "mail": true, "news": true, "uucp": true, "proxy": true, "www-data": true, "backup": true,
	"list": true, "irc": true, "gnats": true, "nobody": true, "sshd": true, "adm": true, "halt": true,
	"shutdown": true, "operator": true, "ftp": true, "systemd-network": true, "messagebus": true,
}

// ValidUsername checks the name of an account a template manages.
func ValidUsername(name string) error {
	if !unixNameRE.MatchString(name) {
		return fmt.Errorf("invalid username %q: use 1-32 of a-z 0-9 _ -, starting with a letter or _", name)
	}
	if reservedUsers[name] {
		return fmt.Errorf("username %q is a system account: jms does not manage it", name)
	}
	return nil
}

// ValidGroup checks a supplementary group name.
func ValidGroup(name string) error {
	if !unixNameRE.MatchString(name) {
		return fmt.Errorf("invalid group %q: use 1-32 of a-z 0-9 _ -, starting with a letter or _", name)
	}
	if name == "root" {
		return errors.New(`group "root" refused: give rights with --sudo instead`)
	}
	return nil
}

// ParseGroups splits and checks a comma-separated group list.
func ParseGroups(list string) ([]string, error) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	var out []string
	seen := map[string]bool{}
	for _, g := range strings.Split(list, ",") {
		g = strings.TrimSpace(g)
		if err := ValidGroup(g); err != nil {
			return nil, err
		}
		if !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	return out, nil
}

var shellRE = regexp.MustCompile(`^(/[A-Za-z0-9._-]+)+$`)

// ValidShell checks a login shell: an absolute path of plain parts.
func ValidShell(sh string) error {
	if sh == "" {
		return nil
	}
	if len(sh) > 128 || !shellRE.MatchString(sh) {
		return fmt.Errorf("invalid shell %q: give an absolute path such as /bin/bash", sh)
	}
	for _, part := range strings.Split(sh[1:], "/") {
		if part == "." || part == ".." {
			return fmt.Errorf("invalid shell %q: no . or .. in the path", sh)
		}
	}
	return nil
}

// sudoCommandRE is one command of a sudo spec: an absolute program and
// plain arguments. Sudoers' special characters (, : = \ ! and wildcards)
// never pass, so a spec cannot widen itself.
var sudoCommandRE = regexp.MustCompile(`^(/[A-Za-z0-9._+-]+)+( [A-Za-z0-9/._+@%-]+)*$`)

// shellLike are programs that run any command: allowing one is ALL in
// disguise, so a command list refuses them.
var shellLike = map[string]bool{
	"sh": true, "bash": true, "dash": true, "zsh": true, "ksh": true, "csh": true, "tcsh": true, "fish": true,
	"su": true, "sudo": true, "env": true, "doas": true, "runuser": true, "setpriv": true, "xargs": true,
	"python": true, "python3": true, "perl": true, "ruby": true, "node": true, "busybox": true,
}

// Sudo is what a template's sudoers drop-in allows.
type Sudo struct {
	All      bool     // every command, as root
	Commands []string // else these command lines
}

// Empty reports whether the spec allows nothing (no drop-in).
func (s Sudo) Empty() bool { return !s.All && len(s.Commands) == 0 }

// String is the spec as given on the command line.
func (s Sudo) String() string {
	if s.All {
		return "ALL"
	}
	return strings.Join(s.Commands, ",")
}

// ParseSudo reads a sudo spec: "" (none), "ALL", or a comma-separated
// list of absolute command lines ("/usr/bin/systemctl restart nginx").
func ParseSudo(spec string) (Sudo, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return Sudo{}, nil
	}
	if spec == "ALL" {
		return Sudo{All: true}, nil
	}
	var s Sudo
	for _, c := range strings.Split(spec, ",") {
		c = strings.Join(strings.Fields(c), " ")
		if len(c) > 256 || !sudoCommandRE.MatchString(c) {
			return Sudo{}, fmt.Errorf("invalid sudo command %q: give ALL or absolute commands with plain arguments, comma-separated", c)
		}
		for _, part := range strings.Split(strings.Fields(c)[0][1:], "/") {
			if part == "." || part == ".." {
				return Sudo{}, fmt.Errorf("invalid sudo command %q: no . or .. in the path", c)
			}
		}
		prog := strings.Fields(c)[0]
		if shellLike[path.Base(prog)] {
			return Sudo{}, fmt.Errorf("sudo command %q runs anything: give ALL if that is meant", c)
		}
		s.Commands = append(s.Commands, c)
	}
	return s, nil
}

// sudoersLine is the drop-in's rule for user.
func (s Sudo) sudoersLine(user string) string {
	if s.All {
		return user + " ALL=(ALL:ALL) NOPASSWD: ALL"
	}
	return user + " ALL=(root) NOPASSWD: " + strings.Join(s.Commands, ", ")
}

// checkPassword refuses a password chpasswd cannot take on one line.
func checkPassword(pw []byte) error {
	if len(pw) == 0 {
		return errors.New("empty password")
	}
	for _, b := range pw {
		if b == '\n' || b == '\r' || b == 0 {
			return errors.New("the password holds a line break or NUL, which chpasswd cannot take")
		}
	}
	return nil
}
