package recorder

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// The raw stream container ("jms-raw") holds the bytes of a session
// without a PTY exactly as they went through, beside its .cast: asciicast
// is JSON text, which turns binary output into up to 6 bytes per byte and
// cannot hold invalid UTF-8 at all.
//
// Layout, version 1: an 8-byte header, "JMSRAW", the version (1) and a
// flags byte (0: no compression), then frames:
//
//	stream  1 byte: 0 stdin, 1 stdout, 2 stderr
//	time    uvarint: microseconds since the recording began, never decreasing
//	length  uvarint: 1 to MaxRawFrame
//	crc     4 bytes, little-endian: CRC-32C of the stream, time and length
//	        bytes as written, then of the data
//	data    length bytes
//
// Frames are written whole, so a crash leaves every frame written before
// it intact and at most one cut-off frame at the end.

// Stream names one of a session's byte streams.
type Stream byte

// The streams of a session.
const (
	StreamStdin  Stream = 0
	StreamStdout Stream = 1
	StreamStderr Stream = 2
)

// String returns the stream's name.
func (s Stream) String() string {
	switch s {
	case StreamStdin:
		return "stdin"
	case StreamStdout:
		return "stdout"
	case StreamStderr:
		return "stderr"
	}
	return fmt.Sprintf("stream %d", byte(s))
}

// ParseStream reads a stream's name.
func ParseStream(name string) (Stream, error) {
	switch strings.ToLower(name) {
	case "stdin", "in", "0":
		return StreamStdin, nil
	case "stdout", "out", "1":
		return StreamStdout, nil
	case "stderr", "err", "2":
		return StreamStderr, nil
	}
	return 0, fmt.Errorf("stream %q: want stdin, stdout or stderr", name)
}

