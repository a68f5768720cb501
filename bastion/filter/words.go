package filter

import (
	"strconv"
	"strings"
)

// word is one shell word of a simple command; op marks an unquoted
// redirection operator (>, 2>>, <<, &> …).
type word struct {
	text string
	op   bool
}

// Words splits one simple command into its words with quoting removed, the
// way the shell would before expansion: 're'boot, r\eboot, "reboot" and
// $'\x72eboot' all become reboot. $(…), backticks and ${…} are kept as
// written, inside the word they belong to. Redirection operators are words
// of their own (ls >out gives ls, >, out). A # at the start of a word ends
// the command. Unterminated quotes run to the end.
func Words(cmd string) []string {
	ws := lex(cmd)
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.text
	}
	return out
}

func lex(s string) []word {
	var (
		out    []word
		b      strings.Builder
		inWord bool
	)
	end := func() {
		if inWord {
			out = append(out, word{text: b.String()})
			b.Reset()
			inWord = false
		}
	}
	quiet := &scanner{src: s}
	n := len(s)
	for i := 0; i < n; {
		c := s[i]
		switch {
		case isBlank(c) || c == '\n':
			end()
			i++
		case c == '\\':
			if i+1 < n {
				if s[i+1] != '\n' {
					b.WriteByte(s[i+1])
					inWord = true
				}
			}
			i += 2
		case c == '\'':
			j := skipSingle(s, i+1)
			body := s[i+1 : j]
			body = strings.TrimSuffix(body, "'")
			b.WriteString(body)
			inWord = true
			i = j
		case c == '$' && i+1 < n && s[i+1] == '\'':
			j := skipANSIC(s, i+2)
			body := s[i+2 : j]
			if j > i+2 && s[j-1] == '\'' && ansiClosed(s, i+2, j) {
				body = body[:len(body)-1]
			}
			b.WriteString(unescapeANSIC(body))
			inWord = true
			i = j
		case c == '"' || (c == '$' && i+1 < n && s[i+1] == '"'):
			if c == '$' {
				i++
			}
			i = lexDouble(s, i+1, &b, quiet)
			inWord = true
		case c == '$' && i+1 < n && s[i+1] == '(':
			j := quiet.list(i+2, ')', 1)
			b.WriteString(s[i:j])
			inWord = true
			i = j
		case (c == '<' || c == '>') && i+1 < n && s[i+1] == '(':
			j := quiet.list(i+2, ')', 1)
			b.WriteString(s[i:j])
			inWord = true
			i = j
		case c == '`':
			j := quiet.list(i+1, '`', 1)
			b.WriteString(s[i:j])
			inWord = true
			i = j
		case c == '#' && !inWord:
			end()
			return out
		case c == '<' || c == '>' || (c == '&' && i+1 < n && s[i+1] == '>'):
			// An all-digit word right before is the file descriptor.
			var op strings.Builder
			if inWord && isDigits(b.String()) {
				op.WriteString(b.String())
				b.Reset()
				inWord = false
			}
			end()
			j := i + 1
			for j < n && (s[j] == '<' || s[j] == '>' || s[j] == '&' || s[j] == '|') {
				j++
			}
			if j < n && s[j] == '-' {
				j++
			}
			op.WriteString(s[i:j])
			out = append(out, word{text: op.String(), op: true})
			i = j
		case c == ';' || c == '&' || c == '|' || c == '(' || c == ')':
			// Operators do not belong in one simple command; they
			// separate words.
			end()
			i++
		default:
			b.WriteByte(c)
			inWord = true
			i++
		}
	}
	end()
	return out
}

