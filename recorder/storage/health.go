package storage

import (
	"context"
	"time"

	"github.com/jms-bastion/jms/store"
)

// The health of the uploads, for the admins (the notify package mails
// them from the operations audit): one operation when uploads start
// failing (the first failure since the start or since an upload worked)
// and one when the spool starts falling behind (its oldest file waited
// BehindAfter), not one per retry or per warning.
const (
	opUploadFailing = "recording.upload.failing"
	opUploadBehind  = "recording.upload.behind"
)

// uploadFailed notes a failed upload; the first of a run of failures is
// recorded.
func (s *Storage) uploadFailed(ctx context.Context, f store.RecordingFile, err error) {
	s.mu.Lock()
	first := !s.failing
	s.failing = true
	s.mu.Unlock()
	if first {
		s.recordHealth(ctx, opUploadFailing, map[string]any{"error": err.Error(), "session": f.SessionID, "file": f.Name})
	}
}

// uploadWorked ends a run of failures.
func (s *Storage) uploadWorked() {
	s.mu.Lock()
	s.failing = false
	s.mu.Unlock()
}

// noteBehind records the spool falling behind, once until it catches up.
func (s *Storage) noteBehind(ctx context.Context, behind bool, waited time.Duration, lastError string) {
	s.mu.Lock()
	first := behind && !s.behind
	s.behind = behind
	s.mu.Unlock()
	if first {
		s.recordHealth(ctx, opUploadBehind, map[string]any{"oldest_waiting": waited.Round(time.Second).String(),
			"error": lastError, "spool_bytes": s.spoolBytes.Load()})
	}
}

func (s *Storage) recordHealth(ctx context.Context, action string, detail map[string]any) {
	detail["store"] = s.o.Objects.Where()
	target := s.o.Node
	if target == "" {
		target = s.o.Objects.Where()
	}
	ctx = store.WithActor(context.WithoutCancel(ctx), "bastion")
	if err := s.st.RecordOperation(ctx, action, target, detail); err != nil {
		s.log.Error("recording the state of the uploads in the operations audit", "action", action, "err", err)
	}
}
