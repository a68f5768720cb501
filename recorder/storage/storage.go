// Package storage keeps session recordings: on the local disk (the
// default), or in an S3-compatible object store with the local recordings
// folder as a spool. It registers each ended session's recording files
// with their size and SHA-256 (tamper evidence), uploads them compressed
// in the background with retries, opens a recording wherever it is,
// verifies recordings against their hashes, and deletes old ones under
// the retention policy.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/jms-bastion/jms/store"
)

// ErrNoObject is the error of an object that is not in the store.
var ErrNoObject = errors.New("no such object")

// Objects is an object store.
type Objects interface {
	// Where names the store for messages (s3://bucket).
	Where() string
	// Put stores r as key, streamed; meta is kept with the object.
	Put(ctx context.Context, key string, r io.Reader, meta map[string]string) error
	// Get opens key; a missing key is ErrNoObject.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// List returns the keys that begin with prefix, in order.
	List(ctx context.Context, prefix string) ([]string, error)
}

// Store is what storage needs of the store (*store.Store satisfies it).
type Store interface {
	UnregisteredRecordings(ctx context.Context, after store.Session, limit int) ([]store.Session, error)
	RegisterRecording(ctx context.Context, sessionID, state string, files []store.RecordingFile) error
	RecordingFiles(ctx context.Context, sessionID string) ([]store.RecordingFile, error)
	DueUploads(ctx context.Context, now time.Time, limit int) ([]store.RecordingFile, error)
	RecordingFilesIn(ctx context.Context, state string, limit int) ([]store.RecordingFile, error)
	RecordingSpoolSummary(ctx context.Context) (store.SpoolSummary, error)
	RecordingUploadFailed(ctx context.Context, id int64, why string, next time.Time) error
	RecordingStored(ctx context.Context, id int64, key string, size int64, sum string) error
	ExpiringRecordings(ctx context.Context, before time.Time, limit int) ([]store.Session, error)
	ExpireRecording(ctx context.Context, sessionID, policy string) error
	GetSession(ctx context.Context, idOrPrefix string) (store.Session, error)
	ListSessions(ctx context.Context, sq store.SessionQuery) ([]store.Session, error)
	RecordOperation(ctx context.Context, action, target string, detail map[string]any) error
}

// Options configure Storage. Zero values take the defaults noted.
type Options struct {
	// DataDir is what relative recording paths are relative to.
	DataDir string
	// RecordingsDir is the spool (the data directory's recordings/).
	RecordingsDir string
	// Objects is the object store; nil keeps recordings local.
	Objects Objects
	// Prefix is put before every object key ("" or "a/b").
	Prefix string
	// Concurrency bounds the uploads running at once (default 2).
	Concurrency int
	// SpoolMax bounds the spool in bytes; 0 never.
	SpoolMax int64
	// Retention deletes recordings of sessions that ended longer ago;
	// 0 never. RetentionEvery is how often the job runs (default 1 h).
	Retention      time.Duration
	RetentionEvery time.Duration
	// PartInterval and PartSize upload a running session's recording in
	// parts, once what it recorded since the last part is this old or
	// this big; 0 turns each off.
	PartInterval time.Duration
	PartSize     int64
	// Poll is how often ended sessions are looked for (default 2 s).
	Poll time.Duration
	// RetryBase and RetryMax bound the backoff between attempts of one
	// upload (default 5 s, doubling up to 15 min).
	RetryBase, RetryMax time.Duration
	// BehindAfter is how long a file may wait in the spool before a
	// warning says uploads are falling behind (default 15 min).
	BehindAfter time.Duration
	// Node names this server in the operations that say uploads fail or
	// fall behind ("" names the object store instead).
	Node string
	// Observer is told how the spool and the uploads go (nil: nobody).
	Observer Observer
	Now      func() time.Time
	Logger   *slog.Logger
}

// Storage keeps recordings. It is safe for concurrent use.
type Storage struct {
	st  Store
	o   Options
	log *slog.Logger

	spoolBytes atomic.Int64
	mu         sync.Mutex
	inFlight   map[int64]bool // files being uploaded
	lastBehind time.Time      // the last "falling behind" warning
	failing    bool           // the last upload failed (health.go)
	behind     bool           // the spool is falling behind (health.go)
	parts      partsTracker   // running sessions' uploads in parts
}

