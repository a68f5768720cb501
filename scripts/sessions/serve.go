package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// serve reads the figures of the jmsctl serve process from /proc and, with
// debug set, from a -tags jmspprof build's debug listener.
type serve struct {
	pid   int
	debug string
}

// snapshot is the serve's memory at one moment.
type snapshot struct {
	rss        int64 // KiB, once it stopped moving
	forced     int64 // KiB, right after /debug/jms/free (0 without debug)
	forcedMem  mem   // the same, anonymous and file-backed apart
	forcedAnon anonSplit
	heap       int64 // KiB of live heap after that collection
	heapInuse  int64 // KiB of the heap's spans in use then
	stack      int64 // KiB of goroutine stacks in use then
	goroutines int
	classes    map[string]int64 // the runtime's memory classes, KiB, by name
}

// clkTck is the kernel's USER_HZ, 100 on Linux everywhere that matters.
const clkTck = 100

// mem is the serve's resident memory from /proc/PID/status, in KiB:
// VmRSS is anon + file + shmem.
type mem struct {
	rss, anon, file, shmem int64
}

func (s serve) mem() (mem, error) {
	var m mem
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid))
	if err != nil {
		return m, fmt.Errorf("read the serve's status: %w", err)
	}
	fields := map[string]*int64{"VmRSS:": &m.rss, "RssAnon:": &m.anon, "RssFile:": &m.file, "RssShmem:": &m.shmem}
	seen := false
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		if p, ok := fields[f[0]]; ok {
			if *p, err = strconv.ParseInt(f[1], 10, 64); err != nil {
				return m, fmt.Errorf("/proc/%d/status: %s: %w", s.pid, f[0], err)
			}
			seen = seen || f[0] == "VmRSS:"
		}
	}
	if !seen {
		return m, fmt.Errorf("no VmRSS in /proc/%d/status", s.pid)
	}
	return m, nil
}

func (s serve) rss() (int64, error) {
	m, err := s.mem()
	return m.rss, err
}

// cpu returns the serve's user+system CPU time so far.
func (s serve) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.pid))
	if err != nil {
		return 0, fmt.Errorf("read the serve's stat: %w", err)
	}
	// Fields after the command name, which ends at the last ')'.
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", s.pid)
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * time.Second / clkTck, nil
}

// settle waits until the RSS holds within 256 KiB for 3 s (at most max)
// and returns it.
func (s serve) settle(max time.Duration) (int64, error) {
	last, err := s.rss()
	if err != nil {
		return 0, err
	}
	cur, same := last, 0
	for end := time.Now().Add(max); time.Now().Before(end) && same < 3; {
		time.Sleep(time.Second)
		if cur, err = s.rss(); err != nil {
			return 0, err
		}
		if d := cur - last; d < 256 && d > -256 {
			same++
		} else {
			same, last = 0, cur
		}
	}
	return cur, nil
}

func (s serve) snapshot(max time.Duration) (snapshot, error) {
	var sn snapshot
	var err error
	if sn.rss, err = s.settle(max); err != nil {
		return sn, err
	}
	if s.debug == "" {
		return sn, nil
	}
	if err := s.free(&sn); err != nil {
		return sn, err
	}
	if sn.forcedMem, err = s.mem(); err != nil {
		return sn, err
	}
	sn.forced = sn.forcedMem.rss
	sn.forcedAnon, err = s.anonSplit()
	return sn, err
}

// free asks the debug listener to collect and return free memory to the
// OS; it answers with "goroutines N", "heap_kib N", "heap_inuse_kib N" and
// "stack_kib N" lines.
func (s serve) free(sn *snapshot) error {
	resp, err := http.Get("http://" + s.debug + "/debug/jms/free")
	if err != nil {
		return fmt.Errorf("the serve's debug listener: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return fmt.Errorf("the serve's debug listener: %s: %s", resp.Status, b)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "goroutines":
			sn.goroutines = int(n)
		case "heap_kib":
			sn.heap = n
		case "heap_inuse_kib":
			sn.heapInuse = n
		case "stack_kib":
			sn.stack = n
		default:
			if name, ok := strings.CutPrefix(k, "memclass_"); ok {
				if sn.classes == nil {
					sn.classes = map[string]int64{}
				}
				sn.classes[name] = n
			}
		}
	}
	return sc.Err()
}

// anonSplit is the serve's anonymous resident memory in KiB from
// /proc/PID/smaps, split between the nameless mapping that holds the most
// (the Go heap arena, where objects and goroutine stacks live) and the
// rest (the runtime's off-heap structures, the binary's data and bss, the
// main thread's stack).
type anonSplit struct{ arena, rest int64 }

func (s serve) anonSplit() (anonSplit, error) {
	var a anonSplit
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", s.pid))
	if err != nil {
		return a, fmt.Errorf("read the serve's smaps: %w", err)
	}
	nameless := false
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		switch {
		case len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"):
			nameless = len(f) == 5 // address perms offset dev inode [path]
		case len(f) >= 2 && f[0] == "Anonymous:":
			kib, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return a, fmt.Errorf("/proc/%d/smaps: %w", s.pid, err)
			}
			if nameless && kib > a.arena {
				a.rest += a.arena
				a.arena = kib
			} else {
				a.rest += kib
			}
		}
	}
	return a, nil
}
