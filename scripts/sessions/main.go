// Command sessions holds many SSH sessions open through the bastion and
// measures what they cost `jmsctl serve`: it opens -n sessions with key
// logins (-c at a time, the first -pty share of them PTY shells, the rest
// exec sessions of `cat` with stdin open), keeps them idle, and reports
// the time to open them, the serve's RSS and CPU (from /proc/PID), its
// goroutines, and the latency of new logins made while they are open.
// It checks the host key against none: it is a load generator for a local
// bench, not a client.
//
//	go run ./scripts/sessions -addr 127.0.0.1:2222 -user alice@web1 -key k -n 1000 -pid 1234
//
// With -debug (the address of a `-tags jmspprof` build's JMS_PPROF
// listener) it also reads the RSS after a forced collection that returns
// free memory to the OS (/debug/jms/free). Results go to stdout as
// "name value unit" lines; progress goes to stderr. scripts/bench-idle.sh
// and scripts/bench-load.sh run it.
package main

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"time"
)

type options struct {
	addr, user, keyFile string
	n, c                int
	ptyShare            float64
	pid                 int
	debug               string
	probes              int
	settleMax           time.Duration
	idleCPU             time.Duration
	hold                time.Duration
	assetPort           int
	warm                int
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "", "the bastion (host:port)")
	flag.StringVar(&o.user, "user", "", "login name naming the asset, e.g. alice@web1")
	flag.StringVar(&o.keyFile, "key", "", "private key file for every login")
	flag.IntVar(&o.n, "n", 100, "sessions to hold open")
	flag.IntVar(&o.c, "c", 20, "sessions opened at a time")
	flag.Float64Var(&o.ptyShare, "pty", 0.5, "share of the sessions that are PTY shells (the rest are exec)")
	flag.IntVar(&o.pid, "pid", 0, "process id of jmsctl serve, to read its RSS and CPU")
	flag.StringVar(&o.debug, "debug", "", "JMS_PPROF address of a -tags jmspprof serve: forced-GC figures")
	flag.IntVar(&o.probes, "probes", 0, "new logins to time while the sessions are open")
	flag.DurationVar(&o.settleMax, "settle", 90*time.Second, "longest wait for the RSS to stop moving")
	flag.DurationVar(&o.idleCPU, "idle-cpu", 10*time.Second, "how long to measure the CPU of the idle sessions")
	flag.DurationVar(&o.hold, "hold", 0, "keep the sessions open this long after the figures (to take profiles)")
	flag.IntVar(&o.warm, "warm", 0, "sessions opened (-c at a time) and closed before the baseline: a serve that has served a burst")
	flag.IntVar(&o.assetPort, "asset-port", 0, "the asset's port on loopback: count the serve's connections to it")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "sessions:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if o.addr == "" || o.user == "" || o.keyFile == "" || o.n < 1 || o.c < 1 || o.pid < 1 {
		return errors.New("want -addr, -user, -key, -pid, -n >= 1 and -c >= 1")
	}
	cl, err := newClient(o.addr, o.user, o.keyFile)
	if err != nil {
		return err
	}
	srv := serve{pid: o.pid, debug: o.debug}
	r := report{}
	if o.warm > 0 {
		// The serve's fixed costs of a burst (its database pool's connections
		// and their caches, the runtime's per-P caches) go into the baseline.
		logf("warming up: %d sessions, %d at a time, opened and closed…", o.warm, o.c)
		held, _, err := cl.openMany(o.warm, o.c, o.warm/2)
		closeAll(held)
		if err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}

	before, err := srv.snapshot(o.settleMax)
	if err != nil {
		return err
	}
	if o.probes > 0 {
		// The same new logins before any session is open: what the machine's
		// load alone costs a login, to compare with the figure under load.
		logf("timing %d new logins with no session open…", o.probes)
		p50, p99, failed := cl.probe(o.probes)
		r.add("new_login_alone_p50", p50.Seconds()*1000, "ms")
		r.add("new_login_alone_p99", p99.Seconds()*1000, "ms")
		r.add("new_login_alone_failed", float64(failed), "count")
		if before, err = srv.snapshot(o.settleMax); err != nil {
			return err
		}
	}
	cpu0, err := srv.cpu()
	if err != nil {
		return err
	}
	logf("opening %d sessions, %d at a time…", o.n, o.c)
	start := time.Now()
	held, failed, err := cl.openMany(o.n, o.c, int(float64(o.n)*o.ptyShare+0.5))
	openTime := time.Since(start)
	defer func() { closeAll(held) }()
	if err != nil {
		return err
	}
	r.add("sessions_failed_to_open", float64(failed), "count")
	o.n = len(held) // the figures per session are per session open
	cpu1, _ := srv.cpu()
	rssOpen, _ := srv.rss()
	r.add("sessions_open", float64(o.n), "count")
	r.add("open_seconds", openTime.Seconds(), "s")
	r.add("open_cpu_seconds", (cpu1 - cpu0).Seconds(), "s")
	r.add("rss_per_session_at_open", perSession(rssOpen-before.rss, o.n), "KiB")
	if o.assetPort > 0 {
		conns, err := connectionsTo(o.assetPort)
		if err != nil {
			return err
		}
		r.add("asset_connections", float64(conns), "count")
	}

	after, err := srv.snapshot(o.settleMax)
	if err != nil {
		return err
	}
	r.add("rss_before", float64(before.rss), "KiB")
	r.add("rss_after_settled", float64(after.rss), "KiB")
	r.add("rss_per_session_settled", perSession(after.rss-before.rss, o.n), "KiB")
	if srv.debug != "" {
		r.add("rss_forced_gc_before", float64(before.forced), "KiB")
		r.add("rss_forced_gc_after", float64(after.forced), "KiB")
		r.add("rss_per_session_forced_gc", perSession(after.forced-before.forced, o.n), "KiB")
		r.add("rss_anon_per_session_forced_gc", perSession(after.forcedMem.anon-before.forcedMem.anon, o.n), "KiB")
		r.add("rss_file_per_session_forced_gc", perSession(after.forcedMem.file-before.forcedMem.file, o.n), "KiB")
		r.add("rss_anon_arena_per_session_forced_gc", perSession(after.forcedAnon.arena-before.forcedAnon.arena, o.n), "KiB")
		r.add("rss_anon_rest_per_session_forced_gc", perSession(after.forcedAnon.rest-before.forcedAnon.rest, o.n), "KiB")
		r.add("heap_per_session", perSession(after.heap-before.heap, o.n), "KiB")
		r.add("heap_inuse_per_session", perSession(after.heapInuse-before.heapInuse, o.n), "KiB")
		r.add("stack_per_session", perSession(after.stack-before.stack, o.n), "KiB")
		r.add("goroutines_per_session", float64(after.goroutines-before.goroutines)/float64(o.n), "count")
		for _, name := range slices.Sorted(maps.Keys(after.classes)) {
			r.add("memclass_"+name+"_per_session", perSession(after.classes[name]-before.classes[name], o.n), "KiB")
		}
	}
	if o.idleCPU > 0 {
		c0, _ := srv.cpu()
		time.Sleep(o.idleCPU)
		c1, _ := srv.cpu()
		r.add("idle_cpu_percent", 100*(c1-c0).Seconds()/o.idleCPU.Seconds(), "%")
	}
	if o.probes > 0 {
		logf("timing %d new logins while %d sessions are open…", o.probes, o.n)
		p50, p99, failed := cl.probe(o.probes)
		r.add("new_login_p50", p50.Seconds()*1000, "ms")
		r.add("new_login_p99", p99.Seconds()*1000, "ms")
		r.add("new_login_failed", float64(failed), "count")
	}
	if o.hold > 0 {
		logf("holding the sessions for %s…", o.hold)
		time.Sleep(o.hold)
	}
	logf("closing the sessions…")
	closeStart := time.Now()
	lost := closeAll(held)
	held = nil
	r.add("close_seconds", time.Since(closeStart).Seconds(), "s")
	r.add("sessions_lost_while_open", float64(lost), "count")
	r.print()
	return nil
}

func perSession(kib int64, n int) float64 { return float64(kib) / float64(n) }

func logf(format string, args ...any) { fmt.Fprintf(os.Stderr, "sessions: "+format+"\n", args...) }

// report collects "name value unit" lines.
type report struct{ lines []string }

func (r *report) add(name string, v float64, unit string) {
	r.lines = append(r.lines, fmt.Sprintf("%s %.6g %s", name, v, unit))
}

func (r *report) print() {
	for _, l := range r.lines {
		fmt.Println(l)
	}
}
