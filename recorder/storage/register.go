package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/jms-bastion/jms/recorder"
	"github.com/jms-bastion/jms/store"
)

// registerBatch is how many ended sessions one look registers.
const registerBatch = 100

// sessionFiles returns the files of the recording whose asciicast is
// cast: the asciicast first, then the files beside it named for the same
// session with another extension (<session>.raw), by name.
func sessionFiles(cast string) []string {
	base := strings.TrimSuffix(cast, filepath.Ext(cast))
	more, _ := filepath.Glob(escapeGlob(base) + ".*")
	sort.Strings(more)
	out := []string{cast}
	for _, m := range more {
		if m != cast {
			out = append(out, m)
		}
	}
	return out
}

func escapeGlob(p string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`)
	return r.Replace(p)
}

// RegisterEnded registers the recordings of the sessions that ended since
// the last look: each file with its size and SHA-256, in the spool (to
// upload) or kept local. It returns how many sessions it registered.
func (s *Storage) RegisterEnded(ctx context.Context) (int, error) {
	n := 0
	for {
		list, err := s.st.UnregisteredRecordings(ctx, registerBatch)
		if err != nil {
			return n, fmt.Errorf("find ended sessions' recordings: %w", err)
		}
		for _, ss := range list {
			if err := s.register(ctx, ss); err != nil {
				return n, err
			}
			n++
		}
		if len(list) < registerBatch {
			return n, nil
		}
	}
}

// register registers one ended session's recording. The asciicast's size
// and hash are those the session row took as it ended; other files are
// hashed now.
func (s *Storage) register(ctx context.Context, ss store.Session) error {
	cast := s.abs(ss.RecordingPath)
	if _, err := os.Stat(cast); errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("a session's recording is missing from the spool", "session", ss.ID, "path", cast)
		return s.st.RegisterRecording(ctx, ss.ID, store.RecordingMissing, nil)
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
				return fmt.Errorf("session %s: %w", ss.ID, err)
			}
			f.Size, f.SHA256 = size, sum
		}
		files = append(files, f)
	}
	if err := s.st.RegisterRecording(ctx, ss.ID, state, files); err != nil {
		return fmt.Errorf("session %s: register its recording: %w", ss.ID, err)
	}
	return nil
}
