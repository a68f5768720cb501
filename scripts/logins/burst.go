package main

import (
	"slices"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// result is what a burst measured: the time of each successful login
// (dial to authenticated), the failures and the first of them, the wall
// time of the whole burst.
type result struct {
	took     []time.Duration
	failed   int
	firstErr error
	wall     time.Duration
}

// burst makes n logins, c at a time, login i to addrs[i % len(addrs)].
func burst(addrs []string, cfg *ssh.ClientConfig, n, c int) result {
	var (
		mu  sync.Mutex
		res result
		wg  sync.WaitGroup
	)
	jobs := make(chan string)
	start := time.Now()
	for range c {
		wg.Go(func() {
			for addr := range jobs {
				t0 := time.Now()
				conn, err := ssh.Dial("tcp", addr, cfg)
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					res.failed++
					if res.firstErr == nil {
						res.firstErr = err
					}
				} else {
					res.took = append(res.took, d)
				}
				mu.Unlock()
				if conn != nil {
					_ = conn.Close()
				}
			}
		})
	}
	for i := range n {
		jobs <- addrs[i%len(addrs)]
	}
	close(jobs)
	wg.Wait()
	res.wall = time.Since(start)
	return res
}

// percentiles returns the p50, p99 and largest of ds (nearest rank);
// zeros when ds is empty.
func percentiles(ds []time.Duration) (p50, p99, slowest time.Duration) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := func(p int) time.Duration { return s[(len(s)*p+99)/100-1] }
	return rank(50), rank(99), s[len(s)-1]
}
