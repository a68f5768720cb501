package storage

import (
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/dustin/go-humanize"
)

// measureSpool adds up the files in the spool (recordings being written
// and waiting for upload), when the spool has a bound or is observed.
func (s *Storage) measureSpool() {
	_, unobserved := s.o.Observer.(nopObserver)
	if s.o.SpoolMax <= 0 && (unobserved || !s.Remote()) || s.o.RecordingsDir == "" {
		return
	}
	var total int64
	filepath.WalkDir(s.o.RecordingsDir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			total += info.Size()
		}
		return nil
	})
	s.spoolBytes.Store(total)
}

// SpoolFull returns an error saying so when the spool holds spool_max or
// more; new sessions then follow recording_failure.
func (s *Storage) SpoolFull() error {
	if s.o.SpoolMax <= 0 {
		return nil
	}
	if n := s.spoolBytes.Load(); n >= s.o.SpoolMax {
		return fmt.Errorf("the recording spool is full (%s of spool_max %s; is the object store down? see 'jmsctl recording status')",
			humanize.IBytes(uint64(n)), humanize.IBytes(uint64(s.o.SpoolMax)))
	}
	return nil
}

// SpoolBytes is the spool's size at the last measure (0 without spool_max
// or an observer).
func (s *Storage) SpoolBytes() int64 { return s.spoolBytes.Load() }
