package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/jms-bastion/jms/store"
)

// A running session's recording is uploaded in parts, so that a node lost
// for good mid-session loses at most the last part's worth: each part is
// what the session recorded since the previous one, cut at the end of an
// event line, compressed as one gzip member, as <key>.part-NNNNN. The
// parts, concatenated in order, are one gzip stream of the recording's
// beginning. Once the whole recording is uploaded, its parts are deleted.

// partState is how far a running session's recording has been uploaded.
type partState struct {
	offset int64     // bytes uploaded in parts
	at     time.Time // when the last part (or the session) began
	n      int       // parts uploaded
	busy   bool      // a part is being uploaded
}

// partsTracker holds the partState of the running sessions.
type partsTracker struct {
	mu sync.Mutex
	m  map[string]*partState
}

// partBusy reports whether a part of the session's recording is being
// uploaded.
func (s *Storage) partBusy(sessionID string) bool {
	s.parts.mu.Lock()
	defer s.parts.mu.Unlock()
	p := s.parts.m[sessionID]
	return p != nil && p.busy
}

// partKey is the object key of a recording's part n.
func partKey(key string, n int) string { return fmt.Sprintf("%s.part-%05d", key, n) }

// checkpoint starts the part uploads that are due for the running
// sessions recorded on this node's disk.
func (s *Storage) checkpoint(ctx context.Context, wg *sync.WaitGroup, sem chan struct{}) {
	if s.o.PartInterval <= 0 && s.o.PartSize <= 0 {
		return
	}
	active, err := s.st.ListSessions(ctx, store.SessionQuery{Active: true, Limit: 100000})
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("listing the running sessions to upload in parts", "err", err)
		}
		return
	}
	s.parts.mu.Lock()
	defer s.parts.mu.Unlock()
	running := map[string]bool{}
	for _, ss := range active {
		if ss.RecordingPath == "" {
			continue
		}
		running[ss.ID] = true
		p := s.parts.m[ss.ID]
		if p == nil {
			p = &partState{at: s.o.Now()}
			s.parts.m[ss.ID] = p
		}
		if p.busy || !s.partDue(ss, p) {
			continue
		}
		select {
		case sem <- struct{}{}:
		default:
			return
		}
		p.busy = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s.uploadPart(ctx, ss, p)
		}()
	}
	for id, p := range s.parts.m {
		if !running[id] && !p.busy {
			delete(s.parts.m, id)
		}
	}
}

// partDue reports whether the session has recorded enough, or long
// enough, since its last part. Called with s.parts.mu held.
func (s *Storage) partDue(ss store.Session, p *partState) bool {
	fi, err := os.Stat(s.abs(ss.RecordingPath))
	if err != nil {
		return false // another node's session
	}
	grown := fi.Size() - p.offset
	return grown > 0 && (s.o.PartSize > 0 && grown >= s.o.PartSize ||
		s.o.PartInterval > 0 && s.o.Now().Sub(p.at) >= s.o.PartInterval)
}

// uploadPart uploads what the session recorded since its last part, up to
// the end of the last whole event line.
func (s *Storage) uploadPart(ctx context.Context, ss store.Session, p *partState) {
	s.parts.mu.Lock()
	offset, n := p.offset, p.n
	s.parts.mu.Unlock()
	end, err := s.uploadSection(ctx, ss, offset, n+1)
	s.parts.mu.Lock()
	defer s.parts.mu.Unlock()
	p.busy, p.at = false, s.o.Now()
	switch {
	case err != nil:
		if ctx.Err() == nil {
			s.log.Warn("uploading a part of a running session's recording: the next part will carry it", "session", ss.ID, "err", err)
		}
	case end > offset:
		p.offset, p.n = end, n+1
		s.log.Debug("recording part uploaded", "session", ss.ID, "part", n+1, "upto", end)
	}
}

// uploadSection uploads the recording's bytes from offset to the end of
// its last whole line as part n, and returns where that part ends.
func (s *Storage) uploadSection(ctx context.Context, ss store.Session, offset int64, n int) (int64, error) {
	f, err := os.Open(s.abs(ss.RecordingPath))
	if err != nil {
		return offset, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return offset, err
	}
	end, err := lastLineEnd(f, offset, fi.Size())
	if err != nil || end <= offset {
		return offset, err
	}
	key := partKey(s.key(store.RecordingFile{Name: filepath.Base(ss.RecordingPath), SessionStartedAt: ss.StartedAt}), n)
	pr, pw := io.Pipe()
	go func() {
		zw, _ := gzip.NewWriterLevel(pw, gzip.BestSpeed)
		_, err := io.Copy(zw, io.NewSectionReader(f, offset, end-offset))
		if cerr := zw.Close(); err == nil {
			err = cerr
		}
		pw.CloseWithError(err)
	}()
	err = s.o.Objects.Put(ctx, key, pr, map[string]string{"jms-session": ss.ID, "jms-offset": fmt.Sprint(offset)})
	pr.CloseWithError(errors.New("upload ended"))
	if err != nil {
		return offset, err
	}
	return end, nil
}

// lastLineEnd returns the offset just past the last newline in f between
// from and size, or from when there is none.
func lastLineEnd(f io.ReaderAt, from, size int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for hi := size; hi > from; {
		lo := max(from, hi-int64(len(buf)))
		b := buf[:hi-lo]
		if _, err := f.ReadAt(b, lo); err != nil && err != io.EOF {
			return from, err
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return lo + int64(i) + 1, nil
		}
		hi = lo
	}
	return from, nil
}

// deleteParts deletes the parts of the recording whose object is key.
func (s *Storage) deleteParts(ctx context.Context, key string) error {
	keys, err := s.o.Objects.List(ctx, key+".part-")
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := s.o.Objects.Delete(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// openParts opens the parts a session's recording left in the object
// store, as one uncompressed stream, when there are any.
func (s *Storage) openParts(ctx context.Context, f store.RecordingFile) (io.ReadCloser, bool, error) {
	keys, err := s.o.Objects.List(ctx, s.key(f)+".part-")
	if err != nil || len(keys) == 0 {
		return nil, false, err
	}
	rs := make([]io.Reader, 0, len(keys))
	var closers []io.Closer
	closeAll := func() {
		for _, c := range closers {
			c.Close()
		}
	}
	for _, k := range keys {
		rc, err := s.o.Objects.Get(ctx, k)
		if err != nil {
			closeAll()
			return nil, true, err
		}
		rs = append(rs, rc)
		closers = append(closers, rc)
	}
	zr, err := gzip.NewReader(io.MultiReader(rs...))
	if err != nil {
		closeAll()
		return nil, true, err
	}
	closers = append([]io.Closer{zr}, closers...)
	return multiCloser{zr, closers}, true, nil
}

type multiCloser struct {
	io.Reader
	cs []io.Closer
}

func (m multiCloser) Close() error {
	for _, c := range m.cs {
		c.Close()
	}
	return nil
}
