package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/klauspost/compress/gzip"

	"github.com/jms-bastion/jms/store"
)

// Results of verifying a recording file.
const (
	VerifyOK        = "ok"        // the size and SHA-256 taken at the end of the session match
	VerifyChanged   = "changed"   // same size or longer, another SHA-256
	VerifyTruncated = "truncated" // shorter than it was
	VerifyMissing   = "missing"   // the file or object is gone
	VerifyExpired   = "expired"   // deleted by the retention policy, as it should be
	VerifyUnknown   = "unknown"   // no hash was taken (the session is running, or never recorded)
	VerifyError     = "error"     // could not be read (the store is down…)
)

// Verdict is what verifying one file of a recording found.
type Verdict struct {
	Session string `json:"session" yaml:"session"`
	File    string `json:"file" yaml:"file"`
	Where   string `json:"where" yaml:"where"`
	Result  string `json:"result" yaml:"result"`
	Detail  string `json:"detail" yaml:"detail"`
}

// OK reports whether the file is as the session left it (or rightly gone).
func (v Verdict) OK() bool { return v.Result == VerifyOK || v.Result == VerifyExpired }

// Verify re-hashes every file of a session's recording, wherever it is,
// and compares it with the size and SHA-256 taken when the session ended.
func (s *Storage) Verify(ctx context.Context, ss store.Session) ([]Verdict, error) {
	if ss.RecordingPath == "" {
		return nil, fmt.Errorf("session %s has no recording", store.ShortSessionID(ss.ID))
	}
	files, err := s.st.RecordingFiles(ctx, ss.ID)
	if err != nil {
		return nil, fmt.Errorf("session %s: %w", ss.ID, err)
	}
	if len(files) == 0 {
		f, _ := s.castFile(ctx, ss)
		files = []store.RecordingFile{f}
		if ss.RecordingState == store.RecordingExpired {
			files[0].State = store.RecordingExpired
		}
	}
	var out []Verdict
	for _, f := range files {
		out = append(out, s.verifyFile(ctx, f))
	}
	return out, nil
}

func (s *Storage) verifyFile(ctx context.Context, f store.RecordingFile) Verdict {
	v := Verdict{Session: f.SessionID, File: f.Name, Where: f.LocalPath}
	switch {
	case f.State == store.RecordingExpired:
		v.Result, v.Detail = VerifyExpired, "deleted under the retention policy"
		return v
	case f.State == store.RecordingMissing:
		v.Result, v.Detail = VerifyMissing, "was already gone when the session was registered"
		return v
	case f.SHA256 == "":
		v.Result, v.Detail = VerifyUnknown, "no SHA-256 was taken (the session is running, or was never recorded)"
		return v
	case f.State == store.RecordingStored:
		return s.verifyObject(ctx, f, v)
	}
	in, err := os.Open(s.abs(f.LocalPath))
	if err != nil {
		return failed(v, err)
	}
	defer in.Close()
	d := newDigest()
	if _, err := io.Copy(d, in); err != nil {
		return failed(v, err)
	}
	return compare(v, f, d, "")
}

// verifyObject checks an uploaded file: the object as uploaded (its size
// and SHA-256), and what it holds once uncompressed (the recording's).
func (s *Storage) verifyObject(ctx context.Context, f store.RecordingFile, v Verdict) Verdict {
	if s.o.Objects == nil {
		v.Result, v.Detail = VerifyError, "the recording is in the object store, but recording_storage is not set here"
		return v
	}
	v.Where = s.o.Objects.Where() + "/" + f.ObjectKey
	rc, err := s.o.Objects.Get(ctx, f.ObjectKey)
	if err != nil {
		return failed(v, err)
	}
	defer rc.Close()
	packed, plain := newDigest(), newDigest()
	zr, err := gzip.NewReader(io.TeeReader(rc, packed))
	if err == nil {
		zr.Multistream(true)
		_, err = io.Copy(plain, zr)
	}
	// Read what is left, so that the object's hash covers all of it.
	if _, rerr := io.Copy(packed, rc); err == nil && rerr != nil {
		return failed(v, rerr)
	}
	note := ""
	if packed.n != f.ObjectSize || packed.sum() != f.ObjectSHA256 {
		note = fmt.Sprintf("; the object is %d bytes, uploaded as %d", packed.n, f.ObjectSize)
	}
	if err != nil {
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			v.Result = VerifyTruncated
		default:
			v.Result = VerifyChanged
		}
		v.Detail = "cannot be uncompressed: " + err.Error() + note
		return v
	}
	return compare(v, f, plain, note)
}

// compare sets v's result from the recording's digest d against f's.
func compare(v Verdict, f store.RecordingFile, d *digest, note string) Verdict {
	switch {
	case d.n == f.Size && d.sum() == f.SHA256 && note == "":
		v.Result, v.Detail = VerifyOK, ""
	case d.n < f.Size:
		v.Result, v.Detail = VerifyTruncated, fmt.Sprintf("%d bytes, was %d", d.n, f.Size)
	default:
		v.Result, v.Detail = VerifyChanged, fmt.Sprintf("SHA-256 %.16s…, was %.16s… (%d bytes, was %d)", d.sum(), f.SHA256, d.n, f.Size)
	}
	v.Detail += note
	return v
}

func failed(v Verdict, err error) Verdict {
	if errors.Is(err, ErrNoObject) || errors.Is(err, fs.ErrNotExist) {
		v.Result, v.Detail = VerifyMissing, err.Error()
		return v
	}
	v.Result, v.Detail = VerifyError, err.Error()
	return v
}

// VerifyAll verifies every registered recording that should still exist
// (local, spooled and stored), calling each with the verdicts of one
// session.
func (s *Storage) VerifyAll(ctx context.Context, each func([]Verdict)) error {
	for _, state := range []string{store.RecordingLocal, store.RecordingSpool, store.RecordingStored} {
		files, err := s.st.RecordingFilesIn(ctx, state, 0)
		if err != nil {
			return fmt.Errorf("list recordings: %w", err)
		}
		for _, f := range files {
			if err := ctx.Err(); err != nil {
				return err
			}
			each([]Verdict{s.verifyFile(ctx, f)})
		}
	}
	return nil
}
