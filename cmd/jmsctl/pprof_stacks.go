//go:build jmspprof && jmsstacks

package main

// A build for measuring goroutine stacks only:
//
//	CGO_ENABLED=0 go build -tags jmspprof,jmsstacks -ldflags=-checklinkname=0 -o /tmp/jmsctl ./cmd/jmsctl
//
// /debug/jms/stacks groups the live goroutines by the first function of
// their stack outside the runtime, the standard library and x/crypto's
// read paths, and gives for each group the count, the stack size and the
// stack in use (what the collector can shrink a stack towards: it halves
// one whose use is under a quarter of its size). The sizes come from the
// runtime's table of goroutines, read through its private layout (Go
// 1.26, amd64): never part of a release build. docs/performance.md,
// "Memory per idle session", shows what it says.

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"unsafe"
)

//go:linkname allgs runtime.allgs
var allgs []unsafe.Pointer

// Offsets in runtime.g: stack.lo, stack.hi, sched.sp. The goroutine id's
// is found at run time (goidOffset), the status is the word before it.
const (
	offLo = 0
	offHi = 8
	offSP = 56
)

func word(g unsafe.Pointer, off uintptr) uintptr { return *(*uintptr)(unsafe.Add(g, off)) }

// goidOffset finds the offset of the goroutine id in runtime.g: the word
// of this goroutine's g (the one whose stack holds a local of this
// function) that holds its id.
func goidOffset() uintptr {
	var local int
	here := uintptr(unsafe.Pointer(&local))
	buf := make([]byte, 64)
	f := bytes.Fields(buf[:runtime.Stack(buf, false)])
	id, _ := strconv.ParseUint(string(f[1]), 10, 64)
	for _, g := range allgs {
		if word(g, offLo) <= here && here < word(g, offHi) {
			for off := uintptr(64); off < 400; off += 8 {
				if uint64(word(g, off)) == id {
					return off
				}
			}
		}
	}
	return 0
}

type stackSize struct{ size, used uintptr }

// stackSizes returns the stack of every live goroutine by id.
func stackSizes() map[uint64]stackSize {
	off := goidOffset()
	m := map[uint64]stackSize{}
	if off == 0 {
		return m
	}
	for _, g := range allgs {
		if *(*uint32)(unsafe.Add(g, off-8)) == 6 { // _Gdead
			continue
		}
		lo, hi := word(g, offLo), word(g, offHi)
		m[uint64(word(g, off))] = stackSize{hi - lo, hi - word(g, offSP)}
	}
	return m
}

var (
	goHeader = regexp.MustCompile(`(?m)^goroutine (\d+) \[`)
	// Frames that say nothing of whose goroutine it is.
	plumbing = regexp.MustCompile(`^(internal/|crypto/|(runtime|sync|net|io|bufio|os|context|time)\.)|` +
		`^golang\.org/x/crypto/ssh\.\(\*(buffer|channel|connectionState|transport|gcmCipher|chacha20Poly1305Cipher)\)|` +
		`^golang\.org/x/crypto/ssh\.\(\*handshakeTransport\)\.readPacket`)
)

// owner is the first function of a goroutine's stack that is not
// plumbing.
func owner(trace []byte) string {
	first := ""
	for _, line := range bytes.Split(trace, []byte("\n"))[1:] {
		if len(line) == 0 || line[0] == '\t' || bytes.HasPrefix(line, []byte("created by")) {
			continue
		}
		fn := string(line[:max(bytes.LastIndexByte(line, '('), 0)])
		if first == "" {
			first = fn
		}
		if !plumbing.MatchString(fn) {
			return fn
		}
	}
	return first
}

func init() {
	http.HandleFunc("/debug/jms/stacks", func(w http.ResponseWriter, _ *http.Request) {
		buf := make([]byte, 64<<20)
		buf = buf[:runtime.Stack(buf, true)]
		sizes := stackSizes()
		type group struct {
			n          int
			size, used uintptr
		}
		groups := map[string]*group{}
		locs := goHeader.FindAllSubmatchIndex(buf, -1)
		for i, loc := range locs {
			end := len(buf)
			if i+1 < len(locs) {
				end = locs[i+1][0]
			}
			id, _ := strconv.ParseUint(string(buf[loc[2]:loc[3]]), 10, 64)
			s, ok := sizes[id]
			if !ok {
				continue
			}
			k := owner(buf[loc[0]:end])
			if groups[k] == nil {
				groups[k] = &group{}
			}
			groups[k].n++
			groups[k].size += s.size
			groups[k].used += s.used
		}
		keys := make([]string, 0, len(groups))
		for k := range groups {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b string) int { return int(groups[b].size) - int(groups[a].size) })
		fmt.Fprintln(w, "goroutines\tKiB each\tbytes in use each\tKiB in all\tfirst function past the plumbing")
		for _, k := range keys {
			g := groups[k]
			fmt.Fprintf(w, "%d\t%.1f\t%d\t%d\t%s\n", g.n, float64(g.size)/float64(g.n)/1024, g.used/uintptr(g.n), g.size/1024, k)
		}
	})
}
