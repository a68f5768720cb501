package bastion

// What the node holding a session streams to one watch on another node
// (watchstream.go): the cast's bytes and, for a session without a PTY,
// its raw stream file's stdout and stderr as cast output event lines put
// between the cast's whole lines, so that the watcher's FollowReader
// shows them as a local Follow does. The stream's position in the
// database (store.WatchRequest.Sent) counts the bytes published; where
// that is in each file is kept here, on the node that publishes: a
// session does not outlive its node, so neither need these.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/jms-bastion/jms/recorder"
)

// watchFeed is one watch's stream as the holding node has published it.
type watchFeed struct {
	mu        sync.Mutex
	session   string
	sent      int64 // bytes of the stream published
	castOff   int64 // bytes of the cast published
	lineStart bool  // castOff is at the start of a line
	raw       *recorder.RawCastTail
	pending   []byte // raw event lines read, not yet published
	closed    bool
}

// watchFeeds are the feeds of the watches of this node's sessions.
type watchFeeds struct {
	mu sync.Mutex
	m  map[int64]*watchFeed
}

// get returns the feed of watch id of session, made at the stream's start.
func (fs *watchFeeds) get(id int64, session string) *watchFeed {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.m == nil {
		fs.m = map[int64]*watchFeed{}
	}
	f := fs.m[id]
	if f == nil {
		f = &watchFeed{session: session, lineStart: true}
		fs.m[id] = f
	}
	return f
}

// drop closes and forgets the feeds of watch ids for which keep is false.
func (fs *watchFeeds) drop(keep func(id int64, f *watchFeed) bool) {
	fs.mu.Lock()
	var gone []*watchFeed
	for id, f := range fs.m {
		if !keep(id, f) {
			gone = append(gone, f)
			delete(fs.m, id)
		}
	}
	fs.mu.Unlock()
	for _, f := range gone {
		f.close()
	}
}

func (f *watchFeed) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	if f.raw != nil {
		f.raw.Close()
		f.raw = nil
	}
	f.pending = nil
}

// chunk is the next piece of a feed's stream, to be committed once
// published.
type chunk struct {
	data     []byte
	consumed int   // of pending
	cast     int64 // bytes of the cast in data
	castLine bool  // the cast is published up to the start of a line
	more     bool  // more may be there now
}

// next returns the next chunk of at most max bytes: pending raw lines
// first, then the cast's next whole lines (or a cut line longer than
// max), then new raw lines. Called with f.mu held.
func (f *watchFeed) next(cast *os.File, castPath string, max int) (chunk, error) {
	c := chunk{data: make([]byte, 0, max)}
	c.consumed = min(max, len(f.pending))
	c.data = append(c.data, f.pending[:c.consumed]...)
	if c.consumed < len(f.pending) {
		c.more = true
		return c, nil // a raw line cut: its rest comes first
	}
	room := max - len(c.data)
	n, err := cast.ReadAt(c.data[len(c.data):max], f.castOff)
	if err != nil && !errors.Is(err, io.EOF) {
		return c, fmt.Errorf("the recording: %w", err)
	}
	read := c.data[len(c.data) : len(c.data)+n]
	take := bytes.LastIndexByte(read, '\n') + 1
	if take == 0 && n == room {
		take = n // a line longer than a chunk: cut, and no raw line after it
	}
	c.data, c.cast = c.data[:len(c.data)+take], int64(take)
	c.castLine = take > 0 && read[take-1] == '\n' || take == 0 && f.lineStart
	c.more = take < n || n == room
	if !c.castLine || len(c.data) >= max {
		return c, nil
	}
	if err := f.readRaw(castPath, max-len(c.data)); err != nil {
		return c, err
	}
	add := min(max-len(c.data), len(f.pending)-c.consumed)
	c.data = append(c.data, f.pending[c.consumed:c.consumed+add]...)
	c.consumed += add
	c.more = c.more || c.consumed < len(f.pending) || len(c.data) >= max
	return c, nil
}

// readRaw reads up to about room bytes of new raw lines into pending,
// opening the raw stream file once it is there.
func (f *watchFeed) readRaw(castPath string, room int) error {
	if f.raw == nil {
		raw, err := recorder.OpenRawCastTail(castPath)
		if err != nil || raw == nil {
			return err
		}
		f.raw = raw
	}
	var err error
	f.pending, err = f.raw.AppendLines(f.pending, len(f.pending)+room)
	return err
}

// commit records that c was published.
func (f *watchFeed) commit(c chunk) {
	f.sent += int64(len(c.data))
	f.castOff += c.cast
	f.lineStart = c.castLine
	f.pending = f.pending[c.consumed:]
	if len(f.pending) == 0 {
		f.pending = nil // the array read for a big frame goes
	}
}
