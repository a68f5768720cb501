package storage

import (
	"context"
	"time"
)

// Observer is told how the spool and the uploads go (the metrics, wired
// by the command: storage knows nothing of them). Its methods must be
// quick and safe for concurrent use.
type Observer interface {
	// UploadStored counts one file stored in the object store, verified,
	// as bytes (compressed) in the store.
	UploadStored(bytes int64)
	// UploadFailed counts one failed upload attempt (it is retried).
	UploadFailed()
	// SpoolMeasured reports the spool at each look.
	SpoolMeasured(SpoolStatus)
}

// SpoolStatus is the spool at one look.
type SpoolStatus struct {
	// Files wait for their upload (all nodes sharing the database);
	// Failed of them failed their last attempt.
	Files, Failed int
	// Oldest is how long the longest-waiting file has waited (0: none).
	Oldest time.Duration
	// Bytes is the size of the node's spool folder: recordings being
	// written and files waiting.
	Bytes int64
}

// nopObserver observes nothing.
type nopObserver struct{}

func (nopObserver) UploadStored(int64)        {}
func (nopObserver) UploadFailed()             {}
func (nopObserver) SpoolMeasured(SpoolStatus) {}

// observeSpool reports the spool to the observer, when there is one and
// recordings go to an object store (a local-only folder is no spool).
func (s *Storage) observeSpool(ctx context.Context) {
	if _, none := s.o.Observer.(nopObserver); none || !s.Remote() {
		return
	}
	sum, err := s.st.RecordingSpoolSummary(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("counting the recordings waiting for upload", "err", err)
		}
		return
	}
	st := SpoolStatus{Files: sum.Files, Failed: sum.Failed, Bytes: s.spoolBytes.Load()}
	if !sum.Oldest.IsZero() {
		st.Oldest = max(s.o.Now().Sub(sum.Oldest), 0)
	}
	s.o.Observer.SpoolMeasured(st)
}
