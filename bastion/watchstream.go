package bastion

// Watching across nodes (see store/watches.go): the node holding a
// session publishes its recording's bytes (and, for a session without a
// PTY, its raw stream's output as cast events: watchfeed.go) for each
// watch, at each poll of
// its live sessions; a watcher on another node, or jmsctl on another
// machine, reads them with RemoteRecording. The stream goes through the
// database, sealed under the shared secret key: it is authenticated as
// everything else the nodes share is (whoever reaches the database and
// holds the key), needs no port between nodes, and holds at most
// store.MaxWatchPending chunks per watcher.

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/jms-bastion/jms/recorder"
	"github.com/jms-bastion/jms/store"
)

// WatchStore is what watching across nodes needs of the store.
type WatchStore interface {
	OpenWatch(ctx context.Context, ss store.Session) (store.Watch, error)
	ReadWatch(ctx context.Context, w store.Watch) ([]byte, bool, error)
	CloseWatch(ctx context.Context, w store.Watch) error
	GetSession(ctx context.Context, idOrPrefix string) (store.Session, error)
}

// watchPublisher is what the node holding sessions needs.
type watchPublisher interface {
	WatchRequests(ctx context.Context, ids []string) ([]store.WatchRequest, error)
	PublishWatch(ctx context.Context, r store.WatchRequest, data []byte, done bool) error
}

// maxFinalWatch bounds what is published for one watch once its session
// has ended; a watcher further behind than that misses the end.
const maxFinalWatch = 4 * store.MaxWatchChunk

// publishWatches publishes the next bytes of the recordings being
// watched among the live sessions byID.
func (s *Server) publishWatches(ctx context.Context, byID map[string]*liveSession) {
	ids := make([]string, 0, len(byID))
	for id, ls := range byID {
		if ls.recording != "" {
			ids = append(ids, id)
		}
	}
	reqs, err := s.st.WatchRequests(ctx, ids)
	if err != nil {
		s.log.Error("live sessions: reading watch requests", "err", err)
		return
	}
	open := make(map[int64]bool, len(reqs))
	for _, r := range reqs {
		open[r.ID] = true
		if ls := byID[r.SessionID]; ls != nil && r.Pending < store.MaxWatchPending {
			s.publishWatch(ctx, r, ls.recording, store.MaxWatchChunk, false)
		}
	}
	// The feeds of watches dropped (closed, or stale) while their
	// session runs.
	s.feeds.drop(func(id int64, f *watchFeed) bool { return open[id] || byID[f.session] == nil })
}

// finishWatches publishes the rest of an ended session's recording to
// its watchers, and completes their streams.
func (s *Server) finishWatches(id, recording string) {
	if recording == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reqs, err := s.st.WatchRequests(ctx, []string{id})
	if err != nil {
		s.log.Error("finishing the watches of a session", "session", id, "err", err)
		return
	}
	for _, r := range reqs {
		s.publishWatch(ctx, r, recording, maxFinalWatch, true)
	}
	s.feeds.drop(func(_ int64, f *watchFeed) bool { return f.session != id })
}

// publishWatch publishes up to limit bytes of the stream of the recording
// at path (watchfeed.go) from where r is, in chunks, and completes the
// stream when done.
func (s *Server) publishWatch(ctx context.Context, r store.WatchRequest, path string, limit int, done bool) {
	fail := func(err error) { s.log.Error("publishing a watched recording", "session", r.SessionID, "err", err) }
	feed := s.feeds.get(r.ID, r.SessionID)
	feed.mu.Lock()
	defer feed.mu.Unlock()
	if feed.closed || feed.sent != r.Sent {
		fail(fmt.Errorf("the watch is at byte %d, this node's stream of it at %d: it is not continued", r.Sent, feed.sent))
		return
	}
	f, err := os.Open(path)
	if err != nil {
		fail(err)
		return
	}
	defer f.Close()
	for published := 0; ; {
		c, err := feed.next(f, path, min(store.MaxWatchChunk, limit-published))
		if err != nil {
			fail(err)
			return
		}
		atEnd := !c.more || published+len(c.data) >= limit // all there is now, or all we may
		if len(c.data) == 0 && !done {
			return
		}
		if err := s.st.PublishWatch(ctx, r, c.data, done && atEnd); err != nil {
			if !store.IsWatchMoved(err) {
				fail(err)
			}
			return
		}
		feed.commit(c)
		if atEnd || !done { // a live session: one chunk per poll
			return
		}
		r.Sent += int64(len(c.data))
		r.NextSeq++
		published += len(c.data)
	}
}

