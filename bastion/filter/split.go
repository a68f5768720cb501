// Package filter judges shell command lines against command filters.
//
// It is pure: it knows nothing of the store or of SSH. The store hands it
// plain [Rule] values; the proxy feeds a [LineTracker] with the bytes of an
// interactive session and asks [RuleSet.Evaluate] about each line the user
// submits.
//
// What the filter can see: the line the shell echoes at its prompt when the
// user presses Enter or a key that may be bound to accept-line (so edits,
// history recall and completion count), the keystrokes themselves when the
// echo is missing or differs, the lines of a command the shell reads over
// several lines joined ([Joiner]), and every simple command in them,
// including those inside $(…), backticks, <(…)/>(…), subshells, { …; }
// groups, `sh -c '…'`, `eval …`, `su -c …` (also `su -lc`), `sudo -s …`,
// `watch …`, `find -exec … ;`, alias values and function bodies.
// [ReadsCommands] tells which exec commands read commands from their input,
// which the proxy then judges line by line.
//
// What it cannot see: what a word becomes after variable, glob or history
// expansion (a=re; $a'boot'), commands run by scripts or programs the user
// starts (a script written on the asset, a Makefile, cron), what an
// interpreter makes of its input, lines typed inside full-screen programs
// (vim, less, top: the filter stands aside while the alternate screen is
// active), and a line typed by a key bound to a macro. A filter guards
// against mistakes and casual misuse; it is not a sandbox.
package filter

import (
	"slices"
	"strings"
)

// maxDepth bounds the nesting the splitter follows ($(…) inside sh -c inside
// backticks …), so that hostile input cannot make it recurse without end.
const maxDepth = 16

// Split splits a shell command line into the simple commands the shell would
// run. It separates on ;, &&, ||, |, |&, & and newlines, and descends into
// $(…), backticks, <(…), >(…), ( … ) subshells, { …; } groups, and the script
// arguments of sh -c, bash -c (and other shells), su -c and runuser -c (also
// in clusters: su -lc), sudo -s and sudo -i, eval, watch and find -exec. A command that holds another one (echo $(reboot)) is returned as
// well as the inner one; inner commands come first. Quotes, backslash escapes
// and comments are respected; an unterminated quote runs to the end of the
// line. Each returned command is trimmed of surrounding blanks; empty ones are
// dropped.
func Split(line string) []string {
	var out []string
	splitInto(line, 0, &out)
	return out
}

func splitInto(line string, depth int, out *[]string) {
	if depth > maxDepth {
		if s := strings.TrimSpace(line); s != "" {
			*out = append(*out, s)
		}
		return
	}
	sp := &scanner{src: line, out: out, depth: depth}
	sp.list(0, 0, depth)
}

