package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Login says how the OpenSSH client logs in: to which port, as whom, by key or password.
type Login struct {
	Host     string        // default 127.0.0.1
	Port     int           //
	User     string        // the login name as typed: "alice", "alice@web1", "alice#root#web1"
	KeyFile  string        // publickey auth with only this key (-i, IdentitiesOnly)
	Password string        // password auth through sshpass -e (SSHPASS in the environment)
	TTY      bool          // -tt: force a PTY even without a terminal on stdin
	Options  []string      // extra arguments placed before the defaults; ssh keeps the first value of an -o option, so these win
	Timeout  time.Duration // for runSSH; default 60 s
}

// sshBaseOptions are given to every ssh: no user config, no known_hosts, quiet.
var sshBaseOptions = []string{
	"-F", "/dev/null",
	"-o", "StrictHostKeyChecking=no",
	"-o", "UserKnownHostsFile=/dev/null",
	"-o", "GlobalKnownHostsFile=/dev/null",
	"-o", "LogLevel=ERROR",
	"-o", "ConnectTimeout=10",
	"-o", "IdentityAgent=none",
	"-o", "ControlMaster=no",
	"-o", "ControlPath=none",
}

// sshArgs returns the whole command line (argv[0] is "ssh", or "sshpass" for a password
// login) that runs remote (nothing: a login shell) as l.
func sshArgs(l Login, remote ...string) []string {
	host := l.Host
	if host == "" {
		host = "127.0.0.1"
	}
	args := []string{"ssh"}
	args = append(args, l.Options...)
	args = append(args, sshBaseOptions...)
	switch {
	case l.Password != "":
		args = append(args,
			"-o", "BatchMode=no",
			"-o", "PreferredAuthentications=password",
			"-o", "PubkeyAuthentication=no",
			"-o", "NumberOfPasswordPrompts=1")
	case l.KeyFile != "":
		args = append(args,
			"-o", "BatchMode=yes",
			"-o", "PreferredAuthentications=publickey",
			"-o", "IdentitiesOnly=yes",
			"-i", l.KeyFile)
	default:
		args = append(args, "-o", "BatchMode=yes")
	}
	if l.TTY {
		args = append(args, "-tt")
	}
	args = append(args, "-p", strconv.Itoa(l.Port), "-l", l.User, host)
	if len(remote) > 0 {
		args = append(args, "--")
		args = append(args, remote...)
	}
	if l.Password != "" {
		args = append([]string{"sshpass", "-e"}, args...)
	}
	return args
}

// sshEnv is the environment for ssh: the test's, without an agent or tmux, plus SSHPASS.
func sshEnv(l Login) []string {
	var env []string
	for _, kv := range os.Environ() {
		switch name, _, _ := strings.Cut(kv, "="); name {
		case "SSH_AUTH_SOCK", "SSHPASS", "TMUX", "TMUX_PANE", "SSH_ASKPASS", "DISPLAY":
			continue
		}
		env = append(env, kv)
	}
	if l.Password != "" {
		env = append(env, "SSHPASS="+l.Password)
	}
	return env
}

// Command returns the ssh (or sshpass) command for remote, not started. The caller sets
// stdin/stdout as needed.
func (l Login) Command(ctx context.Context, remote ...string) *exec.Cmd {
	args := sshArgs(l, remote...)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = sshEnv(l)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// SSHResult is what one ssh run gave.
type SSHResult struct {
	Stdout   string
	Stderr   string
	ExitCode int // ssh's exit status: the remote command's, or 255 for an ssh error
}

// runSSH runs remote as l with stdin (may be nil) and returns its output and exit status. A
// non-zero exit is not a test failure; not finishing within l.Timeout is.
func runSSH(t testing.TB, l Login, stdin io.Reader, remote ...string) SSHResult {
	t.Helper()
	requireBinaries(t, "ssh")
	if l.Password != "" {
		requireBinaries(t, "sshpass")
	}
	timeout := l.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := l.Command(ctx, remote...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &stdout, &stderr
	err := cmd.Run()
	res := SSHResult{Stdout: stdout.String(), Stderr: stderr.String()}
	if ctx.Err() != nil {
		t.Fatalf("%s: did not finish within %v\nstdout: %q\nstderr: %q",
			strings.Join(cmd.Args, " "), timeout, res.Stdout, res.Stderr)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.ExitCode = ee.ExitCode()
	default:
		t.Fatalf("running %s: %v", strings.Join(cmd.Args, " "), err)
	}
	return res
}
