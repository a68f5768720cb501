// Command echolat measures keystroke echo latency through an SSH PTY
// session: it sends one byte at a time to a raw-mode `cat` on the far end
// and times each round trip. It connects either straight to an SSH server
// (the bastion, with a login name such as alice@web1) or, with -jump, the
// way `ssh -J` does: an SSH connection to the jump host, a direct-tcpip
// channel from there to the target, and a second SSH connection over it.
// With -cmd it drives an SSH client instead (the stock OpenSSH `ssh -tt`,
// as a person runs it): the command's stdin and stdout carry the session.
//
//	go run ./scripts/echolat -addr 127.0.0.1:2222 -user alice@web1 -key alice_ed25519
//	go run ./scripts/echolat -jump 127.0.0.1:2200 -jump-user root -addr 127.0.0.1:2201 -user root -key k
//	go run ./scripts/echolat -cmd 'ssh -F cfg -tt -J jump asset'
//
// -cmd runs its command with the far end's command appended as one
// argument ('stty raw -echo; echo READY; exec cat').
//
// It prints one line: "median_us p95_us mean_us n". scripts/bench-ssh.sh
// runs it.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// remoteCommand puts the far end's terminal in raw mode without echo, so
// that each byte comes back once, from cat.
const remoteCommand = "stty raw -echo; echo READY; exec cat"

type options struct {
	addr, user, keyFile, jump, jumpUser, cipher, cmd string
	n, warmup                                        int
	gap                                              time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "", "SSH server to reach (host:port)")
	flag.StringVar(&o.user, "user", "root", "login name at -addr")
	flag.StringVar(&o.keyFile, "key", "", "private key file for every login")
	flag.StringVar(&o.jump, "jump", "", "jump host (host:port): reach -addr through it as ssh -J does")
	flag.StringVar(&o.jumpUser, "jump-user", "root", "login name at the jump host")
	flag.StringVar(&o.cmd, "cmd", "", "an SSH client command to drive instead of x/crypto (run by sh -c)")
	flag.IntVar(&o.n, "n", 500, "keystrokes to time")
	flag.IntVar(&o.warmup, "warmup", 20, "keystrokes sent first and not timed")
	flag.DurationVar(&o.gap, "gap", 0, "pause between keystrokes")
	flag.StringVar(&o.cipher, "cipher", "", "cipher to offer (default: x/crypto's order)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "echolat:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	open := openCrypto
	if o.cmd != "" {
		open = openCommand
	}
	in, out, closeFn, err := open(o)
	if err != nil {
		return err
	}
	defer closeFn()
	if err := waitFor(out, []byte("READY")); err != nil {
		return fmt.Errorf("waiting for the far end: %w", err)
	}
	// Drain whatever follows READY (the line end) before timing.
	time.Sleep(100 * time.Millisecond)
	samples, err := measure(in, out, o)
	if err != nil {
		return err
	}
	slices.Sort(samples)
	var sum time.Duration
	for _, d := range samples {
		sum += d
	}
	med := samples[len(samples)/2]
	p95 := samples[len(samples)*95/100]
	fmt.Printf("%d %d %d %d\n", med.Microseconds(), p95.Microseconds(), (sum / time.Duration(len(samples))).Microseconds(), len(samples))
	in.Write([]byte{3, 4}) // ^C ^D: raw mode passes them to cat as bytes
	in.Close()
	return nil
}

// openCommand starts the SSH client command with the far end's command
// appended, its stdin and stdout as the session.
func openCommand(o options) (io.WriteCloser, io.Reader, func(), error) {
	c := exec.Command("sh", "-c", "exec "+o.cmd+" '"+remoteCommand+"'")
	c.Stderr = os.Stderr
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // ssh -J's ssh -W goes with it
	in, err := c.StdinPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	out, err := c.StdoutPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	if err := c.Start(); err != nil {
		return nil, nil, nil, fmt.Errorf("start %s: %w", o.cmd, err)
	}
	// A raw-mode cat on a PTY outlives the end of its input: the client
	// is stopped, not waited for.
	return in, out, func() { syscall.Kill(-c.Process.Pid, syscall.SIGKILL); c.Wait() }, nil
}

