package store

// Watching a session that another node holds. The recording is on that
// node's disk; the watcher asks for it through the database, which every
// node and jmsctl already reach and trust:
//
//  1. the watcher opens a watch (OpenWatch): a row naming the session;
//  2. the node holding the session, at each poll of its live sessions,
//     copies the recording's next bytes into a chunk, sealed under the
//     secret key, while fewer than MaxWatchPending chunks wait
//     (PublishWatch), and the last bytes with done once the session ends;
//  3. the watcher reads the chunks and deletes them in one transaction
//     (ReadWatch), which also says it is still there; a watch not read
//     for a while is dropped (DropStaleWatches).
//
// So the database holds at most MaxWatchPending chunks of at most
// MaxWatchChunk bytes per watcher, never in clear.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// The bounds of a watch's stream.
const (
	MaxWatchChunk   = 1 << 20 // bytes of recording per chunk
	MaxWatchPending = 4       // chunks waiting for the watcher
)

// Watch is one watcher's stream of one session.
type Watch struct {
	ID        int64
	Ref       string // random, binds the sealed chunks to this watch
	SessionID string
	Node      string
}

// WatchRequest is a watch as the node holding its session sees it.
type WatchRequest struct {
	Watch
	Sent    int64 // bytes of the recording published so far
	NextSeq int64
	Pending int // chunks the watcher has not read yet
}

// OpenWatch asks the node that runs ss to stream its recording.
func (s *Store) OpenWatch(ctx context.Context, ss Session) (Watch, error) {
	ref, err := newSealRef()
	if err != nil {
		return Watch{}, err
	}
	now := formatTime(s.now())
	w := Watch{Ref: ref, SessionID: ss.ID, Node: ss.Node}
	err = s.db.QueryRowContext(ctx, `INSERT INTO session_watches (ref, session_id, node, requested_at, seen_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`, ref, ss.ID, ss.Node, now, now).Scan(&w.ID)
	if err != nil {
		return Watch{}, fmt.Errorf("watch session %s: %w", ss.ID, wrapError(err))
	}
	return w, nil
}

// CloseWatch drops a watch and its chunks.
func (s *Store) CloseWatch(ctx context.Context, w Watch) error {
	return s.withTx(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `DELETE FROM session_watch_chunks WHERE watch_id = ?`, w.ID); err != nil {
			return wrapError(err)
		}
		_, err := q.ExecContext(ctx, `DELETE FROM session_watches WHERE id = ? AND ref = ?`, w.ID, w.Ref)
		return wrapError(err)
	})
}

func watchBinding(w Watch, seq int64) binding {
	return binding{table: "session_watch_chunks", id: seq, column: "data", ref: w.Ref + ":" + strconv.FormatInt(w.ID, 10)}
}

