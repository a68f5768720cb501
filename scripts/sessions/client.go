package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// execCommand is what an exec session runs: one line to say it started,
// then cat on the open stdin (idle until the session closes).
const execCommand = "echo ready; exec cat"

// openWait bounds the wait for a session's first output.
const openWait = 3 * time.Minute

type client struct {
	addr string
	cfg  *ssh.ClientConfig
}

func newClient(addr, user, keyFile string) (*client, error) {
	pem, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("read the key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", keyFile, err)
	}
	return &client{addr: addr, cfg: &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), // a local bench server
		Timeout:         60 * time.Second,
	}}, nil
}

// held is one open session and the state of its drain.
type held struct {
	conn  *ssh.Client
	sess  *ssh.Session
	stdin io.WriteCloser
	ended chan struct{} // closes when the output ends
}

// open logs in and starts a PTY shell or the exec command, and returns
// once its first output arrived (the asset runs it).
func (c *client) open(pty bool) (*held, error) {
	conn, err := ssh.Dial("tcp", c.addr, c.cfg)
	if err != nil {
		return nil, err
	}
	h, err := start(conn, pty)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return h, nil
}

func start(conn *ssh.Client, pty bool) (*held, error) {
	sess, err := conn.NewSession()
	if err != nil {
		return nil, err
	}
	h := &held{conn: conn, sess: sess, ended: make(chan struct{})}
	if h.stdin, err = sess.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := sess.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if pty {
		if err := sess.RequestPty("xterm", 24, 80, ssh.TerminalModes{}); err != nil {
			return nil, fmt.Errorf("pty: %w", err)
		}
		err = sess.Shell()
	} else {
		err = sess.Start(execCommand)
	}
	if err != nil {
		return nil, err
	}
	first := make(chan error, 1)
	go func() {
		defer close(h.ended)
		b := make([]byte, 512)
		_, err := out.Read(b)
		first <- err
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case err := <-first:
		if err != nil {
			return nil, fmt.Errorf("no output from the session: %w", err)
		}
	case <-time.After(openWait):
		return nil, fmt.Errorf("no output from the session within %s", openWait)
	}
	return h, nil
}

// maxOpenFailures ends openMany early: past it the figures mean nothing.
const maxOpenFailures = 20

// openMany opens n sessions, c at a time; the first pty of them (in the
// order they are started) are PTY shells. It returns the sessions open
// and how many could not be opened (each failure is logged); it stops
// with an error after maxOpenFailures.
func (c *client) openMany(n, par, pty int) ([]*held, int, error) {
	out := make([]*held, n)
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for range par {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				h, err := c.open(i < pty)
				if err != nil {
					logf("session %d of %d (pty %v): %v", i+1, n, i < pty, err)
					if failed.Add(1) >= maxOpenFailures {
						next.Store(int64(n))
						return
					}
					continue
				}
				out[i] = h
				if (i+1)%100 == 0 {
					logf("  %d open", i+1)
				}
			}
		})
	}
	wg.Wait()
	f := int(failed.Load())
	var err error
	if f >= maxOpenFailures {
		err = fmt.Errorf("%d sessions could not be opened: giving up", f)
	}
	return slices.DeleteFunc(out, func(h *held) bool { return h == nil }), f, err
}

// probe times m new logins, one after the other, each running `true` as
// an exec session to its exit status; it returns the median, the p99 and
// the number that failed.
func (c *client) probe(m int) (p50, p99 time.Duration, failed int) {
	var d []time.Duration
	for range m {
		t := time.Now()
		if err := c.once(); err != nil {
			failed++
			if failed == 1 {
				logf("a new login failed: %v", err)
			}
			continue
		}
		d = append(d, time.Since(t))
	}
	if len(d) == 0 {
		return 0, 0, failed
	}
	slices.Sort(d)
	return d[len(d)/2], d[min(len(d)-1, (len(d)*99+99)/100-1)], failed
}

func (c *client) once() error {
	conn, err := ssh.Dial("tcp", c.addr, c.cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	s, err := conn.NewSession()
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Run("true")
}

// closeAll ends every session (EOF on stdin, then the connection) and
// returns how many had already ended on their own.
func closeAll(hs []*held) (lost int) {
	for _, h := range hs {
		select {
		case <-h.ended:
			lost++
		default:
		}
		_ = h.stdin.Close()
		_ = h.conn.Close()
	}
	for _, h := range hs {
		<-h.ended
	}
	return lost
}