// ansiClosed reports whether the $'…' body s[start:end] ends with its
// closing quote rather than running to the end of the text.
func ansiClosed(s string, start, end int) bool {
	for i := start; i < end; i++ {
		switch s[i] {
		case '\\':
			i++
		case '\'':
			return i == end-1
		}
	}
	return false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// lexDouble copies the body of a double-quoted string starting at i into b
// and returns the index just past the closing quote.
func lexDouble(s string, i int, b *strings.Builder, quiet *scanner) int {
	n := len(s)
	for i < n {
		c := s[i]
		switch {
		case c == '"':
			return i + 1
		case c == '\\':
			if i+1 < n {
				switch s[i+1] {
				case '$', '`', '"', '\\':
					b.WriteByte(s[i+1])
				case '\n':
				default:
					b.WriteByte('\\')
					b.WriteByte(s[i+1])
				}
			} else {
				b.WriteByte('\\')
			}
			i += 2
		case c == '$' && i+1 < n && s[i+1] == '(':
			j := quiet.list(i+2, ')', 1)
			b.WriteString(s[i:j])
			i = j
		case c == '`':
			j := quiet.list(i+1, '`', 1)
			b.WriteString(s[i:j])
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return n
}

// unescapeANSIC decodes the body of a $'…' string.
func unescapeANSIC(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch e := s[i]; e {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'a':
			b.WriteByte(7)
		case 'b':
			b.WriteByte(8)
		case 'e', 'E':
			b.WriteByte(27)
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		case 'x':
			j := i + 1
			for j < len(s) && j < i+3 && isHex(s[j]) {
				j++
			}
			if v, err := strconv.ParseUint(s[i+1:j], 16, 8); err == nil {
				b.WriteByte(byte(v))
			}
			i = j - 1
		case 'u', 'U':
			max := 4
			if e == 'U' {
				max = 8
			}
			j := i + 1
			for j < len(s) && j < i+1+max && isHex(s[j]) {
				j++
			}
			if v, err := strconv.ParseUint(s[i+1:j], 16, 32); err == nil {
				b.WriteRune(rune(v))
			}
			i = j - 1
		case '0', '1', '2', '3', '4', '5', '6', '7':
			j := i
			for j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7' {
				j++
			}
			if v, err := strconv.ParseUint(s[i:j], 8, 16); err == nil {
				b.WriteByte(byte(v))
			}
			i = j - 1
		default:
			// \\ \' \" \? and unknown escapes
			if e != '\\' && e != '\'' && e != '"' && e != '?' {
				b.WriteByte('\\')
			}
			b.WriteByte(e)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// prefixSpec says how to read past a prefix command: which options take an
// argument and how many operands come before the command it runs.
type prefixSpec struct {
	argShort string   // short options that take an argument
	argLong  []string // long options that take an argument (without --)
	operands int      // operands before the command (timeout's DURATION, chroot's DIR)
}

// prefixes are the commands that run another command given as their
// arguments; Normalize looks through them.
var prefixes = map[string]prefixSpec{
	"sudo":       {argShort: "ughpCrtUDRT", argLong: []string{"user", "group", "host", "prompt", "close-from", "role", "type", "other-user", "chdir", "chroot", "command-timeout"}},
	"doas":       {argShort: "uC"},
	"env":        {argShort: "uCS", argLong: []string{"unset", "chdir", "split-string", "default-signal", "ignore-signal", "block-signal"}},
	"nohup":      {},
	"exec":       {argShort: "a"},
	"command":    {},
	"builtin":    {},
	"time":       {argShort: "fo", argLong: []string{"format", "output"}},
	"nice":       {argShort: "n", argLong: []string{"adjustment"}},
	"timeout":    {argShort: "sk", argLong: []string{"signal", "kill-after"}, operands: 1},
	"xargs":      {argShort: "adEeIiLlnPs", argLong: []string{"arg-file", "delimiter", "eof", "replace", "max-lines", "max-args", "max-procs", "max-chars", "process-slot-var"}},
	"stdbuf":     {argShort: "ioe", argLong: []string{"input", "output", "error"}},
	"ionice":     {argShort: "cnp", argLong: []string{"class", "classdata", "pid", "pgid", "uid"}},
	"chroot":     {argLong: []string{"userspec", "groups"}, operands: 1},
	"setsid":     {},
	"nocache":    {},
	"unbuffer":   {},
	"busybox":    {},
	"runuser":    {argShort: "ugGw", argLong: []string{"user", "group", "supp-group", "whitelist-environment"}},
	"chrt":       {operands: 1},
	"taskset":    {operands: 1},
	"caffeinate": {},
}

// keywords are shell reserved words that may stand before a command.
var keywords = map[string]bool{
	"{": true, "}": true, "!": true, "if": true, "then": true, "elif": true,
	"else": true, "fi": true, "do": true, "done": true, "while": true,
	"until": true, "esac": true, "coproc": true,
}

// Normalize returns the words of one simple command as the program it runs
// sees them: quotes removed (see [Words]), redirections and their targets
// dropped, and leading assignments (FOO=1), reserved words ({, !, if, then,
// do …) and prefix commands with their options looked through: sudo, doas,
// env, nohup, exec, command, builtin, time, nice, timeout, xargs, stdbuf,
// ionice, chroot, setsid, runuser, busybox, taskset, chrt. So
// `sudo -u root env FOO=1 /sbin/reboot -f >/dev/null` gives
// [/sbin/reboot -f].
func Normalize(cmd string) []string {
	return stripPrefixes(plainWords(cmd))
}

func stripPrefixes(ws []string) []string {
	for guard := 0; len(ws) > 0 && guard < 64; guard++ {
		w := ws[0]
		switch {
		case keywords[w]:
			ws = ws[1:]
		case isAssignment(w):
			ws = ws[1:]
		default:
			name := basename(w)
			spec, ok := prefixes[name]
			if !ok {
				return ws
			}
			rest := ws[1:]
			if name == "env" {
				// env -S 'reboot now' splits its argument into words.
				rest = expandEnvSplit(rest)
			}
			rest = skipOptions(rest, spec)
			for k := 0; k < spec.operands && len(rest) > 0; k++ {
				rest = rest[1:]
			}
			if len(rest) == 0 {
				// A prefix on its own (sudo -i, time) runs nothing we
				// can name: judge the prefix itself.
				return ws
			}
			ws = rest
		}
	}
	return ws
}

// expandEnvSplit replaces env's -S STRING by the words of STRING.
func expandEnvSplit(args []string) []string {
	for i, a := range args {
		var s string
		switch {
		case a == "-S" || a == "--split-string":
			if i+1 >= len(args) {
				return args
			}
			s = args[i+1]
			return append(append(append([]string{}, args[:i]...), Words(s)...), args[i+2:]...)
		case strings.HasPrefix(a, "-S"):
			s = a[2:]
		case strings.HasPrefix(a, "--split-string="):
			s = strings.TrimPrefix(a, "--split-string=")
		case a == "--" || !strings.HasPrefix(a, "-"):
			return args
		default:
			continue
		}
		return append(append(append([]string{}, args[:i]...), Words(s)...), args[i+1:]...)
	}
	return args
}

// skipOptions drops the options (and their arguments) at the head of args.
func skipOptions(args []string, spec prefixSpec) []string {
	for len(args) > 0 {
		a := args[0]
		switch {
		case a == "--":
			return args[1:]
		case strings.HasPrefix(a, "--"):
			args = args[1:]
			name := a[2:]
			if strings.Contains(name, "=") {
				continue
			}
			for _, l := range spec.argLong {
				if l == name && len(args) > 0 {
					args = args[1:]
					break
				}
			}
		case len(a) > 1 && a[0] == '-':
			args = args[1:]
			for k := 1; k < len(a); k++ {
				if strings.IndexByte(spec.argShort, a[k]) >= 0 {
					if k == len(a)-1 && len(args) > 0 {
						args = args[1:] // -u root
					}
					break // -uroot
				}
			}
		default:
			return args
		}
	}
	return args
}

// isAssignment reports whether w is NAME=value (or NAME+=value, NAME[i]=v).
func isAssignment(w string) bool {
	eq := strings.IndexByte(w, '=')
	if eq <= 0 {
		return false
	}
	name := strings.TrimSuffix(w[:eq], "+")
	if k := strings.IndexByte(name, '['); k > 0 && strings.HasSuffix(name, "]") {
		name = name[:k]
	}
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}