// scanner walks a command line once. Nested constructs are scanned by
// recursive calls that return where they end, so the whole line is read in
// one pass.
type scanner struct {
	src   string
	out   *[]string // nil: only find the end of constructs
	depth int
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' }

// atWordStart reports whether position i begins a word, which is where #
// starts a comment.
func (sp *scanner) atWordStart(i, cmdStart int) bool {
	if i == 0 || i == cmdStart {
		return true
	}
	switch sp.src[i-1] {
	case ' ', '\t', '\r', '\n', ';', '&', '|', '(', ')':
		return true
	}
	return false
}

// emit records the simple command src[start:end].
func (sp *scanner) emit(start, end, depth int) {
	if sp.out == nil || start >= end {
		return
	}
	cmd := strings.TrimSpace(strings.ReplaceAll(sp.src[start:end], "\\\n", ""))
	if cmd == "" {
		return
	}
	*sp.out = append(*sp.out, cmd)
	if depth < maxDepth {
		descend(cmd, depth+1, sp.out)
	}
}

// list scans commands from i until the terminator: 0 for the end of the
// text, ')' for the end of $( or a subshell, '`' for the end of a backtick
// substitution. It returns the index just past the terminator.
func (sp *scanner) list(i int, term byte, depth int) int {
	s := sp.src
	n := len(s)
	cs := i // start of the current simple command
	for i < n {
		c := s[i]
		if term != 0 && c == term {
			sp.emit(cs, i, depth)
			return i + 1
		}
		switch {
		case c == '\\':
			i += 2
		case c == '\'':
			i = skipSingle(s, i+1)
		case c == '"':
			i = sp.dquote(i+1, depth)
		case c == '`':
			i = sp.sub(i+1, '`', depth)
		case c == '$' && i+1 < n && s[i+1] == '\'':
			i = skipANSIC(s, i+2)
		case c == '$' && i+1 < n && s[i+1] == '(':
			i = sp.sub(i+2, ')', depth)
		case (c == '<' || c == '>') && i+1 < n && s[i+1] == '(':
			i = sp.sub(i+2, ')', depth)
		case c == '(':
			// A subshell (or the () of a function definition): its
			// commands stand on their own.
			sp.emit(cs, i, depth)
			i = sp.sub(i+1, ')', depth)
			cs = i
		case c == ')':
			// A stray closing parenthesis separates like an operator.
			sp.emit(cs, i, depth)
			i++
			cs = i
		case c == '#' && sp.atWordStart(i, cs):
			sp.emit(cs, i, depth)
			for i < n && s[i] != '\n' {
				i++
			}
			cs = i
		case c == '<' || c == '>':
			// A redirection: >, >>, >&, >|, <, <<, <<<, <>, <&, and a
			// trailing '-' as in <<- or >&-.
			i++
			for i < n && (s[i] == '<' || s[i] == '>' || s[i] == '&' || s[i] == '|') {
				i++
			}
			if i < n && s[i] == '-' {
				i++
			}
		case c == '&' && i+1 < n && s[i+1] == '>':
			i += 2 // &> and &>>
		case c == ';' || c == '&' || c == '|' || c == '\n':
			sp.emit(cs, i, depth)
			for i < n && (s[i] == ';' || s[i] == '&' || s[i] == '|' || s[i] == '\n') {
				i++
			}
			cs = i
		default:
			i++
		}
	}
	sp.emit(cs, min(i, n), depth)
	return n
}

// sub scans a nested construct that ends at term, one level deeper.
func (sp *scanner) sub(i int, term byte, depth int) int {
	if depth+1 > maxDepth {
		// Too deep: find the end without emitting.
		quiet := &scanner{src: sp.src, depth: depth}
		return quiet.list(i, term, depth+1)
	}
	return sp.list(i, term, depth+1)
}

// dquote scans a double-quoted string from i (just past the opening quote),
// following $(…) and backticks, which stay active inside. It returns the
// index just past the closing quote.
func (sp *scanner) dquote(i, depth int) int {
	s := sp.src
	n := len(s)
	for i < n {
		switch c := s[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			i += 2
		case c == '`':
			i = sp.sub(i+1, '`', depth)
		case c == '$' && i+1 < n && s[i+1] == '(':
			i = sp.sub(i+2, ')', depth)
		default:
			i++
		}
	}
	return n
}

// skipSingle returns the index just past the single quote closing the string
// that starts at i.
func skipSingle(s string, i int) int {
	j := strings.IndexByte(s[min(i, len(s)):], '\'')
	if j < 0 {
		return len(s)
	}
	return i + j + 1
}

// skipANSIC returns the index just past the end of a $'…' string whose body
// starts at i.
func skipANSIC(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case '\\':
			i += 2
		case '\'':
			return i + 1
		default:
			i++
		}
	}
	return len(s)
}

// shells are the programs whose -c argument is a script.
var shells = map[string]bool{
	"sh": true, "bash": true, "dash": true, "zsh": true, "ksh": true,
	"mksh": true, "ash": true, "rbash": true, "fish": true, "csh": true, "tcsh": true,
}

// descend finds the scripts a simple command hands to a shell and splits
// them too: sh -c 'SCRIPT', su -lc 'SCRIPT', runuser -c 'SCRIPT',
// sudo -s ARGS, eval ARGS, watch ARGS, find … -exec CMD … ;,
// alias NAME='VALUE'.
func descend(cmd string, depth int, out *[]string) {
	plain := plainWords(cmd)
	if script, ok := userScript(plain); ok {
		splitInto(script, depth, out)
	}
	ws := stripPrefixes(plain)
	if len(ws) == 0 {
		return
	}
	name := basename(ws[0])
	args := ws[1:]
	switch {
	case shells[name]:
		if script, ok := shellScript(args); ok {
			splitInto(script, depth, out)
		}
	case name == "eval":
		if len(args) > 0 {
			splitInto(strings.Join(args, " "), depth, out)
		}
	case name == "watch":
		rest := skipOptions(args, prefixSpec{argShort: "nqd", argLong: []string{"interval", "differences", "equexit"}})
		if len(rest) > 0 {
			splitInto(strings.Join(rest, " "), depth, out)
		}
	case name == "find":
		for i := 0; i < len(args); i++ {
			switch args[i] {
			case "-exec", "-execdir", "-ok", "-okdir":
				j := i + 1
				for j < len(args) && args[j] != ";" && args[j] != "+" {
					j++
				}
				if j > i+1 {
					*out = append(*out, joinQuoted(args[i+1:j]))
				}
				i = j
			}
		}
	case name == "alias":
		for _, a := range args {
			if k := strings.IndexByte(a, '='); k > 0 {
				splitInto(a[k+1:], depth, out)
			}
		}
	}
}

