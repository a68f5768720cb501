package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// endedRecordedSession makes a session that ended at end with a
// recording at recordings/<id>.cast.
func endedRecordedSession(t *testing.T, s *Store, n int, end time.Time) Session {
	t.Helper()
	ctx := context.Background()
	id := fmt.Sprintf("0e0e0e0e-0000-4000-8000-%012d", n)
	if _, err := s.StartSession(ctx, NewSession{ID: id, User: "alice", Asset: "web1", RecordingPath: "recordings/" + id + ".cast",
		StartedAt: end.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := s.EndSession(ctx, id, SessionEnd{Status: StatusClosed, RecordingSize: 10, RecordingSHA256: "ab", EndedAt: end}); err != nil {
		t.Fatal(err)
	}
	ss, err := s.GetSession(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

func TestRecordingFilesLifecycle(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	now := s.Now()
	a := endedRecordedSession(t, s, 1, now.Add(-time.Hour))
	b := endedRecordedSession(t, s, 2, now.Add(-time.Minute))
	if _, err := s.StartSession(ctx, NewSession{User: "alice", RecordingPath: "recordings/x.cast"}); err != nil {
		t.Fatal(err) // running: not for registration
	}

	list, err := s.UnregisteredRecordings(ctx, Session{}, 1)
	if err != nil || len(list) != 1 || list[0].ID != a.ID {
		t.Fatalf("first page: %v %v", list, err)
	}
	list, err = s.UnregisteredRecordings(ctx, list[0], 10)
	if err != nil || len(list) != 1 || list[0].ID != b.ID {
		t.Fatalf("second page: %v %v", list, err)
	}

	files := []RecordingFile{{Name: a.ID + ".cast", LocalPath: a.RecordingPath, Size: 10, SHA256: "ab", State: RecordingSpool},
		{Name: a.ID + ".raw", LocalPath: "recordings/" + a.ID + ".raw", Size: 5, SHA256: "cd", State: RecordingSpool}}
	if err := s.RegisterRecording(ctx, a.ID, RecordingSpool, files); err != nil {
		t.Fatal(err)
	}
	if err := s.RegisterRecording(ctx, a.ID, RecordingSpool, files); !errors.Is(err, ErrConflict) {
		t.Fatalf("registering twice: %v", err)
	}
	due, err := s.DueUploads(ctx, now, 10)
	if err != nil || len(due) != 2 || due[0].SessionStartedAt.IsZero() {
		t.Fatalf("due: %+v %v", due, err)
	}
	if err := s.RecordingUploadFailed(ctx, due[0].ID, "down", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueUploads(ctx, now, 10); len(due) != 1 {
		t.Fatalf("a failed upload is due again before its time: %+v", due)
	}
	if sum, err := s.RecordingSpoolSummary(ctx); err != nil || sum.Files != 2 || sum.Failed != 1 || sum.Oldest.IsZero() || sum.Oldest.After(now) {
		t.Fatalf("spool summary: %+v %v", sum, err)
	}
	if err := s.RecordingStored(ctx, due[1].ID, "k.raw.gz", 7, "ef"); err != nil {
		t.Fatal(err)
	}
	if ss, _ := s.GetSession(ctx, a.ID); ss.RecordingState != RecordingSpool {
		t.Fatalf("stored with one file left in the spool: %q", ss.RecordingState)
	}
	if err := s.RecordingStored(ctx, due[0].ID, "k.cast.gz", 8, "12"); err != nil {
		t.Fatal(err)
	}
	if ss, _ := s.GetSession(ctx, a.ID); ss.RecordingState != RecordingStored {
		t.Fatalf("both files stored: %q", ss.RecordingState)
	}
	fs, _ := s.RecordingFiles(ctx, a.ID)
	if len(fs) != 2 || fs[0].Attempts != 1 || fs[0].ObjectKey != "k.cast.gz" || fs[0].StoredAt == nil {
		t.Fatalf("files: %+v", fs)
	}
	if sum, err := s.RecordingSpoolSummary(ctx); err != nil || sum != (SpoolSummary{}) {
		t.Fatalf("spool summary with nothing waiting: %+v %v", sum, err)
	}
	counts, err := s.RecordingCounts(ctx)
	if err != nil || len(counts) != 1 || counts[0] != (RecordingCount{State: RecordingStored, Files: 2, Bytes: 15}) {
		t.Fatalf("counts: %+v %v", counts, err)
	}

	old, err := s.ExpiringRecordings(ctx, now.Add(-30*time.Minute), 10)
	if err != nil || len(old) != 1 || old[0].ID != a.ID {
		t.Fatalf("expiring: %+v %v", old, err)
	}
	if err := s.ExpireRecording(WithActor(ctx, "test"), a.ID, "180d"); err != nil {
		t.Fatal(err)
	}
	if ss, _ := s.GetSession(ctx, a.ID); ss.RecordingState != RecordingExpired {
		t.Fatalf("expired: %q", ss.RecordingState)
	}
	if old, _ := s.ExpiringRecordings(ctx, now, 10); len(old) != 1 || old[0].ID != b.ID {
		t.Fatalf("an expired recording expires again: %+v", old)
	}
	ops, err := s.ListOperations(ctx, AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, o := range ops {
		found = found || (o.Action == "recording.expire" && o.Target == a.ID && o.Actor == "test")
	}
	if !found {
		t.Fatalf("no recording.expire in the operations audit: %+v", ops)
	}
}
