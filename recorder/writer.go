package recorder

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Event types of asciicast v2.
const (
	TypeOutput = "o"
	TypeInput  = "i"
	TypeResize = "r"
	TypeMarker = "m"
)

// ErrClosed is returned by a Writer's methods after Close.
var ErrClosed = errors.New("recording: writer closed")

// Header is the first line of an asciicast v2 recording.
type Header struct {
	Version   int   `json:"version"`
	Width     int   `json:"width"`
	Height    int   `json:"height"`
	Timestamp int64 `json:"timestamp,omitempty"` // unix seconds of the start
	// IdleTimeLimit, in seconds, tells players to cut longer pauses.
	IdleTimeLimit float64           `json:"idle_time_limit,omitempty"`
	Command       string            `json:"command,omitempty"`
	Title         string            `json:"title"`
	Env           map[string]string `json:"env"`
}

// Options tune a Writer. The zero value records output and resizes, not
// input, and uses the real clock.
type Options struct {
	// RecordInput enables "i" events. Input can hold passwords typed at
	// prompts with echo off, so it is off by default.
	RecordInput bool
	// Now is the clock; nil means time.Now. Event times are measured from
	// the first call, made when the Writer is created.
	Now func() time.Time

	// syncDir syncs a folder; syncDirectory when nil (tests watch it).
	syncDir func(dir string) error
}

// Writer writes an asciicast v2 recording event by event. It is safe for
// concurrent use. After the first failed write it stays failed: every later
// call returns that same error, so the caller can end the session.
type Writer struct {
	mu      sync.Mutex
	w       io.Writer
	f       *os.File // nil when writing to a plain io.Writer
	path    string
	now     func() time.Time
	start   time.Time
	lastT   time.Duration
	input   bool
	buf     []byte
	carryO  []byte // incomplete UTF-8 tail of the last output chunk
	carryI  []byte // same for input
	hold    bool   // the event being written may stay in buf (OutputHeld)
	sum     hash.Hash
	size    int64
	synced  int64 // bytes handed to the kernel's writeback (see flushLocked)
	err     error // sticky write error
	closed  bool
	closeEr error
}

// Create creates the recording file at path (mode 0600, failing if it
// exists), its missing parent folders (mode 0700), and writes the header.
// Version is set to 2 and a zero Timestamp to the current time.
func Create(path string, h Header) (*Writer, error) {
	return CreateWith(path, h, Options{})
}

// CreateWith is Create with options.
// The new file's folder (the day folder), and that folder's parent when
// the day folder is new, are synced so that a crash cannot lose the file's
// name while its row says it exists.
func CreateWith(path string, h Header, opts Options) (*Writer, error) {
	syncDir := opts.syncDir
	if syncDir == nil {
		syncDir = syncDirectory
	}
	dir := filepath.Dir(path)
	_, statErr := os.Stat(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		if err := syncDir(filepath.Dir(dir)); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	w, err := newWriter(f, f, path, h, opts)
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return w, nil
}

// syncDirectory fsyncs a folder, making the names made in it durable.
func syncDirectory(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("recording: sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("recording: sync %s: %w", dir, err)
	}
	return nil
}

// Digest returns the size and hex SHA-256 of the recording file at path,
// as it is on disk: for a session a crash left open, what it wrote.
func Digest(path string) (size int64, sum string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", fmt.Errorf("recording: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if size, err = io.Copy(h, f); err != nil {
		return 0, "", fmt.Errorf("recording: read %s: %w", path, err)
	}
	return size, hex.EncodeToString(h.Sum(nil)), nil
}

// NewWriter writes a recording to w. Close does not close w.
func NewWriter(w io.Writer, h Header, opts Options) (*Writer, error) {
	return newWriter(w, nil, "", h, opts)
}

func newWriter(w io.Writer, f *os.File, path string, h Header, opts Options) (*Writer, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	rw := &Writer{
		w:     w,
		f:     f,
		path:  path,
		now:   now,
		start: now(),
		input: opts.RecordInput,
		sum:   sha256.New(),
	}
	h.Version = 2
	if h.Timestamp == 0 {
		h.Timestamp = rw.start.Unix()
	}
	if h.Env == nil {
		h.Env = map[string]string{}
	}
	line, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("recording: encode header: %w", err)
	}
	rw.buf = append(line, '\n')
	if err := rw.flushLocked(); err != nil {
		return nil, err
	}
	return rw, nil
}

// Output records bytes sent to the user's terminal.
func (w *Writer) Output(p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dataLocked(TypeOutput, &w.carryO, p)
}

// OutputHeld records output like Output, but may keep it in memory until
// Flush, Close, the next call of any other method, or enough output
// follows it. A caller that records chunk after chunk (the proxy's
// recording queue) uses it and flushes whenever it runs out of chunks,
// so that a session starved of CPU writes many events per system call.
func (w *Writer) OutputHeld(p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hold = true
	defer func() { w.hold = false }()
	return w.dataLocked(TypeOutput, &w.carryO, p)
}

// Flush writes the events OutputHeld kept in memory.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usableLocked(); err != nil {
		return err
	}
	return w.flushLocked()
}

// Input records bytes typed by the user. It does nothing unless the Writer
// was created with Options.RecordInput.
func (w *Writer) Input(p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.input {
		return w.usableLocked()
	}
	return w.dataLocked(TypeInput, &w.carryI, p)
}

// Resize records a change of the terminal size.
func (w *Writer) Resize(width, height int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usableLocked(); err != nil {
		return err
	}
	var b [48]byte
	d := strconv.AppendInt(b[:0], int64(width), 10)
	d = append(d, 'x')
	d = strconv.AppendInt(d, int64(height), 10)
	return w.eventLocked(TypeResize, nil, d)
}

