//go:build jmspprof

package main

// A build for profiling only (go build -tags jmspprof): with JMS_PPROF set
// to an address, serve also answers net/http/pprof there. Normal builds
// leave this file out, so no release binary carries a profiling listener.
//
// /debug/jms/free runs two full collections, returns the free pages to the OS
// (debug.FreeOSMemory) and answers "goroutines N", "heap_kib N" (live
// heap), "heap_inuse_kib N" (the heap's spans in use: live heap and the
// free room in those spans) and "stack_kib N" (goroutine stacks), then
// "memclass_NAME N" for each of the runtime's /memory/classes/ metrics in
// KiB (NAME its path with "_" for "/": heap_free, metadata_mspan_inuse,
// os-stacks …) and "memclass_c-heap_mapped N", the KiB that SQLite's C
// heap (modernc.org/libc's allocator) holds mapped, counted only in a
// build with -tags memory.counters as the benches make: the memory
// benches read the settled RSS right after it (docs/performance.md).

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"

	"modernc.org/libc"
)

func init() {
	addr := os.Getenv("JMS_PPROF")
	if addr == "" {
		return
	}
	// JMS_PPROF_MEMRATE=1 records every allocation in the heap profile
	// (the default samples one per 512 KiB): slow, for counting bytes
	// per session.
	if r, err := strconv.Atoi(os.Getenv("JMS_PPROF_MEMRATE")); err == nil && r > 0 {
		runtime.MemProfileRate = r
	}
	http.HandleFunc("/debug/jms/free", func(w http.ResponseWriter, _ *http.Request) {
		// Twice: sync.Pool keeps what it pooled through one collection
		// (its victim cache). An idle serve frees it on its own at its
		// next periodic collection, at most two minutes later.
		debug.FreeOSMemory()
		debug.FreeOSMemory()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(w, "goroutines %d\nheap_kib %d\nheap_inuse_kib %d\nstack_kib %d\n",
			runtime.NumGoroutine(), ms.HeapAlloc/1024, ms.HeapInuse/1024, ms.StackInuse/1024)
		writeMemClasses(w)
		fmt.Fprintf(w, "memclass_c-heap_mapped %d\n", libc.MemStat().Bytes/1024)
	})
	go func() {
		if err := http.ListenAndServe(addr, nil); err != nil {
			slog.Error("pprof listener", "err", err)
		}
	}()
}

// writeMemClasses writes the runtime's memory classes (runtime/metrics
// /memory/classes/…:bytes), one "memclass_NAME KiB" line each.
func writeMemClasses(w io.Writer) {
	var samples []metrics.Sample
	for _, d := range metrics.All() {
		if strings.HasPrefix(d.Name, "/memory/classes/") && d.Kind == metrics.KindUint64 {
			samples = append(samples, metrics.Sample{Name: d.Name})
		}
	}
	metrics.Read(samples)
	for _, s := range samples {
		name := strings.TrimSuffix(strings.TrimPrefix(s.Name, "/memory/classes/"), ":bytes")
		fmt.Fprintf(w, "memclass_%s %d\n", strings.ReplaceAll(name, "/", "_"), s.Value.Uint64()/1024)
	}
}
