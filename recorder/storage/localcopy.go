package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/jms-bastion/jms/store"
)

// LocalCopy returns the path of a session's asciicast with the other
// files of its recording (the raw stream file of a session without a
// PTY) beside it, for readers that need files rather than a stream:
// the spool's own when the cast is still there, else copies fetched
// from the object store into dir (which the caller removes).
func (s *Storage) LocalCopy(ctx context.Context, ss store.Session, dir string) (string, error) {
	cast, err := s.castFile(ctx, ss)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(s.abs(cast.LocalPath)); err == nil && cast.State != store.RecordingStored {
		return s.abs(cast.LocalPath), nil
	}
	rc, err := s.Open(ctx, ss)
	if err != nil {
		return "", err
	}
	castPath := filepath.Join(dir, filepath.Base(cast.Name))
	if err := copyTo(castPath, rc); err != nil {
		return "", fmt.Errorf("session %s: fetching its recording: %w", store.ShortSessionID(ss.ID), err)
	}
	files, err := s.st.RecordingFiles(ctx, ss.ID)
	if err != nil {
		return "", fmt.Errorf("session %s: %w", store.ShortSessionID(ss.ID), err)
	}
	for _, f := range files {
		if f.Name == cast.Name || strings.ContainsAny(f.Name, `/\`) {
			continue
		}
		if err := s.fetchFile(ctx, ss, f, filepath.Join(dir, f.Name)); err != nil {
			return "", err
		}
	}
	return castPath, nil
}

// fetchFile copies one file of a recording, from the spool or the
// object store, to dst.
func (s *Storage) fetchFile(ctx context.Context, ss store.Session, f store.RecordingFile, dst string) error {
	short := store.ShortSessionID(ss.ID)
	var rc io.ReadCloser
	if f.State == store.RecordingStored {
		var err error
		if rc, err = s.openObject(ctx, short, f); err != nil {
			return err
		}
	} else {
		fl, err := os.Open(s.abs(f.LocalPath))
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("session %s: %s is missing from the spool and not uploaded", short, f.Name)
		}
		if err != nil {
			return fmt.Errorf("session %s: %w", short, err)
		}
		rc = fl
	}
	if err := copyTo(dst, rc); err != nil {
		return fmt.Errorf("session %s: fetching %s: %w", short, f.Name, err)
	}
	return nil
}

// copyTo writes what rc reads to a new private file at dst, and closes rc.
func copyTo(dst string, rc io.ReadCloser) error {
	defer rc.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, rc); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
