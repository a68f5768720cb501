package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/jms-bastion/jms/store"
)

// pruneBatch is how many sessions one pass of Prune takes.
const pruneBatch = 100

// Prune deletes the recordings of sessions that ended before before, from
// wherever they are (spool, local disk, object store), and marks each
// session's recording expired (audited as recording.expire, naming
// policy). The session rows and their command audit stay. With dryRun it
// only returns what it would delete. It returns the sessions pruned.
func (s *Storage) Prune(ctx context.Context, before time.Time, policy string, dryRun bool) ([]store.Session, error) {
	var done []store.Session
	limit := pruneBatch
	if dryRun {
		limit = 1 << 30
	}
	for {
		list, err := s.st.ExpiringRecordings(ctx, before, limit)
		if err != nil {
			return done, fmt.Errorf("find expired recordings: %w", err)
		}
		if dryRun {
			return list, nil
		}
		pruned := 0
		for _, ss := range list {
			if err := s.deleteRecording(ctx, ss); err != nil {
				return done, err
			}
			if err := s.st.ExpireRecording(ctx, ss.ID, policy); err != nil {
				return done, fmt.Errorf("session %s: %w", ss.ID, err)
			}
			done = append(done, ss)
			pruned++
		}
		if len(list) < limit || pruned == 0 {
			return done, nil
		}
	}
}

// deleteRecording deletes every file of a session's recording: objects
// from the store, spool and local files from the disk.
func (s *Storage) deleteRecording(ctx context.Context, ss store.Session) error {
	files, err := s.st.RecordingFiles(ctx, ss.ID)
	if err != nil {
		return fmt.Errorf("session %s: %w", ss.ID, err)
	}
	if len(files) == 0 { // not registered: the files beside the row's path, and any parts
		if s.o.Objects != nil {
			f, _ := s.castFile(ctx, ss)
			if err := s.deleteParts(ctx, s.key(f)); err != nil {
				return fmt.Errorf("session %s: %w", ss.ID, err)
			}
		}
		for _, p := range sessionFiles(s.abs(ss.RecordingPath)) {
			if err := removeFile(p); err != nil {
				return fmt.Errorf("session %s: %w", ss.ID, err)
			}
		}
		return nil
	}
	for _, f := range files {
		if s.uploading(f.ID) {
			return fmt.Errorf("session %s: %s is being uploaded: pruned at the next run", ss.ID, f.Name)
		}
		if s.o.Objects != nil {
			if err := s.deleteParts(ctx, s.key(f)); err != nil {
				return fmt.Errorf("session %s: %w", ss.ID, err)
			}
		}
		if f.State == store.RecordingStored {
			if s.o.Objects == nil {
				return fmt.Errorf("session %s: its recording is in the object store (%s), but recording_storage is not set here", ss.ID, f.ObjectKey)
			}
			if err := s.o.Objects.Delete(ctx, f.ObjectKey); err != nil {
				return fmt.Errorf("session %s: %w", ss.ID, err)
			}
		}
		if f.LocalPath != "" {
			if err := removeFile(s.abs(f.LocalPath)); err != nil {
				return fmt.Errorf("session %s: %w", ss.ID, err)
			}
		}
	}
	return nil
}

func removeFile(p string) error {
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// runRetention is the scheduled job: it prunes what the retention policy
// says has expired, and logs what it did.
func (s *Storage) runRetention(ctx context.Context) {
	policy := "recording_retention " + s.o.Retention.String()
	pruned, err := s.Prune(store.WithActor(ctx, "jms:retention"), s.o.Now().Add(-s.o.Retention), policy, false)
	if len(pruned) > 0 {
		s.log.Info("retention: recordings deleted", "sessions", len(pruned), "policy", policy)
	}
	if err != nil && ctx.Err() == nil {
		s.log.Error("retention: deleting expired recordings", "err", err)
	}
}
