package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/jms-bastion/jms/recorder"
	"github.com/jms-bastion/jms/store"
)

// registerBatch is how many ended sessions one look registers.
const registerBatch = 100

// sessionFiles returns the files of the recording whose asciicast is
// cast (recorder.SessionFiles: the cast, then its raw stream file when it
// has one). When they cannot be listed it returns every name they may
// have, for the caller to find which exist.
func sessionFiles(cast string) []string {
	files, err := recorder.SessionFiles(cast)
	if err != nil {
		return []string{cast, recorder.RawPath(cast)}
	}
	return files
}

// RegisterEnded registers the recordings of the sessions that ended since
// the last look: each file with its size and SHA-256, in the spool (to
// upload) or kept local. A session whose recording is not on this node's
// disk is left for the node that has it. It returns how many sessions it
// registered.
func (s *Storage) RegisterEnded(ctx context.Context) (int, error) {
	n := 0
	var after store.Session
	for {
		list, err := s.st.UnregisteredRecordings(ctx, after, registerBatch)
		if err != nil {
			return n, fmt.Errorf("find ended sessions' recordings: %w", err)
		}
		for _, ss := range list {
			ok, err := s.register(ctx, ss)
			if err != nil {
				return n, err
			}
			if ok {
				n++
			}
		}
		if len(list) < registerBatch {
			return n, nil
		}
		after = list[len(list)-1]
	}
}

// register registers one ended session's recording, when its asciicast is
// on this node's disk. The asciicast's size and hash are those the
// session row took as it ended; other files are hashed now.
func (s *Storage) register(ctx context.Context, ss store.Session) (bool, error) {
	cast := s.abs(ss.RecordingPath)
	if _, err := os.Stat(cast); errors.Is(err, fs.ErrNotExist) {
		return false, nil // another node's, or gone: verify says which
	}
	state := store.RecordingLocal
	if s.Remote() {
		state = store.RecordingSpool
	}
	dir := filepath.Dir(ss.RecordingPath)
	var files []store.RecordingFile
	for i, p := range sessionFiles(cast) {
		f := store.RecordingFile{Name: filepath.Base(p), LocalPath: filepath.Join(dir, filepath.Base(p)), State: state}
		if i == 0 && ss.RecordingSHA256 != "" {
			f.Size, f.SHA256 = ss.RecordingSize, ss.RecordingSHA256
		} else {
			size, sum, err := recorder.Digest(p)
			if err != nil {
				return false, fmt.Errorf("session %s: %w", ss.ID, err)
			}
			f.Size, f.SHA256 = size, sum
		}
		files = append(files, f)
	}
	err := s.st.RegisterRecording(ctx, ss.ID, state, files)
	if errors.Is(err, store.ErrConflict) {
		return false, nil // another node (or jmsctl) was first
	}
	if err != nil {
		return false, fmt.Errorf("session %s: register its recording: %w", ss.ID, err)
	}
	return true, nil
}