// ReadWatch returns the recording bytes published since the last read,
// in order, deletes them, and says whether the stream is complete (the
// session ended and its last bytes are in). A watch dropped meanwhile
// (its session's node is gone, or the watcher was too slow) is
// ErrNotFound.
func (s *Store) ReadWatch(ctx context.Context, w Watch) ([]byte, bool, error) {
	var out []byte
	var done bool
	err := s.withTx(ctx, func(q querier) error {
		err := q.QueryRowContext(ctx, `SELECT done FROM session_watches WHERE id = ? AND ref = ?`, w.ID, w.Ref).Scan(&done)
		if err != nil {
			return fmt.Errorf("watch of session %s: %w", w.SessionID, wrapError(err))
		}
		type chunk struct {
			seq int64
			env string
		}
		var chunks []chunk
		rows, err := q.QueryContext(ctx, `SELECT seq, data FROM session_watch_chunks WHERE watch_id = ? ORDER BY seq`, w.ID)
		if err != nil {
			return wrapError(err)
		}
		for rows.Next() {
			var c chunk
			if err := rows.Scan(&c.seq, &c.env); err != nil {
				rows.Close()
				return wrapError(err)
			}
			chunks = append(chunks, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return wrapError(err)
		}
		for _, c := range chunks {
			plain, err := s.openBound(c.env, watchBinding(w, c.seq))
			if err != nil {
				return fmt.Errorf("watch of session %s: %w", w.SessionID, err)
			}
			out = append(out, plain...)
		}
		if len(chunks) > 0 {
			if _, err := q.ExecContext(ctx, `DELETE FROM session_watch_chunks WHERE watch_id = ? AND seq <= ?`,
				w.ID, chunks[len(chunks)-1].seq); err != nil {
				return wrapError(err)
			}
		}
		_, err = q.ExecContext(ctx, `UPDATE session_watches SET seen_at = ? WHERE id = ?`, formatTime(s.now()), w.ID)
		return wrapError(err)
	})
	return out, done, err
}

// WatchRequests returns the open watches of the sessions among ids.
func (s *Store) WatchRequests(ctx context.Context, ids []string) ([]WatchRequest, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(ids)+1)
	args = append(args, false)
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT w.id, w.ref, w.session_id, w.node, w.sent, w.next_seq,
		(SELECT COUNT(*) FROM session_watch_chunks c WHERE c.watch_id = w.id)
		FROM session_watches w WHERE w.done = ? AND w.session_id IN (`+placeholders(len(ids))+`) ORDER BY w.id`, args...)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	var out []WatchRequest
	for rows.Next() {
		var r WatchRequest
		if err := rows.Scan(&r.ID, &r.Ref, &r.SessionID, &r.Node, &r.Sent, &r.NextSeq, &r.Pending); err != nil {
			return nil, wrapError(err)
		}
		out = append(out, r)
	}
	return out, wrapError(rows.Err())
}

// PublishWatch adds the next bytes of r's recording (sealed) and, with
// done, completes the stream. The watch must still be at r.Sent: a
// publication that lost a race changes nothing.
func (s *Store) PublishWatch(ctx context.Context, r WatchRequest, data []byte, done bool) error {
	if len(data) > MaxWatchChunk {
		return fmt.Errorf("watch chunk of %d bytes: at most %d", len(data), MaxWatchChunk)
	}
	cur := s.Sealer()
	if cur == nil {
		return ErrNoKey
	}
	return s.withTx(ctx, func(q querier) error {
		// The key the database says to seal with, as sealIn does: a
		// rekey by another node is followed here too.
		keyID, err := s.currentKeyID(ctx, q, cur.KeyID(), formatTime(s.now()))
		if err != nil {
			return err
		}
		sealer, err := s.sealerFor(keyID)
		if err != nil {
			return err
		}
		next := r.NextSeq
		if len(data) > 0 {
			next++
		}
		res, err := q.ExecContext(ctx, `UPDATE session_watches SET sent = ?, next_seq = ?, done = ? WHERE id = ? AND sent = ? AND done = ?`,
			r.Sent+int64(len(data)), next, done, r.ID, r.Sent, false)
		if err != nil {
			return wrapError(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errWatchMoved
		}
		if len(data) == 0 {
			return nil
		}
		env, err := sealer.Seal(Secret(data), watchBinding(r.Watch, r.NextSeq).aad(envelopeVersion))
		if err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, `INSERT INTO session_watch_chunks (watch_id, seq, data) VALUES (?, ?, ?)`, r.ID, r.NextSeq, env)
		return wrapError(err)
	})
}

// errWatchMoved: the watch was dropped or published by someone else
// meanwhile; the transaction is rolled back.
var errWatchMoved = errors.New("the watch changed meanwhile")

// IsWatchMoved reports whether PublishWatch lost a race (nothing to do).
func IsWatchMoved(err error) bool { return errors.Is(err, errWatchMoved) }

// DropStaleWatches drops the watches whose watcher has not read them
// since before (it stopped without closing them, or died).
func (s *Store) DropStaleWatches(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.withTx(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `DELETE FROM session_watch_chunks WHERE watch_id IN
			(SELECT id FROM session_watches WHERE seen_at < ?)`, formatTime(before)); err != nil {
			return wrapError(err)
		}
		res, err := q.ExecContext(ctx, `DELETE FROM session_watches WHERE seen_at < ?`, formatTime(before))
		if err != nil {
			return wrapError(err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}