// openCrypto opens the PTY session with x/crypto/ssh, straight or through
// a jump host.
func openCrypto(o options) (io.WriteCloser, io.Reader, func(), error) {
	client, closeJump, err := dial(o)
	if err != nil {
		return nil, nil, nil, err
	}
	fail := func(err error) (io.WriteCloser, io.Reader, func(), error) {
		client.Close()
		closeJump()
		return nil, nil, nil, err
	}
	s, err := client.NewSession()
	if err != nil {
		return fail(err)
	}
	in, err := s.StdinPipe()
	if err != nil {
		return fail(err)
	}
	out, err := s.StdoutPipe()
	if err != nil {
		return fail(err)
	}
	if err := s.RequestPty("xterm", 24, 80, ssh.TerminalModes{ssh.ECHO: 1}); err != nil {
		return fail(err)
	}
	if err := s.Start(remoteCommand); err != nil {
		return fail(err)
	}
	return in, out, func() { s.Close(); client.Close(); closeJump() }, nil
}

func dial(o options) (*ssh.Client, func(), error) {
	pem, err := os.ReadFile(o.keyFile)
	if err != nil {
		return nil, nil, err
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		return nil, nil, fmt.Errorf("parse %s: %w", o.keyFile, err)
	}
	config := func(u string) *ssh.ClientConfig {
		c := &ssh.ClientConfig{
			User:            u,
			Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
			HostKeyCallback: ssh.InsecureIgnoreHostKey(),
			Timeout:         10 * time.Second,
		}
		if o.cipher != "" {
			c.Ciphers = []string{o.cipher}
		}
		return c
	}
	if o.jump == "" {
		client, err := ssh.Dial("tcp", o.addr, config(o.user))
		if err != nil {
			return nil, nil, fmt.Errorf("dial %s: %w", o.addr, err)
		}
		return client, func() {}, nil
	}
	jc, err := ssh.Dial("tcp", o.jump, config(o.jumpUser))
	if err != nil {
		return nil, nil, fmt.Errorf("dial jump host %s: %w", o.jump, err)
	}
	conn, err := jc.Dial("tcp", o.addr)
	if err != nil {
		jc.Close()
		return nil, nil, fmt.Errorf("jump host to %s: %w", o.addr, err)
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, o.addr, config(o.user))
	if err != nil {
		jc.Close()
		return nil, nil, fmt.Errorf("ssh to %s through %s: %w", o.addr, o.jump, err)
	}
	return ssh.NewClient(c, chans, reqs), func() { jc.Close() }, nil
}

// measure sends one byte at a time and times each until it comes back.
func measure(in io.Writer, out io.Reader, o options) ([]time.Duration, error) {
	// One reader goroutine hands bytes over; the timing loop waits for the
	// byte it sent.
	got := make(chan byte, 64)
	go func() {
		defer close(got)
		buf := make([]byte, 256)
		for {
			k, err := out.Read(buf)
			for _, b := range buf[:k] {
				got <- b
			}
			if err != nil {
				return
			}
		}
	}()
	for { // discard the rest of the READY line
		select {
		case <-got:
			continue
		default:
		}
		break
	}
	samples := make([]time.Duration, 0, o.n)
	for i := range o.warmup + o.n {
		c := byte('a' + i%26)
		start := time.Now()
		if _, err := in.Write([]byte{c}); err != nil {
			return nil, err
		}
		for {
			b, ok := <-got
			if !ok {
				return nil, errors.New("session ended")
			}
			if b == c {
				break
			}
		}
		if i >= o.warmup {
			samples = append(samples, time.Since(start))
		}
		if o.gap > 0 {
			time.Sleep(o.gap)
		}
	}
	return samples, nil
}

// waitFor reads r until want has gone by.
func waitFor(r io.Reader, want []byte) error {
	var seen []byte
	buf := make([]byte, 256)
	for !bytes.Contains(seen, want) {
		k, err := r.Read(buf)
		seen = append(seen, buf[:k]...)
		if err != nil {
			return fmt.Errorf("%w after %q", err, seen)
		}
	}
	return nil
}
