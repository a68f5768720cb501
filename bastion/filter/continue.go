package filter

import "strings"

// A shell reads a command over several lines while a line ends in an
// unquoted backslash, a quote ($(…), backticks, a subshell) is still open,
// a here-document waits for its delimiter, or the line ends in |, && or ||.
// Judging such a command line by line would let `tou\` and `ch /tmp/x`
// through one at a time; a Joiner gathers the lines so that the command is
// judged whole.
//
// The scan is a small state machine fed one line at a time, so that a long
// here-document costs one pass, not one pass per line. It follows the POSIX
// shell's quoting; it does not follow compound commands (if … fi, for …
// done, case … esac, { … }): each of their lines is a command of its own
// to the filter, which is how the splitter reads them anyway.

// frame is one open construct of the continuation scanner.
type frame byte

const (
	frameTop frame = iota
	frameSingle
	frameDouble
	frameANSI
	frameBacktick
	frameDollarParen
	frameParen
)

// maxFrames bounds the nesting the scanner records: past it, the command
// stays open and is refused by the size limit of whoever holds it.
const maxFrames = 256

// heredoc is a here-document whose body is still to come.
type heredoc struct {
	delim string
	tabs  bool // <<-: leading tabs are stripped before comparing
}

// contState is where the scan of a command stands after the lines fed.
type contState struct {
	stack    []frame
	pending  []heredoc // here-documents opened on the current line
	bodies   []heredoc // here-documents whose body lines are being read
	escaped  bool      // the last line ended in a backslash
	trailing bool      // the last token is |, && or ||
	overflow bool
}

func (st *contState) top() frame {
	if len(st.stack) == 0 {
		return frameTop
	}
	return st.stack[len(st.stack)-1]
}

func (st *contState) push(f frame) {
	if len(st.stack) >= maxFrames {
		st.overflow = true
		return
	}
	st.stack = append(st.stack, f)
}

func (st *contState) pop() {
	if len(st.stack) > 0 {
		st.stack = st.stack[:len(st.stack)-1]
	}
}

// open reports whether the shell would read another line.
func (st *contState) open() bool {
	return len(st.stack) > 0 || len(st.bodies) > 0 || st.escaped || st.trailing || st.overflow
}

// feedLine scans one line (without its line break).
func (st *contState) feedLine(line string) {
	if len(st.bodies) > 0 {
		st.bodyLine(line)
		return
	}
	st.escaped = false
	for i := 0; i < len(line); i++ {
		i = st.step(line, i)
	}
	if len(st.pending) > 0 && !st.escaped {
		st.bodies, st.pending = st.pending, nil
	}
}

// bodyLine reads one line of a here-document body.
func (st *contState) bodyLine(line string) {
	h := st.bodies[0]
	if h.tabs {
		line = strings.TrimLeft(line, "\t")
	}
	if line == h.delim {
		st.bodies = st.bodies[1:]
	}
}

// step handles the byte at line[i] and returns the index of the last byte
// it consumed.
func (st *contState) step(line string, i int) int {
	c := line[i]
	switch st.top() {
	case frameSingle:
		if c == '\'' {
			st.pop()
		}
		return i
	case frameANSI:
		switch c {
		case '\\':
			return i + 1
		case '\'':
			st.pop()
		}
		return i
	case frameDouble:
		return st.stepDouble(line, i)
	}
	return st.stepCode(line, i)
}

func (st *contState) stepDouble(line string, i int) int {
	switch c := line[i]; {
	case c == '\\':
		if i == len(line)-1 {
			st.escaped = true
		}
		return i + 1
	case c == '"':
		st.pop()
	case c == '`':
		st.push(frameBacktick)
	case c == '$' && i+1 < len(line) && line[i+1] == '(':
		st.push(frameDollarParen)
		return i + 1
	}
	return i
}

