package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/config"
	"github.com/jms-bastion/jms/recorder"
	"github.com/jms-bastion/jms/recorder/storage"
	"github.com/jms-bastion/jms/store"
)

// recordings returns the recording storage that the configuration names,
// over st; a nil logger discards.
func (a *app) recordings(st *store.Store, logger *slog.Logger) (*storage.Storage, error) {
	cfg, err := a.config()
	if err != nil {
		return nil, err
	}
	return newRecordings(cfg, st, logger, nil)
}

// newRecordings returns the recording storage of cfg over st; obs (nil:
// none) is told how the spool and the uploads go.
func newRecordings(cfg config.Config, st *store.Store, logger *slog.Logger, obs storage.Observer) (*storage.Storage, error) {
	loc, remote, err := cfg.ObjectStorage()
	if err != nil {
		return nil, err
	}
	spoolMax, err := cfg.SpoolMaxBytes()
	if err != nil {
		return nil, err
	}
	retention, err := cfg.Retention()
	if err != nil {
		return nil, err
	}
	partSize, err := cfg.PartSizeBytes()
	if err != nil {
		return nil, err
	}
	o := storage.Options{DataDir: cfg.DataDir, RecordingsDir: cfg.RecordingsDir(), Prefix: loc.Prefix,
		Concurrency: cfg.UploadConcurrency, SpoolMax: spoolMax, Retention: retention,
		PartInterval: cfg.UploadPartInterval, PartSize: partSize, Logger: logger, Observer: obs}
	o.Node, _ = cfg.Node() // unknown: the operations name the object store
	if remote {
		obj, err := storage.NewS3(cfg, loc)
		if err != nil {
			return nil, err
		}
		o.Objects = obj
	}
	return storage.New(st, o), nil
}

// recordingState is where a session's recording is, for people.
func recordingState(s store.Session) string {
	switch {
	case s.RecordingPath == "":
		return "none"
	case s.RecordingState == store.RecordingExpired:
		return "recording expired"
	case s.RecordingState == "" && s.Status == store.StatusActive:
		return "recording"
	case s.RecordingState == "":
		return "not registered yet"
	}
	return s.RecordingState
}

func newRecordingCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "recording",
		Short: "Where recordings are, their integrity, and retention",
		Long: `recording looks after session recordings. Each ended session's recording
files are registered with the size and SHA-256 they had when the session
ended. With recording_storage: s3://bucket/prefix in jms.yaml, 'jmsctl
serve' uploads them gzip-compressed to the bucket, checks the upload, and
only then removes the local copy (the spool). status shows what waits in the
spool and why; get downloads one as plain asciicast; verify re-hashes them
wherever they are; prune deletes those older than recording_retention (serve
does it hourly). Replay, session watch and the auditor menu read a recording
wherever it is. See docs/recordings.md.`,
		Example: `  jmsctl recording status
  jmsctl recording get 3f2a -f 3f2a.cast && asciinema play 3f2a.cast
  jmsctl recording verify --all
  jmsctl recording prune --dry-run`,
	}
	cmd.AddCommand(newRecordingStatusCmd(a), newRecordingGetCmd(a), newRecordingVerifyCmd(a), newRecordingPruneCmd(a))
	return cmd
}

// recordingStatus is what 'recording status' shows.
type recordingStatus struct {
	Storage string                 `json:"storage" yaml:"storage"`
	Counts  []store.RecordingCount `json:"counts" yaml:"counts"`
	Pending []store.RecordingFile  `json:"pending" yaml:"pending"`
}

func newRecordingStatusCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show where recordings are and what waits for upload, and why",
		Long: `status counts the registered recording files by state (local: kept on this
disk; spool: waiting for upload; stored: in the object store; expired:
deleted under the retention policy), then lists the files waiting in the spool with their attempts,
the next attempt and the last error. CSV lists the waiting files only.`,
		Example: `  jmsctl recording status
  jmsctl recording status -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			cfg, err := a.config()
			if err != nil {
				return err
			}
			st := recordingStatus{Storage: cfg.RecordingStorage}
			if st.Counts, err = s.RecordingCounts(cmd.Context()); err != nil {
				return err
			}
			if st.Pending, err = s.RecordingFilesIn(cmd.Context(), store.RecordingSpool, 0); err != nil {
				return err
			}
			return a.renderRecordingStatus(st)
		},
	}
}

func pendingColumns() []column[store.RecordingFile] {
	return []column[store.RecordingFile]{
		{"session", func(f store.RecordingFile) string { return f.SessionID }},
		{"file", func(f store.RecordingFile) string { return f.Name }},
		{"size", func(f store.RecordingFile) string { return strconv.FormatInt(f.Size, 10) }},
		{"attempts", func(f store.RecordingFile) string { return strconv.Itoa(f.Attempts) }},
		{"next_attempt", func(f store.RecordingFile) string { return fmtTime(f.NextAttemptAt) }},
		{"last_error", func(f store.RecordingFile) string { return f.LastError }},
	}
}

func (a *app) renderRecordingStatus(st recordingStatus) error {
	l := a.listing()
	switch l.format {
	case "json", "yaml":
		return encode(l.w, l.format, st)
	case "csv":
		return render(l, st.Pending, pendingColumns())
	}
	fmt.Fprintf(l.w, "storage: %s\n\n", st.Storage)
	if err := render(l, st.Counts, []column[store.RecordingCount]{
		{"state", func(c store.RecordingCount) string { return c.State }},
		{"files", func(c store.RecordingCount) string { return strconv.Itoa(c.Files) }},
		{"bytes", func(c store.RecordingCount) string { return strconv.FormatInt(c.Bytes, 10) }},
	}); err != nil {
		return err
	}
	if len(st.Pending) == 0 {
		fmt.Fprintln(l.w, "\nnothing waits for upload")
		return nil
	}
	fmt.Fprintf(l.w, "\nwaiting for upload: %d\n", len(st.Pending))
	return render(l, st.Pending, pendingColumns())
}

func newRecordingGetCmd(a *app) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "get ID",
		Short: "Write a session's recording as plain asciicast, wherever it is",
		Long: `get writes the recording of a session (its ID or a unique prefix of at least
4 characters) as plain asciicast v2, uncompressed, from the spool or the
object store: to stdout, or to the file --file names (made 0600).
'asciinema play' plays it. The bytes are the recording's exactly: send them
to a file or a pipe, not to a terminal (use 'jmsctl replay' there). A
session without a PTY keeps its output byte for byte in a raw stream file
beside its cast: get merges it in as output events, so that players show it
('jmsctl replay ID --raw' gives the exact bytes).`,
		Example: `  jmsctl recording get 3f2a -f 3f2a.cast
  jmsctl recording get 3f2a | asciinema play -`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" && isTerminal(a.stdout) {
				return errors.New("get writes the recorded bytes as they are: give --file or send them to a pipe, not a terminal")
			}
			path, done, err := a.recordingPath(cmd, args[0])
			if err != nil {
				return err
			}
			defer done()
			rc, err := plainCast(path)
			if err != nil {
				return err
			}
			defer rc.Close()
			if file == "" {
				_, err = io.Copy(a.stdout, rc)
				return err
			}
			if err := a.localFile("--file", file); err != nil {
				return err
			}
			return writeFileFrom(file, rc)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "write to this file instead of stdout")
	return cmd
}

// writeFileFrom writes r to path through a temporary file beside it, so
// that a failed download leaves no half file.
func writeFileFrom(path string, r io.Reader) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, r); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func verdictColumns() []column[storage.Verdict] {
	return []column[storage.Verdict]{
		{"session", func(v storage.Verdict) string { return v.Session }},
		{"file", func(v storage.Verdict) string { return v.File }},
		{"result", func(v storage.Verdict) string { return v.Result }},
		{"where", func(v storage.Verdict) string { return v.Where }},
		{"detail", func(v storage.Verdict) string { return v.Detail }},
	}
}

func newRecordingVerifyCmd(a *app) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "verify ID|--all",
		Short: "Re-hash recordings wherever they are and report any changed, truncated or missing",
		Long: `verify reads each file of a session's recording (or, with --all, of every
