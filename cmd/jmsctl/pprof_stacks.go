//go:build jmspprof && jmsstacks

package main

// A build for measuring goroutine stacks only (go build -tags
// jmspprof,jmsstacks -ldflags=-checklinkname=0): /debug/jms/stacks lists
// every live goroutine's id, stack size and stack in use, read from the
// runtime's table of goroutines. It depends on the runtime's private layout
// (Go 1.26) and is never part of a release build.

import (
	"bytes"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"unsafe"
)

//go:linkname allgs runtime.allgs
var allgs []unsafe.Pointer

// Offsets in runtime.g (Go 1.26, amd64): stack.lo, stack.hi, sched.sp,
// atomicstatus; goidOffset is found at start (see findGoid).
const (
	offLo     = 0
	offHi     = 8
	offSP     = 56
	offStatus = 136 + 8
)

func word(g unsafe.Pointer, off uintptr) uintptr { return *(*uintptr)(unsafe.Add(g, off)) }

// findGoid finds the offset of goid in runtime.g: the word of this
// goroutine's g that holds its id.
func findGoid() uintptr {
	var local int
	here := uintptr(unsafe.Pointer(&local))
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	f := bytes.Fields(buf)
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

func init() {
	http.HandleFunc("/debug/jms/stacks", func(w http.ResponseWriter, _ *http.Request) {
		off := findGoid()
		if off == 0 {
			http.Error(w, "goid not found", 500)
			return
		}
		for _, g := range allgs {
			st := *(*uint32)(unsafe.Add(g, off-8))
			if st == 6 { // _Gdead
				continue
			}
			lo, hi := word(g, offLo), word(g, offHi)
			fmt.Fprintf(w, "%d %d %d %d\n", word(g, off), hi-lo, hi-word(g, offSP), st)
		}
	})
}
