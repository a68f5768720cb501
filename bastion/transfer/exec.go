package transfer

import (
	"slices"
	"strings"

	"github.com/jms-bastion/jms/store"
)

// ExecTransfer is an exec command recognised as the server side of a
// file transfer: rsync (`rsync --server …`) or legacy scp (`scp -t …`,
// `scp -f …`). Such a command needs the file actions it performs rather
// than connect.
type ExecTransfer struct {
	Tool    string   // "rsync" or "scp"
	Op      string   // OpUpload or OpDownload
	Actions []string // the actions it needs
	Paths   []string // the paths it names on the asset
}

// rsyncPaths are the names rsync may be called by.
var rsyncPaths = []string{"rsync", "/usr/bin/rsync", "/usr/local/bin/rsync", "/bin/rsync"}

// rsync options that would let a download write files or run commands
// on the asset: a command with one of them is not taken as a transfer.
var rsyncRefused = []string{"--daemon", "--config", "--log-file", "--log-file-format", "--write-batch",
	"--only-write-batch", "--read-batch", "--dparam", "-M"}

// ParseExecTransfer recognises the server side of rsync and legacy scp.
// It is strict: the command must be plain words (letters, digits,
// `._,/=+:@%~*?[]-`, backslash escapes and single quotes), so that the
// asset's shell runs exactly that program and nothing else; anything
// else is not a transfer (ok false) and is then a plain exec, which
// needs connect.
func ParseExecTransfer(cmd string) (ExecTransfer, bool) {
	words, ok := shellWords(cmd)
	if !ok || len(words) < 2 {
		return ExecTransfer{}, false
	}
	switch {
	case slices.Contains(rsyncPaths, words[0]) && words[1] == "--server":
		return parseRsync(words[2:])
	case words[0] == "scp" || words[0] == "/usr/bin/scp":
		return parseSCP(words[1:])
	}
	return ExecTransfer{}, false
}

func parseRsync(args []string) (ExecTransfer, bool) {
	x := ExecTransfer{Tool: "rsync", Op: OpUpload}
	del := false
	dot := false
	for _, a := range args {
		if dot {
			x.Paths = append(x.Paths, a)
			continue
		}
		name, _, _ := strings.Cut(a, "=")
		switch {
		case a == ".":
			// The server's argument list: "." then the paths.
			dot = true
		case a == "--sender":
			x.Op = OpDownload
		case slices.Contains(rsyncRefused, name):
			return ExecTransfer{}, false
		case strings.HasPrefix(name, "--del"), name == "--remove-source-files", name == "--remove-sent-files":
			del = true
		case strings.HasPrefix(a, "-"):
		default:
			return ExecTransfer{}, false
		}
	}
	if !dot {
		return ExecTransfer{}, false
	}
	x.Actions = []string{store.ActionUpload}
	if x.Op == OpDownload {
		x.Actions = []string{store.ActionDownload}
	}
	if del {
		x.Actions = append(x.Actions, store.ActionDelete)
	}
	return x, true
}

func parseSCP(args []string) (ExecTransfer, bool) {
	x := ExecTransfer{Tool: "scp"}
	flagsDone := false
	for _, a := range args {
		switch {
		case !flagsDone && a == "--":
			flagsDone = true
		case !flagsDone && strings.HasPrefix(a, "-") && len(a) > 1:
			for _, c := range a[1:] {
				switch c {
				case 't':
					if x.Op == OpDownload {
						return ExecTransfer{}, false
					}
					x.Op = OpUpload
				case 'f':
					if x.Op == OpUpload {
						return ExecTransfer{}, false
					}
					x.Op = OpDownload
				case 'r', 'p', 'd', 'v', 'q':
				default:
					return ExecTransfer{}, false
				}
			}
		default:
			flagsDone = true
			x.Paths = append(x.Paths, a)
		}
	}
	switch x.Op {
	case OpUpload:
		x.Actions = []string{store.ActionUpload}
	case OpDownload:
		x.Actions = []string{store.ActionDownload}
	default:
		return ExecTransfer{}, false
	}
	if len(x.Paths) == 0 {
		return ExecTransfer{}, false
	}
	return x, true
}

// isPlainRune reports whether r may stand unquoted in a word of a
// transfer command: nothing the shell would expand into a command.
func isPlainRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	case r >= 0x80:
		return true // UTF-8 in file names
	}
	return strings.ContainsRune("._,/=+:@%~*?[]-", r)
}

// shellWords splits a command as a POSIX shell would when it holds only
// plain words, backslash escapes and single quotes; ok is false for
// anything else ($, backquotes, double quotes, ;, &, |, redirections,
// parentheses, braces, newlines, a comment), so that the command runs
// one program and expands nothing but file name globs.
func shellWords(cmd string) (words []string, ok bool) {
	var cur strings.Builder
	inWord := false
	rs := []rune(cmd)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case r == '\\':
			if i+1 >= len(rs) || rs[i+1] == '\n' || rs[i+1] == 0 {
				return nil, false
			}
			i++
			cur.WriteRune(rs[i])
			inWord = true
		case r == '\'':
			j := i + 1
			for j < len(rs) && rs[j] != '\'' {
				if rs[j] == 0 {
					return nil, false
				}
				j++
			}
			if j >= len(rs) {
				return nil, false
			}
			cur.WriteString(string(rs[i+1 : j]))
			i = j
			inWord = true
		case isPlainRune(r):
			cur.WriteRune(r)
			inWord = true
		default:
			return nil, false
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, true
}