// Marker records a marker (a named point players can jump to).
func (w *Writer) Marker(label string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usableLocked(); err != nil {
		return err
	}
	return w.eventLocked(TypeMarker, nil, []byte(label))
}

// Close writes any held-back bytes, syncs and closes the file. It is
// idempotent. It returns the sticky write error, if any, so a caller learns
// that the recording is incomplete.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return w.closeEr
	}
	w.closed = true
	if w.err == nil {
		// Bytes of an incomplete rune left at the end become U+FFFD.
		if len(w.carryO) > 0 {
			w.eventLocked(TypeOutput, nil, w.carryO)
			w.carryO = nil
		}
		if len(w.carryI) > 0 && w.err == nil {
			w.eventLocked(TypeInput, nil, w.carryI)
			w.carryI = nil
		}
		if w.err == nil {
			w.flushLocked() // held output
		}
	}
	err := w.err
	if w.f != nil {
		if serr := w.f.Sync(); serr != nil && err == nil {
			err = fmt.Errorf("recording: sync %s: %w", w.path, serr)
		}
		if cerr := w.f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("recording: %w", cerr)
		}
	}
	w.buf = nil
	w.closeEr = err
	return err
}

// Err returns the sticky write error, or nil.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Size returns the number of bytes written so far, header included.
func (w *Writer) Size() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.size
}

// SHA256 returns the hex SHA-256 of the bytes written so far.
func (w *Writer) SHA256() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return hex.EncodeToString(w.sum.Sum(nil))
}

// Path returns the file's path ("" for a Writer made by NewWriter).
func (w *Writer) Path() string { return w.path }

func (w *Writer) usableLocked() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return ErrClosed
	}
	return nil
}

func (w *Writer) dataLocked(typ string, carry *[]byte, p []byte) error {
	if err := w.usableLocked(); err != nil {
		return err
	}
	// head completes the rune held back from the previous chunk, if any. It
	// lives in a small array so the hot path does not allocate.
	var headBuf [utf8.UTFMax]byte
	head := headBuf[:0]
	if len(*carry) > 0 {
		head = append(head, *carry...)
		need := runeLen(head[0])
		taken := 0
		for len(head) < need && taken < len(p) && !utf8.RuneStart(p[taken]) {
			head = append(head, p[taken])
			taken++
		}
		p = p[taken:]
		if len(head) < need && len(p) == 0 {
			*carry = append((*carry)[:0], head...)
			return nil
		}
		*carry = (*carry)[:0]
	}
	if n := incompleteTail(p); n > 0 {
		*carry = append(*carry, p[len(p)-n:]...)
		p = p[:len(p)-n]
	}
	if len(head) == 0 && len(p) == 0 {
		return nil
	}
	return w.eventLocked(typ, head, p)
}

// runeLen returns the length of the UTF-8 sequence that lead byte b starts.
func runeLen(b byte) int {
	switch {
	case b&0xE0 == 0xC0:
		return 2
	case b&0xF0 == 0xE0:
		return 3
	case b&0xF8 == 0xF0:
		return 4
	}
	return 1
}

// eventLocked encodes one event line after any held ones in the reusable
// buffer and writes them with a single call (unless w.hold, while the
// buffer holds less than holdMax).
func (w *Writer) eventLocked(typ string, head, data []byte) error {
	d := w.now().Sub(w.start)
	if d < w.lastT {
		d = w.lastT // keep times monotonic even if the clock steps back
	}
	w.lastT = d
	if w.buf == nil {
		w.buf = (*castBufs.Get().(*[]byte))[:0]
	}
	b := w.buf
	b = append(b, '[')
	b = strconv.AppendFloat(b, float64(d.Microseconds())/1e6, 'f', 6, 64)
	b = append(b, ", \""...)
	b = append(b, typ...)
	b = append(b, "\", "...)
	b = appendJSONString(b, head, data)
	b = append(b, ']', '\n')
	w.buf = b
	if w.hold && len(b) < holdMax {
		return nil
	}
	return w.flushLocked()
}

// holdMax is how much held output is written at once.
const holdMax = MaxHeld

// MaxHeld is the most a Writer (OutputHeld) or a RawWriter keeps in
// memory before it writes: a write failure (a full disk) shows that much
// later, at most.
const MaxHeld = 128 << 10

// maxKeptBuf bounds the buffer a Writer keeps between events: a bigger
// one (bulk output, held events) goes back to castBufs when written, so
// that a session idle after a burst holds little.
const maxKeptBuf = 4 << 10

// castBufs holds event buffers between bursts of output.
var castBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// writebackEvery is how many bytes are written between requests to the
// kernel to start writing them to disk. Without them, a bulk session's
// recording is gigabytes of dirty pages that the fsync at Close has to
// write while the session waits for its exit status.
const writebackEvery = 8 << 20

func (w *Writer) flushLocked() error {
	if len(w.buf) == 0 {
		return nil
	}
	n, err := w.w.Write(w.buf)
	if err == nil && n < len(w.buf) {
		err = io.ErrShortWrite
	}
	if n > 0 {
		w.size += int64(n)
		w.sum.Write(w.buf[:n])
		if w.f != nil && w.size-w.synced >= writebackEvery {
			startWriteback(w.f, w.synced, w.size-w.synced)
			w.synced = w.size
		}
	}
	w.buf = w.buf[:0]
	if cap(w.buf) > maxKeptBuf {
		if cap(w.buf) <= 2*holdMax {
			b := w.buf
			castBufs.Put(&b)
		}
		w.buf = nil
	}
	if err != nil {
		if w.f == nil {
			err = fmt.Errorf("write: %w", err)
		}
		w.err = fmt.Errorf("recording: %w", err)
		return w.err
	}
	return nil
}
