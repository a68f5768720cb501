package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/jms-bastion/jms/recorder"
	"github.com/jms-bastion/jms/store"
)

// Run checks that the object store answers (a warning when not), then
// registers ended sessions' recordings, uploads the spool with at most
// Concurrency uploads at once, measures the spool and runs the retention
// job, until ctx is done; then it waits for the uploads it started (they
// stop with ctx, and resume at the next start).
func (s *Storage) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, s.o.Concurrency)
	tick := time.NewTicker(s.o.Poll)
	defer tick.Stop()
	var nextRetention time.Time
	if err := s.Check(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("the object store cannot be used now: recordings wait in the spool", "err", err)
	}
	for {
		if _, err := s.RegisterEnded(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("registering recordings", "err", err)
		}
		s.measureSpool()
		if s.Remote() {
			s.checkpoint(ctx, &wg, sem)
			s.startDue(ctx, &wg, sem)
			s.observeSpool(ctx)
			s.warnIfBehind(ctx)
		}
		if now := s.o.Now(); s.o.Retention > 0 && !now.Before(nextRetention) {
			nextRetention = now.Add(s.o.RetentionEvery)
			s.runRetention(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// startDue starts the uploads that are due, as many as free slots allow.
func (s *Storage) startDue(ctx context.Context, wg *sync.WaitGroup, sem chan struct{}) {
	due, err := s.st.DueUploads(ctx, s.o.Now(), 4*s.o.Concurrency)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("listing the recordings to upload", "err", err)
		}
		return
	}
	for _, f := range due {
		if s.partBusy(f.SessionID) || !s.claim(f.ID) {
			continue // a part of it is still on its way: after that, or the part would outlive the whole
		}
		select {
		case sem <- struct{}{}:
		default:
			s.release(f.ID)
			return // every slot busy: the rest waits for the next look
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			defer s.release(f.ID)
			s.uploadOne(ctx, f)
		}()
	}
}

func (s *Storage) claim(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inFlight[id] {
		return false
	}
	s.inFlight[id] = true
	return true
}

func (s *Storage) release(id int64) {
	s.mu.Lock()
	delete(s.inFlight, id)
	s.mu.Unlock()
}

func (s *Storage) uploading(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inFlight[id]
}

// uploadOne uploads one spooled file and records the outcome: stored (and
// the spool copy removed), or failed with the next attempt's time.
func (s *Storage) uploadOne(ctx context.Context, f store.RecordingFile) {
	log := s.log.With("session", f.SessionID, "file", f.Name)
	log.Debug("recording upload started", "attempt", f.Attempts+1, "bytes", f.Size)
	key, size, sum, err := s.Upload(ctx, f)
	if err != nil {
		if ctx.Err() != nil {
			log.Info("recording upload stopped: it resumes at the next start", "err", err)
			return
		}
		s.o.Observer.UploadFailed()
		next := s.o.Now().Add(s.backoff(f.Attempts))
		log.Warn("recording upload failed: will retry", "attempt", f.Attempts+1, "next", next.UTC().Format(time.RFC3339), "err", err)
		if ferr := s.st.RecordingUploadFailed(context.WithoutCancel(ctx), f.ID, err.Error(), next); ferr != nil {
			log.Error("recording the failed upload", "err", ferr)
		}
		s.uploadFailed(ctx, f, err)
		return
	}
	s.uploadWorked()
	if err := s.st.RecordingStored(context.WithoutCancel(ctx), f.ID, key, size, sum); err != nil {
		log.Error("recording the upload: the spool copy stays, and is uploaded again", "err", err)
		return
	}
	s.o.Observer.UploadStored(size)
	local := s.abs(f.LocalPath)
	if err := os.Remove(local); err != nil && !errors.Is(err, os.ErrNotExist) {
		log.Warn("removing the uploaded spool copy", "err", err)
	}
	os.Remove(filepath.Dir(local)) // the day's folder, once empty
	if err := s.deleteParts(ctx, key); err != nil {
		log.Warn("deleting the parts uploaded while the session ran", "err", err)
	}
	log.Info("recording uploaded", "object", s.o.Objects.Where()+"/"+key, "bytes", f.Size, "stored_bytes", size)
}

// backoff is the wait before attempt n+1: RetryBase doubling per
// attempt up to RetryMax, less up to a fifth at random so that many
// nodes do not retry in step.
func (s *Storage) backoff(attempts int) time.Duration {
	d := s.o.RetryBase
	for i := 0; i < attempts && d < s.o.RetryMax; i++ {
		d *= 2
	}
	d = min(d, s.o.RetryMax)
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

// Upload sends one spooled file to the object store gzip-compressed, as
// it streams, and reads the object back: its size and SHA-256 must be
// what was sent, and what was sent must be the file as the session left
// it (its size and SHA-256 on the row). It returns the object's key, size
// and SHA-256.
func (s *Storage) Upload(ctx context.Context, f store.RecordingFile) (key string, size int64, sum string, err error) {
	// A changed spool copy is not sent at all; a change during the upload
	// is caught after it, and the object deleted.
	if n, sum, err := recorder.Digest(s.abs(f.LocalPath)); err != nil {
		return "", 0, "", fmt.Errorf("the spool copy: %w", err)
	} else if n != f.Size || sum != f.SHA256 {
		return "", 0, "", changedError(f, n, sum)
	}
	in, err := os.Open(s.abs(f.LocalPath))
	if err != nil {
		return "", 0, "", fmt.Errorf("the spool copy: %w", err)
	}
	defer in.Close()
	key = s.key(f)
	plain, packed := newDigest(), newDigest()
	pr, pw := io.Pipe()
	go func() {
		// The fastest level: on terminal text it compresses nearly as
		// well as the default for a quarter of the CPU, CPU the proxy
		// shares (docs/performance.md).
		zw, _ := gzip.NewWriterLevel(io.MultiWriter(pw, packed), gzip.BestSpeed)
		_, err := io.Copy(zw, io.TeeReader(in, plain))
		if cerr := zw.Close(); err == nil {
			err = cerr
		}
		pw.CloseWithError(err)
	}()
	meta := map[string]string{"jms-session": f.SessionID, "jms-size": strconv.FormatInt(f.Size, 10), "jms-sha256": f.SHA256}
	err = s.o.Objects.Put(ctx, key, pr, meta)
	pr.CloseWithError(errors.New("upload ended")) // stops the compressor if Put returned early
	if err != nil {
		return "", 0, "", err
	}
	if plain.n != f.Size || plain.sum() != f.SHA256 {
		if derr := s.o.Objects.Delete(context.WithoutCancel(ctx), key); derr != nil {
			s.log.Warn("deleting the upload of a changed spool copy", "object", key, "err", derr)
		}
		return "", 0, "", changedError(f, plain.n, plain.sum())
	}
	if err := s.readBack(ctx, key, packed.n, packed.sum()); err != nil {
		return "", 0, "", err
	}
	return key, packed.n, packed.sum(), nil
}

func changedError(f store.RecordingFile, n int64, sum string) error {
	return fmt.Errorf("the spool copy %s (%d bytes, SHA-256 %.12s…) is not the recording the session left (%d bytes, %.12s…): it was changed, so it stays in the spool",
		f.LocalPath, n, sum, f.Size, f.SHA256)
}

// readBack checks that the object key holds size bytes hashing to sum.
func (s *Storage) readBack(ctx context.Context, key string, size int64, sum string) error {
	rc, err := s.o.Objects.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("reading the upload back: %w", err)
	}
	defer rc.Close()
	d := newDigest()
	if _, err := io.Copy(d, rc); err != nil {
		return fmt.Errorf("reading the upload back: %w", err)
	}
	if d.n != size || d.sum() != sum {
		return fmt.Errorf("%s/%s: the object read back (%d bytes) is not what was sent (%d bytes)", s.o.Objects.Where(), key, d.n, size)
	}
	return nil
}

// digest counts and hashes what is written to it.
type digest struct {
	h hash.Hash
	n int64
}

func newDigest() *digest { return &digest{h: sha256.New()} }

func (d *digest) Write(b []byte) (int, error) {
	d.n += int64(len(b))
	return d.h.Write(b)
}

func (d *digest) sum() string { return hex.EncodeToString(d.h.Sum(nil)) }

// warnIfBehind logs, at most every BehindAfter, when the oldest file in
// the spool has waited longer than BehindAfter.
// It records the state in the operations audit when it changes (health.go).
func (s *Storage) warnIfBehind(ctx context.Context) {
	now := s.o.Now()
	oldest, err := s.st.RecordingFilesIn(ctx, store.RecordingSpool, 1)
	if err != nil {
		return
	}
	if len(oldest) == 0 || now.Sub(oldest[0].CreatedAt) < s.o.BehindAfter {
		s.noteBehind(ctx, false, 0, "")
		return
	}
	s.noteBehind(ctx, true, now.Sub(oldest[0].CreatedAt), oldest[0].LastError)
	if now.Sub(s.lastBehind) < s.o.BehindAfter {
		return
	}
	s.lastBehind = now
	s.log.Warn("recording uploads are falling behind", "oldest_waiting", now.Sub(oldest[0].CreatedAt).Round(time.Second).String(),
		"last_error", oldest[0].LastError, "spool_bytes", s.spoolBytes.Load())
}
