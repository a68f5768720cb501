package filter

import (
	"regexp"
	"slices"
	"strings"
)

// ReadsCommands reports whether an exec command runs a program that reads
// commands from its standard input: a shell without -c or a script (sh,
// bash -s, zsh -i), an interpreter or database client without a script or
// with - (python3, perl, ruby, node, psql …), su or runuser without -c,
// sudo -s or sudo -i without a command, ssh without a remote command (or
// with one that does so itself), chroot, nsenter, unshare and script on
// their own, and docker, podman or kubectl exec/run with -i. Prefixes are
// looked through (env, exec, nohup, sudo, absolute paths …), and every
// command of a list or pipeline counts (cd /tmp && sh). The proxy judges
// such a session's input line by line, as it does for a shell without a
// PTY.
//
// Where a known program's options leave it unsure, it answers yes; a
// program it does not know answers no (its input passes untouched).
func ReadsCommands(cmd string) bool {
	return readsCommands(cmd, 0)
}

// readsCommands is ReadsCommands at a depth of ssh remote commands; past
// maxDepth it answers yes.
func readsCommands(cmd string, depth int) bool {
	if depth > maxDepth {
		return true
	}
	for _, sc := range Split(cmd) {
		plain := plainWords(sc)
		if suShell(plain) || subReadsCommands(stripPrefixes(plain), depth) {
			return true
		}
	}
	return false
}

// suShell reports whether words run su, or runuser in its su form
// (runuser -l USER), without -c: a login shell that reads stdin.
// runuser -u USER CMD is a prefix that Normalize looks through.
func suShell(words []string) bool {
	for i, w := range words {
		switch basename(w) {
		case "su":
		case "runuser":
			if slices.ContainsFunc(words[i+1:], func(a string) bool {
				return a == "--user" || strings.HasPrefix(a, "--user=") ||
					len(a) > 1 && a[0] == '-' && a[1] != '-' && strings.ContainsRune(a, 'u')
			}) {
				continue
			}
		default:
			continue
		}
		_, hasCmd := suScript(words[i+1:])
		return !hasCmd
	}
	return false
}

// interpreterSpec says how to tell an interpreter's script from its
// options: which options name the code inline (-c, -e) and which take an
// argument.
type interpreterSpec struct {
	inline   string // short options whose argument is the program
	argShort string // other short options that take an argument
	interact string // short options that read stdin after all (-i)
}

var interpreters = map[string]interpreterSpec{
	"python":  {inline: "cm", argShort: "WXQ", interact: "i"},
	"pypy":    {inline: "cm", argShort: "WXQ", interact: "i"},
	"perl":    {inline: "eE", argShort: "IMmxiC0l"},
	"ruby":    {inline: "e", argShort: "IrCEx"},
	"irb":     {},
	"node":    {inline: "ep", argShort: "r", interact: "i"},
	"nodejs":  {inline: "ep", argShort: "r", interact: "i"},
	"deno":    {},
	"php":     {inline: "rRBE", argShort: "cdz", interact: "a"},
	"lua":     {inline: "e", argShort: "l", interact: "i"},
	"luajit":  {inline: "e", argShort: "lbj", interact: "i"},
	"tclsh":   {},
	"wish":    {},
	"expect":  {inline: "c", interact: "i"},
	"guile":   {inline: "c", argShort: "Ll"},
	"R":       {inline: "e"},
	"julia":   {inline: "eE", interact: "i"},
	"gdb":     {inline: "x", argShort: "p"},
	"mysql":   {inline: "e", argShort: "uphPSD"},
	"psql":    {inline: "cf", argShort: "dhpUvP"},
	"sqlite3": {},
}

var versioned = regexp.MustCompile(`^([a-zA-Z]+?)[0-9][0-9.]*$`)

// interpreterName returns the interpreters key of a program name, with a
// version suffix taken off (python3.12 → python), or "".
func interpreterName(name string) string {
	if _, ok := interpreters[name]; ok {
		return name
	}
	if m := versioned.FindStringSubmatch(name); m != nil {
		if _, ok := interpreters[m[1]]; ok {
			return m[1]
		}
	}
	return ""
}

// stdinPaths are script operands that name standard input.
var stdinPaths = map[string]bool{"-": true, "/dev/stdin": true, "/dev/fd/0": true, "/proc/self/fd/0": true}