const (
	rawMagic   = "JMSRAW"
	rawVersion = 1
	rawHdrLen  = len(rawMagic) + 2
	// MaxRawFrame bounds one frame's data; longer writes are split.
	MaxRawFrame = 1 << 20
	// maxFrameHdr is the most a frame's header takes: stream, two
	// uvarints, crc.
	maxFrameHdr = 1 + 2*binary.MaxVarintLen64 + 4
	// rawFlushAt is how much the writer gathers before writing to the file.
	rawFlushAt = MaxHeld
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// rawBufs holds the writers' pending-frame buffers between bursts, so that
// an idle session holds none and a busy one does not allocate per chunk.
var rawBufs = sync.Pool{New: func() any { b := make([]byte, 0, rawFlushAt+64<<10); return &b }}

// RawPath returns the path of the raw stream file that goes with the
// recording at castPath.
func RawPath(castPath string) string {
	return strings.TrimSuffix(castPath, ".cast") + ".raw"
}

// SessionFiles returns the files that make up the recording whose .cast
// is at castPath: the cast, then the raw stream file when there is one.
func SessionFiles(castPath string) ([]string, error) {
	if _, err := os.Stat(castPath); err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	files := []string{castPath}
	raw := RawPath(castPath)
	switch _, err := os.Stat(raw); {
	case err == nil:
		files = append(files, raw)
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("recording: %w", err)
	}
	return files, nil
}

// RawWriter writes a raw stream file. It is safe for concurrent use. Like
// Writer, it stays failed after its first failed write.
type RawWriter struct {
	mu       sync.Mutex
	w        io.Writer
	f        *os.File // nil when writing to a plain io.Writer
	path     string
	now      func() time.Time
	start    time.Time
	lastT    uint64
	buf      *[]byte // pending frames; nil between bursts
	sum      hash.Hash
	size     int64
	synced   int64
	err      error
	closed   bool
	closeErr error
}

// CreateRaw creates the raw stream file at path (mode 0600, failing if it
// exists; its folder must exist) and writes its header. Times are measured
// from start on the clock now (time.Now when nil).
func CreateRaw(path string, start time.Time, now func() time.Time) (*RawWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	w, err := newRawWriter(f, f, path, start, now)
	if err == nil {
		err = syncDirectory(filepath.Dir(path))
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return w, nil
}

// NewRawWriter writes a raw stream to w. Close does not close w.
func NewRawWriter(w io.Writer, start time.Time, now func() time.Time) (*RawWriter, error) {
	return newRawWriter(w, nil, "", start, now)
}

func newRawWriter(w io.Writer, f *os.File, path string, start time.Time, now func() time.Time) (*RawWriter, error) {
	if now == nil {
		now = time.Now
	}
	rw := &RawWriter{w: w, f: f, path: path, now: now, start: start, sum: sha256.New()}
	rw.pending()
	*rw.buf = append(*rw.buf, rawMagic...)
	*rw.buf = append(*rw.buf, rawVersion, 0)
	if err := rw.flushLocked(); err != nil {
		return nil, err
	}
	return rw, nil
}

// Write records p as the next bytes of stream s. The bytes may stay in
// memory until Flush, Close, or enough follow them.
func (w *RawWriter) Write(s Stream, p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usableLocked(); err != nil {
		return err
	}
	t := uint64(max(w.now().Sub(w.start).Microseconds(), 0))
	if t < w.lastT {
		t = w.lastT // keep times monotonic even if the clock steps back
	}
	w.lastT = t
	for len(p) > 0 {
		n := min(len(p), MaxRawFrame)
		w.frameLocked(s, t, p[:n])
		p = p[n:]
		if len(*w.buf) >= rawFlushAt {
			if err := w.flushLocked(); err != nil {
				return err
			}
		}
	}
	return nil
}

// frameLocked appends one frame to the pending buffer.
func (w *RawWriter) frameLocked(s Stream, t uint64, data []byte) {
	b := *w.pending()
	at := len(b)
	b = append(b, byte(s))
	b = binary.AppendUvarint(b, t)
	b = binary.AppendUvarint(b, uint64(len(data)))
	crc := crc32.Update(0, crcTable, b[at:])
	crc = crc32.Update(crc, crcTable, data)
	b = binary.LittleEndian.AppendUint32(b, crc)
	*w.buf = append(b, data...)
}

func (w *RawWriter) pending() *[]byte {
	if w.buf == nil {
		w.buf = rawBufs.Get().(*[]byte)
		*w.buf = (*w.buf)[:0]
	}
	return w.buf
}

// Flush writes the pending frames to the file (the kernel's page cache):
// once it returns, a crash of the process loses none of them.
func (w *RawWriter) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usableLocked(); err != nil {
		return err
	}
	return w.flushLocked()
}

func (w *RawWriter) flushLocked() error {
	if w.buf == nil {
		return nil
	}
	b := *w.buf
	n, err := w.w.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if n > 0 {
		w.size += int64(n)
		w.sum.Write(b[:n])
		if w.f != nil && w.size-w.synced >= writebackEvery {
			startWriteback(w.f, w.synced, w.size-w.synced)
			w.synced = w.size
		}
	}
	if cap(b) <= rawFlushAt+MaxRawFrame+maxFrameHdr {
		rawBufs.Put(w.buf)
	}
	w.buf = nil
	if err != nil {
		if w.f == nil {
			err = fmt.Errorf("write: %w", err)
		}
		w.err = fmt.Errorf("recording: raw streams: %w", err)
		return w.err
	}
	return nil
}

func (w *RawWriter) usableLocked() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return ErrClosed
	}
	return nil
}

// Close writes the pending frames, syncs and closes the file. It is
// idempotent and returns the sticky write error, if any.
func (w *RawWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return w.closeErr
	}
	err := w.err
	if err == nil {
		err = w.flushLocked()
	}
	w.closed = true
	if w.f != nil {
		if serr := w.f.Sync(); serr != nil && err == nil {
			err = fmt.Errorf("recording: sync %s: %w", w.path, serr)
		}
		if cerr := w.f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("recording: %w", cerr)
		}
	}
	if w.buf != nil {
		rawBufs.Put(w.buf)
		w.buf = nil
	}
	w.closeErr = err
	return err
}

// Size returns the number of bytes written to the file so far.
func (w *RawWriter) Size() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.size
}

// SHA256 returns the hex SHA-256 of the bytes written to the file so far.
func (w *RawWriter) SHA256() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return hex.EncodeToString(w.sum.Sum(nil))
}

// Path returns the file's path ("" for a RawWriter made by NewRawWriter).
func (w *RawWriter) Path() string { return w.path }

// RawMarker is the label of the marker event that ends the .cast of a
// session with a raw stream file: it binds the raw file's size and hash
// to the cast, whose own hash is in the session's row.
func RawMarker(size int64, sha string) string {
	return fmt.Sprintf("jms-raw size=%d sha256=%s", size, sha)
}

// ParseRawMarker reads a label made by RawMarker.
func ParseRawMarker(label string) (size int64, sha string, ok bool) {
	n, err := fmt.Sscanf(label, "jms-raw size=%d sha256=%s", &size, &sha)
	if err != nil || n != 2 || len(sha) != 64 {
		return 0, "", false
	}
	return size, sha, true
}