// userScript finds the command that su, runuser or sudo -s hands to a
// shell, wherever su or sudo stands in the words (behind sudo, behind
// runuser's own options that Normalize looks through). Only the first one
// found is taken: the script holds the rest, and is split in turn, so that
// sudo -s sudo -s … costs one pass per level, not one per pair.
func userScript(words []string) (string, bool) {
	for i, w := range words {
		var script string
		var ok bool
		switch basename(w) {
		case "su", "runuser":
			script, ok = suScript(words[i+1:])
		case "sudo":
			script, ok = sudoShellScript(words[i+1:])
		}
		if ok {
			return script, true
		}
	}
	return "", false
}

// suArgShort are the short options of su and runuser that take an
// argument; -c's argument is the command to run.
const suArgShort = "cgGswu"

// suLongArg are the long options of su and runuser that take an argument.
var suLongArg = map[string]bool{
	"command": true, "session-command": true, "group": true, "supp-group": true,
	"shell": true, "whitelist-environment": true, "user": true,
}

// suScript returns the command given to su or runuser with -c, also in a
// cluster of short options (su -lc 'CMD', su -c'CMD', runuser -l u -mc CMD)
// or as --command=CMD or --session-command CMD.
func suScript(args []string) (string, bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return "", false
		case strings.HasPrefix(a, "--"):
			name, val, eq := strings.Cut(a[2:], "=")
			isCmd := name == "command" || name == "session-command"
			switch {
			case isCmd && eq:
				return val, true
			case isCmd && i+1 < len(args):
				return args[i+1], true
			case suLongArg[name] && !eq:
				i++
			}
		case len(a) > 1 && a[0] == '-':
			for k := 1; k < len(a); k++ {
				if strings.IndexByte(suArgShort, a[k]) < 0 {
					continue
				}
				arg := a[k+1:]
				if arg == "" {
					i++
					if i >= len(args) {
						return "", false
					}
					arg = args[i]
				}
				if a[k] == 'c' {
					return arg, true
				}
				break
			}
		}
	}
	return "", false
}

// sudoShellScript returns the command of sudo -s or sudo -i (also in a
// cluster: -sE, -iu root): sudo hands it to a shell as a script, so
// sudo -s 'reboot now' runs reboot.
func sudoShellScript(args []string) (string, bool) {
	spec := prefixes["sudo"]
	shell := false
	for len(args) > 0 {
		a := args[0]
		if a == "--" {
			args = args[1:]
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		args = args[1:]
		if strings.HasPrefix(a, "--") {
			name, _, eq := strings.Cut(a[2:], "=")
			shell = shell || name == "shell" || name == "login"
			if !eq && slices.Contains(spec.argLong, name) && len(args) > 0 {
				args = args[1:]
			}
			continue
		}
		for k := 1; k < len(a); k++ {
			shell = shell || a[k] == 's' || a[k] == 'i'
			if strings.IndexByte(spec.argShort, a[k]) >= 0 {
				if k == len(a)-1 && len(args) > 0 {
					args = args[1:]
				}
				break
			}
		}
	}
	if !shell || len(args) == 0 {
		return "", false
	}
	return strings.Join(args, " "), true
}

// plainWords returns the words of one simple command with quoting removed
// and redirections (with their targets) dropped.
func plainWords(cmd string) []string {
	ws := lex(cmd)
	plain := make([]string, 0, len(ws))
	for i := 0; i < len(ws); i++ {
		if ws[i].op {
			i++ // the target
			continue
		}
		plain = append(plain, ws[i].text)
	}
	return plain
}

// shellScript returns the script of a shell invoked with -c.
func shellScript(args []string) (string, bool) {
	hasC := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			if hasC && i < len(args) {
				return args[i], true
			}
			return "", false
		}
		if len(a) > 1 && (a[0] == '-' || a[0] == '+') && !strings.HasPrefix(a, "--") {
			if strings.ContainsRune(a[1:], 'c') && a[0] == '-' {
				hasC = true
			}
			// -o OPTION and -O SHOPT take an argument.
			if strings.ContainsAny(a[1:], "oO") {
				i++
			}
			continue
		}
		if strings.HasPrefix(a, "--") {
			continue
		}
		if hasC {
			return a, true
		}
		return "", false
	}
	return "", false
}

// joinQuoted joins words into a command line, quoting the words that need it.
func joinQuoted(ws []string) string {
	var b strings.Builder
	for i, w := range ws {
		if i > 0 {
			b.WriteByte(' ')
		}
		if w != "" && !strings.ContainsAny(w, " \t\n'\"\\$`;&|<>()*?[]#~{}!") {
			b.WriteString(w)
			continue
		}
		b.WriteByte('\'')
		b.WriteString(strings.ReplaceAll(w, "'", `'\''`))
		b.WriteByte('\'')
	}
	return b.String()
}

// basename returns the last element of a slash-separated path.
func basename(w string) string {
	if i := strings.LastIndexByte(w, '/'); i >= 0 {
		return w[i+1:]
	}
	return w
}
