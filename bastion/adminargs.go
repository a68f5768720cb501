package bastion

import (
	"errors"
	"fmt"
	"strings"
)

// maxAdminCommand caps the command line of jmsctl over SSH: a command
// tree's arguments, never data (data comes on stdin).
const maxAdminCommand = 64 << 10

// splitAdminArgs splits the command line of `jmsctl …` over SSH into its
// arguments as a POSIX shell would (blanks separate words; '…' keeps
// everything; "…" keeps everything but \" \\ \$ \` and a backslash-newline;
// a backslash outside quotes keeps the next character). There is no shell
// behind it, so what a shell would do more (pipes, redirections,
// variables, command substitution, lists) is an error that says so rather
// than an argument that means something else.
func splitAdminArgs(cmd string) ([]string, error) {
	if len(cmd) > maxAdminCommand {
		return nil, fmt.Errorf("the command is longer than %d bytes", maxAdminCommand)
	}
	var sp argSplitter
	for i := 0; i < len(cmd); i++ {
		if err := sp.byte(cmd, &i); err != nil {
			return nil, err
		}
	}
	if sp.quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", sp.quote)
	}
	if sp.escape {
		return nil, errors.New("a backslash ends the command")
	}
	sp.endWord()
	return sp.args, nil
}

// argSplitter is the state of splitAdminArgs.
type argSplitter struct {
	args   []string
	word   strings.Builder
	inWord bool // a word has begun (an empty '' is a word)
	quote  byte // ' or " while inside quotes, else 0
	escape bool // the previous byte was a backslash
}

func (sp *argSplitter) endWord() {
	if sp.inWord {
		sp.args = append(sp.args, sp.word.String())
	}
	sp.word.Reset()
	sp.inWord = false
}

func (sp *argSplitter) add(c byte) {
	sp.word.WriteByte(c)
	sp.inWord = true
}

// byte takes cmd[*i]; it may consume more of cmd.
func (sp *argSplitter) byte(cmd string, i *int) error {
	c := cmd[*i]
	switch {
	case sp.escape:
		sp.escape = false
		if sp.quote == '"' && !strings.ContainsRune("\"\\$`\n", rune(c)) {
			sp.add('\\')
		}
		if c != '\n' {
			sp.add(c)
		}
	case sp.quote == '\'':
		if c == '\'' {
			sp.quote = 0
		} else {
			sp.add(c)
		}
	case c == '\\':
		sp.escape = true
	case sp.quote == '"':
		return sp.inDouble(c)
	case c == '\'' || c == '"':
		sp.quote, sp.inWord = c, true
	case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		sp.endWord()
	case strings.IndexByte("|&;<>()$`", c) >= 0:
		return noShell(c)
	default:
		sp.add(c)
	}
	return nil
}

func (sp *argSplitter) inDouble(c byte) error {
	switch c {
	case '"':
		sp.quote = 0
	case '$', '`':
		return noShell(c)
	default:
		sp.add(c)
	}
	return nil
}

// noShell is the error for a character that would need a shell.
func noShell(c byte) error {
	return fmt.Errorf("%q needs a shell, and jmsctl over SSH runs none: quote it ('%c'), or pipe and redirect on your side of ssh", string(c), c)
}