registered recording) from wherever it is, the local disk or the object
store, and compares its size and SHA-256 with those taken when the session
ended. Results: ok; changed (another hash); truncated (shorter than it
was); missing (the file or object is gone); expired (deleted under the
retention policy, as it should be); unknown (no hash was taken); error (it
could not be read: the store is down). It exits non-zero when any file is
not ok or expired.`,
		Example: `  jmsctl recording verify 3f2a
  jmsctl recording verify --all -o json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if (all && len(args) == 0) || (!all && len(args) == 1) {
				return nil
			}
			return errors.New("give one session ID, or --all")
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			stg, err := a.recordings(s, nil)
			if err != nil {
				return err
			}
			var vs []storage.Verdict
			if all {
				err = stg.VerifyAll(cmd.Context(), func(v []storage.Verdict) { vs = append(vs, v...) })
			} else {
				vs, err = a.verifyOne(cmd.Context(), s, stg, args[0])
			}
			if err != nil {
				return err
			}
			if err := render(a.listing(), vs, verdictColumns()); err != nil {
				return err
			}
			bad := 0
			for _, v := range vs {
				if !v.OK() {
					bad++
				}
			}
			if bad > 0 {
				return fmt.Errorf("%d of %d recording files failed verification", bad, len(vs))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "verify every registered recording")
	return cmd
}

func (a *app) verifyOne(ctx context.Context, s *store.Store, stg *storage.Storage, id string) ([]storage.Verdict, error) {
	ss, err := s.GetSession(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := noRecording(ss); err != nil {
		return nil, err
	}
	return stg.Verify(ctx, ss)
}

func newRecordingPruneCmd(a *app) *cobra.Command {
	var dryRun bool
	var olderThan string
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Delete recordings older than the retention policy, wherever they are",
		Long: `prune deletes the recordings of sessions that ended longer ago than
--older-than (default: recording_retention in jms.yaml), from the spool, the
local disk and the object store, and marks each session's recording
expired; every deletion is in the operations audit (recording.expire). The
session rows and the command audit stay. --dry-run lists what would go and
deletes nothing. 'jmsctl serve' runs the same job every hour when
recording_retention is set.`,
		Example: `  jmsctl recording prune --dry-run
  jmsctl recording prune --older-than 180d`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			age, err := cfg.Retention()
			if err != nil {
				return err
			}
			policy := "recording_retention " + cfg.RecordingRetention
			if olderThan != "" {
				if age, err = config.ParseAge(olderThan); err != nil {
					return fmt.Errorf("--older-than %q: %w", olderThan, err)
				}
				policy = "--older-than " + olderThan
			}
			if age <= 0 {
				return errors.New("no retention: set recording_retention in jms.yaml (180d) or give --older-than")
			}
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			stg, err := a.recordings(s, nil)
			if err != nil {
				return err
			}
			pruned, err := stg.Prune(a.actorContext(cmd.Context()), s.Now().Add(-age), policy, dryRun)
			if rerr := render(a.listing(), pruned, pruneColumns()); err == nil {
				err = rerr
			}
			if err != nil {
				return err
			}
			verb := "deleted"
			if dryRun {
				verb = "would delete (dry run)"
			}
			fmt.Fprintf(a.stderr, "prune: %s %d recordings of sessions ended before %s\n", verb, len(pruned), fmtTime(s.Now().Add(-age)))
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list what would be deleted, delete nothing")
	cmd.Flags().StringVar(&olderThan, "older-than", "", "delete recordings of sessions that ended longer ago (180d, 26w, 36h)")
	return cmd
}

func pruneColumns() []column[store.Session] {
	return []column[store.Session]{
		{"id", func(s store.Session) string { return s.ID }},
		{"user", func(s store.Session) string { return s.User }},
		{"asset", func(s store.Session) string { return s.Asset }},
		{"ended_at", func(s store.Session) string { return fmtTimePtr(s.EndedAt) }},
		{"was", func(s store.Session) string { return recordingState(s) }},
	}
}

// plainCast reads the recording whose cast is at path as one plain
// asciicast: the file itself, or, for a session without a PTY, the cast
// with its raw stream file's output merged in.
func plainCast(path string) (io.ReadCloser, error) {
	if !hasRaw(path) {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("recording: %w", err)
		}
		return f, nil
	}
	r, err := recorder.Open(path)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		err := recorder.WritePlain(pw, r)
		r.Close()
		pw.CloseWithError(err)
	}()
	return pr, nil
}
