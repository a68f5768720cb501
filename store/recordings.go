package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Where a recording (or one of its files) is.
const (
	RecordingLocal   = "local"   // on this node's disk, and staying there (no object store)
	RecordingSpool   = "spool"   // on this node's disk, waiting for its upload
	RecordingStored  = "stored"  // in the object store, the local copy gone
	RecordingExpired = "expired" // deleted by the retention policy
	RecordingMissing = "missing" // its file was gone when the session was registered
)

// RecordingFile is one file of a session's recording: its size and
// SHA-256 as the session left it, where it is, and its upload.
type RecordingFile struct {
	ID        int64  `json:"id" yaml:"id"`
	SessionID string `json:"session_id" yaml:"session_id"`
	// Name is the file's name, "<session>.cast" or another extension.
	Name string `json:"name" yaml:"name"`
	// LocalPath is the spool file, relative to the data directory (or
	// absolute), as recording_path is.
	LocalPath string `json:"local_path" yaml:"local_path"`
	Size      int64  `json:"size" yaml:"size"`
	SHA256    string `json:"sha256" yaml:"sha256"`
	State     string `json:"state" yaml:"state"`
	// ObjectKey, ObjectSize and ObjectSHA256 describe the uploaded
	// (compressed) object.
	ObjectKey     string     `json:"object_key" yaml:"object_key"`
	ObjectSize    int64      `json:"object_size" yaml:"object_size"`
	ObjectSHA256  string     `json:"object_sha256" yaml:"object_sha256"`
	Attempts      int        `json:"attempts" yaml:"attempts"`
	LastError     string     `json:"last_error" yaml:"last_error"`
	NextAttemptAt time.Time  `json:"next_attempt_at" yaml:"next_attempt_at"`
	CreatedAt     time.Time  `json:"created_at" yaml:"created_at"`
	StoredAt      *time.Time `json:"stored_at" yaml:"stored_at"`
	// SessionStartedAt is the session's start (the object key's date).
	SessionStartedAt time.Time `json:"session_started_at" yaml:"session_started_at"`
}

const recordingFileColumns = `f.id, f.session_id, f.name, f.local_path, f.size, f.sha256, f.state, f.object_key,
	f.object_size, f.object_sha256, f.attempts, f.last_error, f.next_attempt_at, f.created_at, f.stored_at, s.started_at`

func scanRecordingFile(sc interface{ Scan(...any) error }) (RecordingFile, error) {
	var f RecordingFile
	var next, created, started string
	var stored sql.NullString
	err := sc.Scan(&f.ID, &f.SessionID, &f.Name, &f.LocalPath, &f.Size, &f.SHA256, &f.State, &f.ObjectKey,
		&f.ObjectSize, &f.ObjectSHA256, &f.Attempts, &f.LastError, &next, &created, &stored, &started)
	if err != nil {
		return f, wrapError(err)
	}
	f.NextAttemptAt, f.CreatedAt, f.SessionStartedAt = parseTime(next), parseTime(created), parseTime(started)
	f.StoredAt = parseNullTime(stored)
	return f, nil
}

