//go:build linux && !arm

package recorder

import (
	"os"
	"syscall"
)

// startWriteback asks the kernel to start writing n bytes of f from off to
// disk, without waiting for it (sync_file_range with SYNC_FILE_RANGE_WRITE),
// so that the fsync at Close finds little left to do. It is only a hint:
// errors are ignored, and Close still syncs.
func startWriteback(f *os.File, off, n int64) {
	const syncFileRangeWrite = 2 // SYNC_FILE_RANGE_WRITE
	_ = syscall.SyncFileRange(int(f.Fd()), off, n, syncFileRangeWrite)
}