// stepCode handles a byte outside quotes: in the command list at the top,
// in $(…), in backticks or in a subshell.
func (st *contState) stepCode(line string, i int) int {
	c := line[i]
	if c == '#' && (i == 0 || strings.IndexByte(" \t;&|()<>", line[i-1]) >= 0) {
		return len(line) // a comment runs to the end of the line
	}
	if !isBlank(c) {
		st.trailing = false
	}
	next := byte(0)
	if i+1 < len(line) {
		next = line[i+1]
	}
	switch {
	case c == '\\':
		if i == len(line)-1 {
			st.escaped = true
		}
		return i + 1
	case c == '\'':
		st.push(frameSingle)
	case c == '"':
		st.push(frameDouble)
	case c == '$' && next == '\'':
		st.push(frameANSI)
		return i + 1
	case c == '$' && next == '(':
		st.push(frameDollarParen)
		return i + 1
	case c == '`':
		if st.top() == frameBacktick {
			st.pop()
		} else {
			st.push(frameBacktick)
		}
	case c == '(':
		st.push(frameParen)
	case c == ')':
		if t := st.top(); t == frameParen || t == frameDollarParen {
			st.pop()
		}
	case c == '<' && next == '<':
		return st.heredocOp(line, i)
	case c == '<' || c == '>':
		// A redirection: >|, >&, <& are not pipes or lists.
		for i+1 < len(line) && strings.IndexByte("<>&|", line[i+1]) >= 0 {
			i++
		}
	case c == '|' || c == '&' && next == '&':
		if c == '&' || next == '|' || next == '&' {
			i++ // &&, || or |&
		}
		st.trailing = true
	}
	return i
}

// heredocOp reads a << or <<- operator and its delimiter word at line[i]
// (<<< is a here-string, not a here-document).
func (st *contState) heredocOp(line string, i int) int {
	j := i + 2
	if j < len(line) && line[j] == '<' {
		return j
	}
	h := heredoc{}
	if j < len(line) && line[j] == '-' {
		h.tabs = true
		j++
	}
	for j < len(line) && isBlank(line[j]) {
		j++
	}
	k := j
	for k < len(line) && strings.IndexByte(" \t;&|()<>", line[k]) < 0 {
		switch line[k] {
		case '\'', '"':
			if e := strings.IndexByte(line[k+1:], line[k]); e >= 0 {
				k += e + 1
			} else {
				k = len(line) - 1
			}
		case '\\':
			k++
		}
		k++
	}
	k = min(k, len(line))
	if k == j {
		return k - 1 // no delimiter: a syntax error the shell reports
	}
	h.delim = unquoteWord(line[j:k])
	st.pending = append(st.pending, h)
	return k - 1
}

// unquoteWord removes the quotes and backslashes of a here-document
// delimiter, as the shell does before comparing body lines with it.
func unquoteWord(w string) string {
	ws := Words(w)
	if len(ws) == 0 {
		return ""
	}
	return strings.Join(ws, "")
}

// Incomplete reports whether a shell that read text (lines separated by
// \n) would read another line to complete the command: text ends in an
// unquoted backslash, inside quotes, $(…), backticks or a subshell, inside
// a here-document, or after |, && or ||.
func Incomplete(text string) bool {
	var st contState
	for l := range strings.SplitSeq(text, "\n") {
		st.feedLine(l)
	}
	return st.open()
}

// Joiner gathers the lines of a command that the shell reads over several
// lines (see [Incomplete]). The zero Joiner is ready to use.
type Joiner struct {
	st    contState
	lines []string
	size  int
}

// Add adds the next line the shell reads. When it completes the command,
// Add returns the command (the lines held and line, joined by \n) and true,
// and the Joiner starts afresh; otherwise it holds line and returns "" and
// false.
func (j *Joiner) Add(line string) (cmd string, complete bool) {
	j.st.feedLine(line)
	if !j.st.open() {
		if len(j.lines) == 0 {
			j.Reset()
			return line, true
		}
		cmd = strings.Join(append(j.lines, line), "\n")
		j.Reset()
		return cmd, true
	}
	j.lines = append(j.lines, line)
	j.size += len(line) + 1
	return "", false
}

// Held returns the lines of the command held so far, joined by \n.
func (j *Joiner) Held() string { return strings.Join(j.lines, "\n") }

// Size returns how many bytes the Joiner holds.
func (j *Joiner) Size() int { return j.size }

// Reset drops what the Joiner holds, as the shell drops a command that is
// interrupted (^C).
func (j *Joiner) Reset() { *j = Joiner{} }
