package store

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestAddCommandEvents(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	rows, ms := int64(3), int64(12)
	ev := func(session, command string) CommandEvent {
		return CommandEvent{SessionID: session, User: "alice", Asset: "db1", Account: "app", Command: command,
			Verdict: VerdictAllow, Rows: &rows, DurationMS: &ms}
	}
	for _, tt := range []struct {
		name    string
		batch   []CommandEvent
		session string
		want    int
		err     string
	}{
		{"one session", []CommandEvent{ev("s1", "SELECT 1"), ev("s1", "SELECT 2"), ev("s1", "SELECT 3")}, "s1", 3, ""},
		{"two sessions", []CommandEvent{ev("s2", "SELECT 1"), ev("s3", "SELECT 2")}, "s2", 1, ""},
		{"empty", nil, "s4", 0, ""},
		{"several inserts", slices.Repeat([]CommandEvent{ev("s6", "SELECT 1")}, 2*rowsPerInsert+5), "s6", 2*rowsPerInsert + 5, ""},
		{"one bad: none recorded", []CommandEvent{ev("s5", "SELECT 1"), {SessionID: "s5", Command: "x"}}, "s5", 0, "needs a session"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := s.AddCommandEvents(ctx, tt.batch)
			if (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("got %v, want %q", err, tt.err)
			}
			got, err := s.ListCommandEvents(ctx, AuditQuery{Session: tt.session})
			if err != nil || len(got) != tt.want {
				t.Fatalf("%v %+v", err, got)
			}
			if tt.want > 0 && (got[0].At.IsZero() || got[0].Rows == nil || *got[0].Rows != 3) {
				t.Errorf("row: %+v", got[0])
			}
		})
	}
}
