// Package console is the SQL console a person gets in the bastion for a
// database asset: a prompt with history and multi-line statements, results
// fitted to the terminal, helpers (\d, \l, \x, \G) and \q to leave. It
// also runs one-shot statements for scripts (ssh … db1 'SELECT …').
//
// The console owns no terminal: it reads lines from a LineReader (see
// NewLineEditor for one over a PTY) and writes to an io.Writer, so that the
// bastion can record and watch what it writes like any session.
package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/jms-bastion/jms/bastion/database"
	"github.com/jms-bastion/jms/bastion/database/sqlsplit"
)

// LineReader reads one line of input at a time.
type LineReader interface {
	// ReadLine returns the next line without its line break; io.EOF when
	// the person ends the input (Ctrl-D on an empty line).
	ReadLine() (string, error)
	SetPrompt(prompt string)
}

// maxStatementBytes bounds a statement read over several lines.
const maxStatementBytes = 1 << 20

// Console is one console session on one database session.
type Console struct {
	s     *database.Session
	out   io.Writer
	name  string     // the asset's name, in the prompt
	width func() int // the terminal's width now
	vert  bool       // \x: results vertical
	buf   []string   // lines of the statement being read
	size  int
}

// New returns a console on s writing to out. name is the asset's name
// shown in the prompt; width reports the terminal's width (nil: 80).
func New(s *database.Session, out io.Writer, name string, width func() int) *Console {
	if width == nil {
		width = func() int { return 80 }
	}
	return &Console{s: s, out: out, name: name, width: width}
}

// Prompt is the prompt for the next line: the asset's name, or an arrow
// while a statement continues.
func (c *Console) Prompt() string {
	if len(c.buf) > 0 {
		return strings.Repeat(" ", max(len(c.name)-1, 0)) + "-> "
	}
	return c.name + "> "
}

// Loop reads lines until \q or the end of input, running each statement
// as it completes. It returns nil when the person leaves.
func (c *Console) Loop(ctx context.Context, lr LineReader) error {
	c.greet(ctx)
	for {
		lr.SetPrompt(c.Prompt())
		line, err := lr.ReadLine()
		if errors.Is(err, ErrInterrupt) {
			c.reset()
			fmt.Fprintln(c.out, "^C")
			continue
		}
		if errors.Is(err, io.EOF) {
			fmt.Fprintln(c.out, "Bye")
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the console's input: %w", err)
		}
		if c.Feed(ctx, line) {
			fmt.Fprintln(c.out, "Bye")
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

func (c *Console) greet(ctx context.Context) {
	t := c.s.Target()
	v, err := c.s.Version(ctx)
	if err != nil {
		v = "unknown version"
	}
	fmt.Fprintf(c.out, "Connected to %s (%s %s) as %s.\n", c.name, t.Engine, v, t.User)
	fmt.Fprintln(c.out, `End statements with ; (or \G for vertical). \? for help, \q to leave.`)
}

// Feed takes one line of input: a console command, or part of a statement
// that runs once complete. It reports whether the person asked to leave.
func (c *Console) Feed(ctx context.Context, line string) (quit bool) {
	if len(c.buf) == 0 {
		if quit, done := c.command(ctx, line); done {
			return quit
		}
	}
	trimmed := strings.TrimSpace(line)
	if len(c.buf) == 0 && trimmed == "" {
		return false
	}
	c.buf = append(c.buf, line)
	c.size += len(line) + 1
	if strings.HasSuffix(trimmed, `\c`) {
		c.reset()
		return false
	}
	text := strings.Join(c.buf, "\n")
	if stmt, vertical, ok := c.complete(text); ok {
		c.reset()
		c.run(ctx, stmt, vertical)
	} else if c.size > maxStatementBytes {
		c.reset()
		fmt.Fprintf(c.out, "The statement is longer than %d bytes and was discarded.\n", maxStatementBytes)
	}
	return false
}

// complete reports whether text ends a statement: with ; or with \g or
// \G (mysql's terminators, \G showing the result vertically) outside any
// literal or comment. It returns the text to run.
func (c *Console) complete(text string) (stmt string, vertical, ok bool) {
	d := c.s.Dialect()
	body := strings.TrimSpace(text)
	for _, term := range []string{`\G`, `\g`} {
		if rest, found := strings.CutSuffix(body, term); found && sqlsplit.Complete(d, rest+";") {
			return rest, term == `\G` || c.vert, true
		}
	}
	return text, c.vert, sqlsplit.Complete(d, text)
}

func (c *Console) reset() { c.buf, c.size = nil, 0 }

// command runs a console command (a line starting with \, quit, exit, or
// a helper such as SHOW TABLES on PostgreSQL). done is false when the line
// is not one.
func (c *Console) command(ctx context.Context, line string) (quit, done bool) {
	f := strings.Fields(strings.TrimSpace(line))
	if len(f) == 0 {
		return false, false
	}
	switch strings.ToLower(strings.TrimRight(f[0], ";")) {
	case `\q`, "quit", "exit", `\quit`:
		return len(f) == 1, len(f) == 1
	case `\?`, `\h`, "help":
		fmt.Fprint(c.out, helpText)
		return false, true
	case `\x`:
		c.vert = !c.vert
		fmt.Fprintf(c.out, "Vertical display is %s.\n", map[bool]string{true: "on", false: "off"}[c.vert])
		return false, true
	}
	q, ok, err := database.Helper(c.s.Target().Engine, line)
	if err != nil {
		fmt.Fprintln(c.out, err)
		return false, true
	}
	if ok {
		c.run(ctx, q, c.vert)
		return false, true
	}
	if strings.HasPrefix(f[0], `\`) {
		fmt.Fprintf(c.out, "Unknown console command %s. \\? lists them.\n", f[0])
		return false, true
	}
	return false, false
}

const helpText = `Console commands:
  \q, quit, exit     leave
  \d                 list tables          \d NAME   describe a table
  \l                 list databases       \x        toggle vertical results
  \G                 end a statement, show it vertically
  \c                 discard the statement being typed
SHOW TABLES and DESCRIBE NAME work on PostgreSQL too.
Statements are checked by the bastion's filters and audited.
`

// run runs the statements of text and writes their outcomes.
func (c *Console) run(ctx context.Context, text string, vertical bool) {
	f := database.Table
	if vertical {
		f = database.Vertical
	}
	for _, o := range c.s.Run(ctx, text) {
		writeOutcome(c.out, o, f, c.width())
	}
}

// writeOutcome writes one statement's outcome for a person.
func writeOutcome(w io.Writer, o database.Outcome, f database.Format, width int) {
	switch {
	case database.IsDenied(o.Err):
		fmt.Fprintf(w, "Denied: %s\n", o.Err)
	case o.Err != nil:
		fmt.Fprintln(w, o.Err)
	default:
		if o.Verdict.Message != "" {
			fmt.Fprintf(w, "Warning: %s\n", o.Verdict.Message)
		}
		if err := database.WriteResult(w, o.Result, f, width); err != nil {
			fmt.Fprintln(w, err)
		}
	}
}