// RemoteRecording is a recording read from the node that holds its
// session, through the database: an io.Reader that returns io.EOF when no
// bytes are there yet, as a growing file does, for recorder.FollowReader.
type RemoteRecording struct {
	st  WatchStore
	ctx context.Context
	w   store.Watch

	mu       sync.Mutex
	buf      []byte
	done     bool
	last     time.Time // when the store was last asked
	endedAt  time.Time // when the session was first seen ended
	interval time.Duration
}

// remotePoll is how often a RemoteRecording asks the store for bytes.
const remotePoll = 250 * time.Millisecond

// endGrace is how long a watcher waits, after its session ended, for a
// node that does not complete the stream (it died).
const endGrace = 5 * time.Second

// OpenRemoteRecording asks the node holding ss for its recording. Close
// it when done.
func OpenRemoteRecording(ctx context.Context, st WatchStore, ss store.Session) (*RemoteRecording, error) {
	if ss.Node == "" {
		return nil, fmt.Errorf("session %s: its recording is not on this machine, and no node holds it", store.ShortSessionID(ss.ID))
	}
	w, err := st.OpenWatch(ctx, ss)
	if err != nil {
		return nil, err
	}
	return &RemoteRecording{st: st, ctx: ctx, w: w, interval: remotePoll}, nil
}

// Read returns the bytes published so far, or io.EOF when there are
// none now.
func (r *RemoteRecording) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.buf) == 0 && !r.done && time.Since(r.last) >= r.interval {
		r.last = time.Now()
		data, done, err := r.st.ReadWatch(r.ctx, r.w)
		if err != nil {
			return 0, err
		}
		r.buf, r.done = data, done
	}
	if len(r.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// Ended reports that the stream is over: the session ended and the node
// completed the stream, or did not within endGrace (it died).
func (r *RemoteRecording) Ended() bool {
	r.mu.Lock()
	done, endedAt := r.done, r.endedAt
	r.mu.Unlock()
	if done {
		return true
	}
	ss, err := r.st.GetSession(r.ctx, r.w.SessionID)
	if err != nil || ss.Status == store.StatusActive {
		return false
	}
	if endedAt.IsZero() {
		r.mu.Lock()
		r.endedAt = time.Now()
		r.mu.Unlock()
		return false
	}
	return time.Since(endedAt) >= endGrace
}

// Close drops the watch.
func (r *RemoteRecording) Close() error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 5*time.Second)
	defer cancel()
	return r.st.CloseWatch(ctx, r.w)
}

// FollowSession shows the live session ss on w (recorder.Follow): from
// its recording file at local when this machine has it, else streamed
// from the node holding it. opts.Stop is replaced by the stream's end
// for a streamed one.
func FollowSession(ctx context.Context, st WatchStore, ss store.Session, local string, w io.Writer, opts recorder.FollowOptions) error {
	if local != "" {
		if _, err := os.Stat(local); err == nil {
			return recorder.Follow(ctx, local, w, opts)
		}
	}
	rr, err := OpenRemoteRecording(ctx, st, ss)
	if err != nil {
		return err
	}
	defer rr.Close()
	opts.Stop = rr.Ended
	return recorder.FollowReader(ctx, rr, w, opts)
}