// subReadsCommands looks at one normalized simple command.
func subReadsCommands(ws []string, depth int) bool {
	if len(ws) == 0 {
		return false
	}
	name := basename(ws[0])
	args := ws[1:]
	switch {
	case shells[name]:
		return shellReadsStdin(args)
	case name == "busybox" && len(args) > 0 && (shells[basename(args[0])]):
		return shellReadsStdin(args[1:])
	case name == "su" || name == "runuser":
		_, hasCmd := suScript(args)
		return !hasCmd
	case name == "sudo" || name == "doas":
		// A prefix alone (Normalize found no command): sudo -s, sudo -i,
		// doas -s run a shell.
		return true
	case name == "ssh":
		rest := sshRemote(args)
		return len(rest) == 0 || readsCommands(strings.Join(rest, " "), depth+1)
	case name == "chroot" || name == "nsenter" || name == "unshare" || name == "machinectl":
		// On their own they run a shell; with a command, Normalize
		// (chroot) or the person's own input decides: err on yes.
		return true
	case name == "script":
		return !slices.ContainsFunc(args, func(a string) bool {
			return a == "--command" || strings.HasPrefix(a, "--command=") ||
				len(a) > 1 && a[0] == '-' && a[1] != '-' && strings.ContainsRune(a, 'c')
		})
	case containerTools[name]:
		return containerInteractive(args)
	}
	if in := interpreterName(name); in != "" {
		return interpreterReadsStdin(args, interpreters[in])
	}
	return false
}

// containerTools run commands in containers; with -i their command reads
// the person's input.
var containerTools = map[string]bool{"docker": true, "podman": true, "nerdctl": true, "kubectl": true, "oc": true, "lxc": true, "ctr": true}

// containerInteractive reports whether a container tool's arguments run a
// command attached to stdin: exec, run or attach with -i (-it, --stdin,
// --interactive).
func containerInteractive(args []string) bool {
	sub := false
	for _, a := range args {
		switch {
		case a == "exec" || a == "run" || a == "attach" || a == "debug":
			sub = true
		case a == "--stdin" || a == "--interactive" || a == "-i" ||
			len(a) > 1 && a[0] == '-' && a[1] != '-' && strings.ContainsRune(a, 'i'):
			if sub {
				return true
			}
		case a == "--":
			return false
		}
	}
	return false
}

// shellReadsStdin reports whether a shell with args reads its commands
// from standard input: no -c and no script, or -s, or -i, or a script
// that is standard input.
func shellReadsStdin(args []string) bool {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return i+1 >= len(args) || stdinPaths[args[i+1]]
		case a == "--rcfile" || a == "--init-file":
			i++
		case strings.HasPrefix(a, "--"):
		case len(a) > 1 && (a[0] == '-' || a[0] == '+'):
			opts := a[1:]
			if a[0] == '-' && strings.ContainsRune(opts, 'c') {
				return false
			}
			if a[0] == '-' && strings.ContainsAny(opts, "si") {
				return true
			}
			if strings.ContainsAny(opts, "oO") {
				i++
			}
		default:
			return stdinPaths[a]
		}
	}
	return true
}

// interpreterReadsStdin reports whether an interpreter with args reads its
// program from standard input.
func interpreterReadsStdin(args []string, spec interpreterSpec) bool {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return i+1 >= len(args) || stdinPaths[args[i+1]]
		case a == "-":
			return true
		case strings.HasPrefix(a, "--"):
			// Long options are not known one by one; --eval=… and
			// --command=… carry the program inline.
			name, _, _ := strings.Cut(a[2:], "=")
			if name == "eval" || name == "command" || name == "execute" {
				return false
			}
		case len(a) > 1 && a[0] == '-':
			for k := 1; k < len(a); k++ {
				c := a[k]
				switch {
				case strings.IndexByte(spec.interact, c) >= 0:
					return true
				case strings.IndexByte(spec.inline, c) >= 0:
					return false
				case strings.IndexByte(spec.argShort, c) >= 0:
					if k == len(a)-1 {
						i++
					}
					k = len(a)
				}
			}
		default:
			return stdinPaths[a]
		}
	}
	return true
}

// sshArgShort are the ssh options that take an argument.
const sshArgShort = "BbcDEeFIiJLlmOoPpQRSWw"

// sshRemote returns the remote command words of an ssh command line: what
// follows the destination.
func sshRemote(args []string) []string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			if i+1 < len(args) {
				return args[i+2:]
			}
			return nil
		case len(a) > 1 && a[0] == '-':
			for k := 1; k < len(a); k++ {
				if strings.IndexByte(sshArgShort, a[k]) >= 0 {
					if k == len(a)-1 {
						i++
					}
					break
				}
			}
		default:
			return args[i+1:]
		}
	}
	return nil
}
