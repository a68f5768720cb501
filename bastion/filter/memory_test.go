package filter

import (
	"runtime"
	"testing"
)

// An idle session costs the bastion little: the terminal emulator (a
// 4 MiB parser buffer and two screens) is made at the first keystroke,
// not at the session's start.
func TestIdleTrackerIsCheap(t *testing.T) {
	motd := []byte("Linux web1 6.1.0 #1 SMP x86_64\r\n\r\nThe programs included with Debian are free software.\r\nuser@web1:~$ ")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	trackers := make([]*LineTracker, 20)
	for i := range trackers {
		trackers[i] = NewLineTracker(200, 60)
		trackers[i].Output(motd)
	}
	runtime.ReadMemStats(&after)
	perTracker := (after.TotalAlloc - before.TotalAlloc) / uint64(len(trackers))
	if perTracker > 32<<10 {
		t.Fatalf("an idle tracker allocates %d KiB, want at most 32 KiB", perTracker>>10)
	}
	// The first keystroke brings the emulator, and the prompt is read.
	tr := trackers[0]
	tr.Input([]byte("ls"))
	tr.Output([]byte("ls"))
	segs := tr.Input([]byte("\r"))
	if len(segs) == 0 || segs[len(segs)-1].Kind != Submit {
		t.Fatalf("segments %+v, want a submit", segs)
	}
	if got := tr.Line(); got != "ls" {
		t.Fatalf("line %q, want ls", got)
	}
	runtime.KeepAlive(trackers)
}

// A client's PTY size is its own word: a 10000×10000 request must not
// make the tracker's emulator allocate gigabytes.
func TestHugePTYIsBounded(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tr := NewLineTracker(10000, 10000)
	tr.Output([]byte("user@web1:~$ "))
	tr.Input([]byte("ls"))
	tr.Output([]byte("ls"))
	tr.Resize(20000, 20000)
	tr.Input([]byte("\r"))
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 256<<20 {
		t.Fatalf("a huge PTY made the tracker allocate %d MiB", got>>20)
	}
	if tr.w > maxTrackerCols || tr.h > maxTrackerRows {
		t.Fatalf("tracker size %d×%d", tr.w, tr.h)
	}
	runtime.KeepAlive(tr)
}
