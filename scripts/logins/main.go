// Command logins makes a burst of SSH password logins: -n connections,
// -c at a time, each one authenticating with the password read from the
// first line of stdin (never from argv) and closing right after. It
// checks the host key against none: it is a load generator for a local
// bench, not a client.
//
//	echo "$PASSWORD" | go run ./scripts/logins -addr 127.0.0.1:2222 -user alice -n 100 -c 10
//
// It prints one line: "ok failed seconds". scripts/bench-logins.sh runs it.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

func main() {
	var (
		addr = flag.String("addr", "", "SSH server to reach (host:port)")
		user = flag.String("user", "", "login name")
		n    = flag.Int("n", 100, "logins to make")
		c    = flag.Int("c", 10, "logins at a time")
	)
	flag.Parse()
	if err := run(*addr, *user, *n, *c); err != nil {
		fmt.Fprintln(os.Stderr, "logins:", err)
		os.Exit(1)
	}
}

func run(addr, user string, n, c int) error {
	if addr == "" || user == "" || n < 1 || c < 1 {
		return errors.New("want -addr, -user, -n >= 1 and -c >= 1")
	}
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("reading the password from stdin: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	cfg := &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.Password(password)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), // a local bench server
		Timeout:         30 * time.Second,
	}
	var ok, failed atomic.Int64
	var firstErr sync.Once
	jobs := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	for range c {
		wg.Go(func() {
			for range jobs {
				conn, err := ssh.Dial("tcp", addr, cfg)
				if err != nil {
					failed.Add(1)
					firstErr.Do(func() { fmt.Fprintln(os.Stderr, "logins: first failure:", err) })
					continue
				}
				ok.Add(1)
				_ = conn.Close()
			}
		})
	}
	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	wg.Wait()
	fmt.Printf("%d %d %.2f\n", ok.Load(), failed.Load(), time.Since(start).Seconds())
	return nil
}