// queryRecordingFiles runs a query of recording files with their
// sessions (as s) and scans them.
//
// unscoped: the recording storage of a node works across organizations.
func (s *Store) queryRecordingFiles(ctx context.Context, where string, args ...any) ([]RecordingFile, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+recordingFileColumns+` FROM recording_files f
		JOIN sessions s ON s.id = f.session_id WHERE `+where, args...)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	var out []RecordingFile
	for rows.Next() {
		f, err := scanRecordingFile(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, wrapError(rows.Err())
}

// UnregisteredRecordings returns up to limit ended sessions whose
// recording's files have not been registered yet, by start and id, after
// the session after (none when zero: from the first).
//
// unscoped: the recording storage of a node works across organizations.
func (s *Store) UnregisteredRecordings(ctx context.Context, after Session, limit int) ([]Session, error) {
	start := ""
	if !after.StartedAt.IsZero() {
		start = formatTime(after.StartedAt)
	}
	return s.querySessions(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE recording_state = '' AND status <> ? AND recording_path <> ''
		AND (started_at > ? OR (started_at = ? AND id > ?)) ORDER BY started_at, id LIMIT ?`,
		StatusActive, start, start, after.ID, limit)
}

// RegisterRecording records the files of an ended session's recording
// and sets the session's recording state, in one transaction. Each file's
// State is kept; state is the session's.
//
// unscoped: the recording storage of a node works across organizations.
func (s *Store) RegisterRecording(ctx context.Context, sessionID, state string, files []RecordingFile) error {
	now := formatTime(s.now())
	return s.withTx(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE sessions SET recording_state = ? WHERE id = ? AND recording_state = ''`, state, sessionID)
		if err != nil {
			return wrapError(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return wrapError(err)
		} else if n != 1 {
			return fmt.Errorf("session %s: its recording is registered already: %w", sessionID, ErrConflict)
		}
		for _, f := range files {
			if _, err := q.ExecContext(ctx, `INSERT INTO recording_files (session_id, name, local_path, size, sha256, state,
				next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				sessionID, f.Name, f.LocalPath, f.Size, f.SHA256, f.State, now, now); err != nil {
				return wrapError(err)
			}
		}
		return nil
	})
}

// RecordingFiles returns the files of a session's recording, by name.
func (s *Store) RecordingFiles(ctx context.Context, sessionID string) ([]RecordingFile, error) {
	return s.queryRecordingFiles(ctx, `f.session_id = ? ORDER BY f.name`, sessionID)
}

// DueUploads returns up to limit spooled files whose next attempt is due
// at now, the most overdue first.
func (s *Store) DueUploads(ctx context.Context, now time.Time, limit int) ([]RecordingFile, error) {
	return s.queryRecordingFiles(ctx, `f.state = ? AND f.next_attempt_at <= ? ORDER BY f.next_attempt_at, f.id LIMIT ?`,
		RecordingSpool, formatTime(now), limit)
}

// RecordingFilesIn returns up to limit files in state, oldest session
// first; limit 0 means all.
func (s *Store) RecordingFilesIn(ctx context.Context, state string, limit int) ([]RecordingFile, error) {
	const where = `f.state = ? ORDER BY s.started_at, f.id`
	if limit > 0 {
		return s.queryRecordingFiles(ctx, where+` LIMIT ?`, state, limit)
	}
	return s.queryRecordingFiles(ctx, where, state)
}

// RecordingUploadFailed counts a failed upload of a file and sets when
// the next one is due.
func (s *Store) RecordingUploadFailed(ctx context.Context, id int64, why string, next time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE recording_files SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?
		WHERE id = ? AND state = ?`, why, formatTime(next), id, RecordingSpool)
	return wrapError(err)
}

// RecordingStored records that a file is in the object store, verified,
// as key; the session's recording is stored once none of its files is
// left in the spool. One transaction.
//
// unscoped: the recording storage of a node works across organizations.
func (s *Store) RecordingStored(ctx context.Context, id int64, key string, size int64, sum string) error {
	return s.withTx(ctx, func(q querier) error {
		var sessionID string
		if err := q.QueryRowContext(ctx, `SELECT session_id FROM recording_files WHERE id = ?`, id).Scan(&sessionID); err != nil {
			return wrapError(err)
		}
		if _, err := q.ExecContext(ctx, `UPDATE recording_files SET state = ?, object_key = ?, object_size = ?, object_sha256 = ?,
			last_error = '', stored_at = ? WHERE id = ? AND state = ?`,
			RecordingStored, key, size, sum, formatTime(s.now()), id, RecordingSpool); err != nil {
			return wrapError(err)
		}
		var left int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM recording_files WHERE session_id = ? AND state = ?`,
			sessionID, RecordingSpool).Scan(&left); err != nil {
			return wrapError(err)
		}
		if left > 0 {
			return nil
		}
		_, err := q.ExecContext(ctx, `UPDATE sessions SET recording_state = ? WHERE id = ? AND recording_state = ?`,
			RecordingStored, sessionID, RecordingSpool)
		return wrapError(err)
	})
}

// RecordingCount is how many files, and bytes, are in one state.
type RecordingCount struct {
	State string `json:"state" yaml:"state"`
	Files int    `json:"files" yaml:"files"`
	Bytes int64  `json:"bytes" yaml:"bytes"`
}

// RecordingCounts returns the files and bytes in each state.
func (s *Store) RecordingCounts(ctx context.Context) ([]RecordingCount, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT state, COUNT(*), COALESCE(SUM(size), 0) FROM recording_files GROUP BY state ORDER BY state`)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	var out []RecordingCount
	for rows.Next() {
		var c RecordingCount
		if err := rows.Scan(&c.State, &c.Files, &c.Bytes); err != nil {
			return nil, wrapError(err)
		}
		out = append(out, c)
	}
	return out, wrapError(rows.Err())
}

// SpoolSummary is the recording files waiting in the spool for their
// upload, all nodes sharing the database together.
type SpoolSummary struct {
	// Files wait for their upload; Failed of them failed their last
	// attempt.
	Files, Failed int
	// Oldest is when the longest-waiting file was registered (zero
	// with none).
	Oldest time.Time
}

// RecordingSpoolSummary counts the files waiting in the spool.
func (s *Store) RecordingSpoolSummary(ctx context.Context) (SpoolSummary, error) {
	var sum SpoolSummary
	var oldest sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END), 0), MIN(created_at)
		FROM recording_files WHERE state = ?`, RecordingSpool).Scan(&sum.Files, &sum.Failed, &oldest)
	if err != nil {
		return sum, wrapError(err)
	}
	if oldest.Valid {
		sum.Oldest = parseTime(oldest.String)
	}
	return sum, nil
}

// ExpiringRecordings returns up to limit ended sessions that ended before
// before and still have a recording (anywhere), the oldest first.
//
// unscoped: the recording storage of a node works across organizations.
func (s *Store) ExpiringRecordings(ctx context.Context, before time.Time, limit int) ([]Session, error) {
	return s.querySessions(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE status <> ? AND ended_at IS NOT NULL AND ended_at < ? AND recording_path <> ''
		AND recording_state <> ? AND recording_state <> ? ORDER BY ended_at, id LIMIT ?`,
		StatusActive, formatTime(before), RecordingExpired, RecordingMissing, limit)
}

// ExpireRecording marks a session's recording (each of its files) as
// deleted by the retention policy, and audits it as recording.expire (in
// the session's organization), in one transaction. The caller deletes the
// files and objects first.
//
// unscoped: the recording storage of a node works across organizations.
func (s *Store) ExpireRecording(ctx context.Context, sessionID, policy string) error {
	return s.withTx(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `UPDATE recording_files SET state = ? WHERE session_id = ?`, RecordingExpired, sessionID); err != nil {
			return wrapError(err)
		}
		res, err := q.ExecContext(ctx, `UPDATE sessions SET recording_state = ? WHERE id = ? AND recording_state <> ?`,
			RecordingExpired, sessionID, RecordingExpired)
		if err != nil {
			return wrapError(err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return wrapError(err)
		}
		var org int64
		if err := q.QueryRowContext(ctx, `SELECT org_id FROM sessions WHERE id = ?`, sessionID).Scan(&org); err != nil {
			return wrapError(err)
		}
		return s.InOrg(org).recordOp(ctx, q, "recording.expire", sessionID, map[string]string{"policy": policy})
	})
}