// New returns a Storage over st.
func New(st Store, o Options) *Storage {
	if o.Concurrency <= 0 {
		o.Concurrency = 2
	}
	if o.RetentionEvery <= 0 {
		o.RetentionEvery = time.Hour
	}
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	if o.RetryBase <= 0 {
		o.RetryBase = 5 * time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 15 * time.Minute
	}
	if o.BehindAfter <= 0 {
		o.BehindAfter = 15 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Prefix = strings.Trim(o.Prefix, "/")
	return &Storage{st: st, o: o, log: o.Logger, inFlight: map[int64]bool{}, parts: partsTracker{m: map[string]*partState{}}}
}

// Remote reports whether recordings go to an object store.
func (s *Storage) Remote() bool { return s.o.Objects != nil }

// abs is a recording path as kept in a row, made absolute.
func (s *Storage) abs(p string) string {
	if filepath.IsAbs(p) || s.o.DataDir == "" {
		return p
	}
	return filepath.Join(s.o.DataDir, p)
}

// key is the object key of a file: prefix/YYYY/MM/DD/<name>.gz, dated by
// the session's start (UTC).
func (s *Storage) key(f store.RecordingFile) string {
	k := path.Join(f.SessionStartedAt.UTC().Format("2006/01/02"), f.Name+".gz")
	if s.o.Prefix != "" {
		k = s.o.Prefix + "/" + k
	}
	return k
}

// Open opens the asciicast of a finished or running session wherever it
// is: the local spool or the object store, uncompressed.
func (s *Storage) Open(ctx context.Context, ss store.Session) (io.ReadCloser, error) {
	short := store.ShortSessionID(ss.ID)
	if ss.RecordingPath == "" {
		return nil, fmt.Errorf("session %s has no recording", short)
	}
	if ss.RecordingState == store.RecordingExpired {
		return nil, fmt.Errorf("session %s: recording expired (deleted under the retention policy)", short)
	}
	for try := 0; ; try++ {
		f, err := s.castFile(ctx, ss)
		if err != nil {
			return nil, err
		}
		if f.State == store.RecordingStored {
			return s.openObject(ctx, short, f)
		}
		rc, err := os.Open(s.abs(f.LocalPath))
		if err == nil {
			return rc, nil
		}
		if !errors.Is(err, fs.ErrNotExist) || s.o.Objects == nil {
			return nil, fmt.Errorf("session %s: its recording is missing: %w", short, err)
		}
		if try > 0 {
			// Lost with its node: what was uploaded in parts, if any.
			if prc, found, perr := s.openParts(ctx, f); found || perr != nil {
				if perr != nil {
					return nil, fmt.Errorf("session %s: its recording is missing here, and its parts cannot be read: %w", short, perr)
				}
				return prc, nil
			}
			return nil, fmt.Errorf("session %s: its recording is missing: %w", short, err)
		}
		// Uploaded and removed between the two looks: look again.
	}
}

// castFile is the row of a session's asciicast; a session not registered
// yet (still running, or just ended) gets one made from its row.
func (s *Storage) castFile(ctx context.Context, ss store.Session) (store.RecordingFile, error) {
	files, err := s.st.RecordingFiles(ctx, ss.ID)
	if err != nil {
		return store.RecordingFile{}, fmt.Errorf("session %s: %w", store.ShortSessionID(ss.ID), err)
	}
	for _, f := range files {
		if f.Name == filepath.Base(ss.RecordingPath) {
			return f, nil
		}
	}
	return store.RecordingFile{SessionID: ss.ID, Name: filepath.Base(ss.RecordingPath), LocalPath: ss.RecordingPath,
		Size: ss.RecordingSize, SHA256: ss.RecordingSHA256, State: store.RecordingLocal, SessionStartedAt: ss.StartedAt}, nil
}

func (s *Storage) openObject(ctx context.Context, short string, f store.RecordingFile) (io.ReadCloser, error) {
	if s.o.Objects == nil {
		return nil, fmt.Errorf("session %s: its recording is in the object store (%s), but recording_storage is not set here", short, f.ObjectKey)
	}
	rc, err := s.o.Objects.Get(ctx, f.ObjectKey)
	if err != nil {
		return nil, fmt.Errorf("session %s: %w", short, err)
	}
	zr, err := gzip.NewReader(rc)
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("session %s: %s/%s: not gzip: %w", short, s.o.Objects.Where(), f.ObjectKey, err)
	}
	return gunzipped{zr, rc}, nil
}

type gunzipped struct {
	*gzip.Reader
	c io.Closer
}

func (g gunzipped) Close() error {
	g.Reader.Close()
	return g.c.Close()
}

// Check reports whether the object store can be reached with the
// credentials; it is nil for local storage.
func (s *Storage) Check(ctx context.Context) error {
	c, ok := s.o.Objects.(interface{ Check(context.Context) error })
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return c.Check(ctx)
}
