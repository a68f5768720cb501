//go:build !linux || arm

package recorder

import "os"

// startWriteback does nothing where sync_file_range is missing: Close
// syncs the whole file.
func startWriteback(*os.File, int64, int64) {}
