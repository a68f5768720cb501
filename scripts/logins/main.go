// Command logins makes a burst of SSH logins: -n connections, -c at a
// time, each one authenticating and closing right after. It authenticates
// with the password read from the first line of stdin (never from argv),
// or with the private key in -key. -addr may name several servers, comma
// separated: the logins go to them in turn (the nodes of a cluster). It
// checks the host key against none: it is a load generator for a local
// bench, not a client.
//
//	echo "$PASSWORD" | go run ./scripts/logins -addr 127.0.0.1:2222 -user alice -n 100 -c 10
//	go run ./scripts/logins -addr 127.0.0.1:2222,127.0.0.1:2223 -user alice -key k -n 200 -c 200 -latency
//
// It prints one line: "ok failed seconds", and with -latency the p50, p99
// and slowest of the successful logins in milliseconds after them.
// scripts/bench-logins.sh and scripts/bench-cluster-logins.sh run it.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

type options struct {
	addrs   []string
	user    string
	keyFile string
	n, c    int
	latency bool
}

func main() {
	var (
		o    options
		addr = flag.String("addr", "", "SSH server(s) to reach (host:port, comma separated)")
	)
	flag.StringVar(&o.user, "user", "", "login name")
	flag.StringVar(&o.keyFile, "key", "", "private key file (default: the password on stdin)")
	flag.IntVar(&o.n, "n", 100, "logins to make")
	flag.IntVar(&o.c, "c", 10, "logins at a time")
	flag.BoolVar(&o.latency, "latency", false, "also print p50, p99 and max of the logins (ms)")
	flag.Parse()
	for a := range strings.SplitSeq(*addr, ",") {
		if a = strings.TrimSpace(a); a != "" {
			o.addrs = append(o.addrs, a)
		}
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "logins:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if len(o.addrs) == 0 || o.user == "" || o.n < 1 || o.c < 1 {
		return errors.New("want -addr, -user, -n >= 1 and -c >= 1")
	}
	auth, err := authMethod(o.keyFile)
	if err != nil {
		return err
	}
	cfg := &ssh.ClientConfig{
		User:            o.user,
		Auth:            []ssh.AuthMethod{auth},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), // a local bench server
		Timeout:         30 * time.Second,
	}
	res := burst(o.addrs, cfg, o.n, o.c)
	if res.firstErr != nil {
		fmt.Fprintln(os.Stderr, "logins: first failure:", res.firstErr)
	}
	fmt.Printf("%d %d %.2f", len(res.took), res.failed, res.wall.Seconds())
	if o.latency {
		p50, p99, slowest := percentiles(res.took)
		fmt.Printf(" %d %d %d", p50.Milliseconds(), p99.Milliseconds(), slowest.Milliseconds())
	}
	fmt.Println()
	return nil
}

// authMethod is the key in keyFile, or the password on stdin's first line.
func authMethod(keyFile string) (ssh.AuthMethod, error) {
	if keyFile != "" {
		pem, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, fmt.Errorf("reading the key: %w", err)
		}
		signer, err := ssh.ParsePrivateKey(pem)
		if err != nil {
			return nil, fmt.Errorf("parsing the key %s: %w", keyFile, err)
		}
		return ssh.PublicKeys(signer), nil
	}
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return nil, fmt.Errorf("reading the password from stdin: %w", err)
	}
	return ssh.Password(strings.TrimRight(line, "\r\n")), nil
}
