package automation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	gossh "golang.org/x/crypto/ssh"
)

// command is one program run on an asset, from an argument list.
type command struct {
	args []string
	// asUser runs it as that user (runuser -u), for files in the user's
	// home: a symlink planted there then reaches only what the user may.
	asUser string
	// stdin is fed to the program; it may hold a secret.
	stdin []byte
	// shownStdin is how a dry run shows stdin ("deploy:[redacted]").
	shownStdin string
	// mutates is false for the probes that only read.
	mutates bool
	// name names a fixed script (sh -c) in errors, and shown lists the
	// commands it runs, as a dry run prints them.
	name  string
	shown []string
}

// script makes a command that runs a fixed script with arguments: the
// script is constant text, the arguments checked values, so several
// commands cost one session.
func script(name, text string, shown []string, args ...string) command {
	return command{mutates: true, name: name, shown: shown, args: append([]string{"sh", "-c", text, "sh"}, args...)}
}

// argv is the full argument list, runuser included (sudo is the
// remote's business).
func (c command) argv() []string {
	if c.asUser == "" {
		return c.args
	}
	return append([]string{"runuser", "-u", c.asUser, "--"}, c.args...)
}

// label names the command in an error: its command line, or for a
// fixed script "the <name> script", not its text.
func (c command) label() string {
	switch {
	case c.name != "":
		return c.name
	case len(c.args) > 2 && c.args[0] == "sh" && c.args[1] == "-c":
		return "the jms probe script"
	}
	return commandLine(c.argv())
}

// lines are the commands a dry run prints for c.
func (c command) lines() []string {
	if c.shown != nil {
		return c.shown
	}
	return []string{c.String()}
}

// String is the command as a dry run prints it: never a secret, which
// travels on stdin only.
func (c command) String() string {
	s := commandLine(c.argv())
	if c.shownStdin != "" {
		s += " <<< " + c.shownStdin
	}
	return s
}

// cmdError is a command that ran and failed.
type cmdError struct {
	argv   string
	status int
	stderr string // its first line
}

func (e *cmdError) Error() string {
	if e.stderr != "" {
		return e.stderr
	}
	return fmt.Sprintf("%s exited with status %d", e.argv, e.status)
}

// exitStatus returns the exit status of a failed command, or -1.
func exitStatus(err error) int {
	var ce *cmdError
	if errors.As(err, &ce) {
		return ce.status
	}
	return -1
}

// remote runs commands on an asset.
type remote interface {
	run(ctx context.Context, c command) (string, error)
}

// maxOutput bounds what is read of a command's stdout and stderr.
const maxOutput = 1 << 20

// sshRemote runs each command in its own session of a client logged in
// as the privileged account; sudo prefixes "sudo -n" when that account
// is not root.
type sshRemote struct {
	client *gossh.Client
	sudo   bool
}

func (r *sshRemote) run(ctx context.Context, c command) (string, error) {
	argv := c.argv()
	if r.sudo {
		argv = append([]string{"sudo", "-n", "--"}, argv...)
	}
	sess, err := r.client.NewSession()
	if err != nil {
		return "", fmt.Errorf("open a session: %w", err)
	}
	defer sess.Close()
	stop := context.AfterFunc(ctx, func() { sess.Close() })
	defer stop()
	var stdout, stderr limitedBuffer
	stdout.max, stderr.max = maxOutput, 64<<10
	sess.Stdout, sess.Stderr = &stdout, &stderr
	if c.stdin != nil {
		sess.Stdin = bytes.NewReader(c.stdin)
	}
	line := commandLine(argv)
	err = sess.Run(line)
	if ctx.Err() != nil {
		return "", context.Cause(ctx) // the caller names the command
	}
	var ee *gossh.ExitError
	if errors.As(err, &ee) {
		return stdout.String(), &cmdError{argv: c.label(), status: ee.ExitStatus(), stderr: firstLine(stderr.String())}
	}
	if err != nil {
		return "", err // the caller names the command
	}
	return stdout.String(), nil
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		if len(p) > room {
			b.Buffer.Write(p[:room])
		} else {
			b.Buffer.Write(p)
		}
	}
	return len(p), nil
}

var _ io.Writer = (*limitedBuffer)(nil)

// firstLine is the first non-empty line of s, printable and short.
func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		var b strings.Builder
		for _, r := range l {
			if b.Len() >= 200 {
				break
			}
			if r >= ' ' && r != 0x7f {
				b.WriteRune(r)
			}
		}
		return b.String()
	}
	return ""
}

// errName is the command's program, or the script's name, for a failure.
func (c command) errName() string {
	if c.name != "" {
		return c.name
	}
	return c.args[0]
}
