// Command echolat measures keystroke echo latency through an SSH PTY
// session: it sends one byte at a time to a raw-mode `cat` on the far end
// and times each round trip. It connects either straight to an SSH server
// (the bastion, with a login name such as alice@web1) or, with -jump, the
// way `ssh -J` does: an SSH connection to the jump host, a direct-tcpip
// channel from there to the target, and a second SSH connection over it.
//
//	go run ./scripts/echolat -addr 127.0.0.1:2222 -user alice@web1 -key alice_ed25519
//	go run ./scripts/echolat -jump 127.0.0.1:2200 -jump-user root -addr 127.0.0.1:2201 -user root -key k
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
	"slices"
	"time"

	"golang.org/x/crypto/ssh"
)

func main() {
	var (
		addr     = flag.String("addr", "", "SSH server to reach (host:port)")
		user     = flag.String("user", "root", "login name at -addr")
		keyFile  = flag.String("key", "", "private key file for every login")
		jump     = flag.String("jump", "", "jump host (host:port): reach -addr through it as ssh -J does")
		jumpUser = flag.String("jump-user", "root", "login name at the jump host")
		n        = flag.Int("n", 500, "keystrokes to time")
		warmup   = flag.Int("warmup", 20, "keystrokes sent first and not timed")
		gap      = flag.Duration("gap", 0, "pause between keystrokes")
		cipher   = flag.String("cipher", "", "cipher to offer (default: x/crypto's order)")
	)
	flag.Parse()
	if err := run(*addr, *user, *keyFile, *jump, *jumpUser, *cipher, *n, *warmup, *gap); err != nil {
		fmt.Fprintln(os.Stderr, "echolat:", err)
		os.Exit(1)
	}
}

func run(addr, user, keyFile, jump, jumpUser, cipher string, n, warmup int, gap time.Duration) error {
	pem, err := os.ReadFile(keyFile)
	if err != nil {
		return err
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		return fmt.Errorf("parse %s: %w", keyFile, err)
	}
	config := func(u string) *ssh.ClientConfig {
		c := &ssh.ClientConfig{
			User:            u,
			Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
			HostKeyCallback: ssh.InsecureIgnoreHostKey(),
			Timeout:         10 * time.Second,
		}
		if cipher != "" {
			c.Ciphers = []string{cipher}
		}
		return c
	}

	var client *ssh.Client
	if jump == "" {
		client, err = ssh.Dial("tcp", addr, config(user))
		if err != nil {
			return fmt.Errorf("dial %s: %w", addr, err)
		}
	} else {
		jc, err := ssh.Dial("tcp", jump, config(jumpUser))
		if err != nil {
			return fmt.Errorf("dial jump host %s: %w", jump, err)
		}
		defer jc.Close()
		conn, err := jc.Dial("tcp", addr)
		if err != nil {
			return fmt.Errorf("jump host to %s: %w", addr, err)
		}
		c, chans, reqs, err := ssh.NewClientConn(conn, addr, config(user))
		if err != nil {
			return fmt.Errorf("ssh to %s through %s: %w", addr, jump, err)
		}
		client = ssh.NewClient(c, chans, reqs)
	}
	defer client.Close()

	s, err := client.NewSession()
	if err != nil {
		return err
	}
	defer s.Close()
	in, err := s.StdinPipe()
	if err != nil {
		return err
	}
	out, err := s.StdoutPipe()
	if err != nil {
		return err
	}
	if err := s.RequestPty("xterm", 24, 80, ssh.TerminalModes{ssh.ECHO: 1}); err != nil {
		return err
	}
	if err := s.Start("stty raw -echo; echo READY; exec cat"); err != nil {
		return err
	}
	if err := waitFor(out, []byte("READY")); err != nil {
		return fmt.Errorf("waiting for the far end: %w", err)
	}
	// Drain whatever follows READY (the line end) before timing.
	time.Sleep(100 * time.Millisecond)

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

	samples := make([]time.Duration, 0, n)
	for i := range warmup + n {
		c := byte('a' + i%26)
		start := time.Now()
		if _, err := in.Write([]byte{c}); err != nil {
			return err
		}
		for {
			b, ok := <-got
			if !ok {
				return errors.New("session ended")
			}
			if b == c {
				break
			}
		}
		if i >= warmup {
			samples = append(samples, time.Since(start))
		}
		if gap > 0 {
			time.Sleep(gap)
		}
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
