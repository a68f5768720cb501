package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestSessionLifecycle(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)

	ss, err := s.StartSession(ctx, NewSession{Kind: SessionExec, User: "alice", Asset: "web1", Account: "root",
		Source: "127.0.0.1:5555", Command: "uname -a", RecordingPath: "recordings/2026-11-27/x.cast"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := uuid.Parse(ss.ID); err != nil || len(ss.ID) != 36 {
		t.Fatalf("id %q is not a UUID: %v", ss.ID, err)
	}
	if ss.Status != StatusActive || ss.EndedAt != nil || ss.ExitStatus != nil || ss.Kind != SessionExec ||
		ss.User != "alice" || ss.Asset != "web1" || ss.Account != "root" || ss.Command != "uname -a" ||
		ss.RecordingPath != "recordings/2026-11-27/x.cast" || !ss.StartedAt.Equal(s.Now()) {
		t.Fatalf("started session = %+v", ss)
	}

	active, err := s.ListSessions(ctx, SessionQuery{Active: true})
	if err != nil || len(active) != 1 || active[0].ID != ss.ID {
		t.Fatalf("active = %v, %v", active, err)
	}

	exit := 3
	if err := s.EndSession(ctx, ss.ID, SessionEnd{Status: StatusClosed, ExitStatus: &exit, Reason: "exited",
		RecordingSize: 1234, RecordingSHA256: "abcd"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetSession(ctx, ss.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusClosed || got.EndedAt == nil || got.ExitStatus == nil || *got.ExitStatus != 3 ||
		got.EndReason != "exited" || got.RecordingSize != 1234 || got.RecordingSHA256 != "abcd" {
		t.Fatalf("ended session = %+v", got)
	}
	if err := s.EndSession(ctx, ss.ID, SessionEnd{Status: StatusClosed}); err == nil || !strings.Contains(err.Error(), "already ended") {
		t.Fatalf("second end: %v", err)
	}
	if err := s.EndSession(ctx, "0000", SessionEnd{Status: StatusClosed}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("end of unknown session: %v", err)
	}
	if err := s.EndSession(ctx, ss.ID, SessionEnd{Status: "bogus"}); err == nil {
		t.Fatal("bogus status accepted")
	}
	if active, _ := s.ListSessions(ctx, SessionQuery{Active: true}); len(active) != 0 {
		t.Fatalf("still active: %v", active)
	}
}

func TestStartSessionChecks(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	for _, tc := range []struct {
		name string
		ns   NewSession
	}{
		{"no user", NewSession{Asset: "web1"}},
		{"bad kind", NewSession{User: "a", Kind: "sftp-ish"}},
		{"bad id", NewSession{User: "a", ID: "../../etc/passwd"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.StartSession(ctx, tc.ns); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	id := uuid.NewString()
	if _, err := s.StartSession(ctx, NewSession{ID: id, User: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartSession(ctx, NewSession{ID: id, User: "a"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate id: %v", err)
	}
}

func TestGetSessionPrefix(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	for _, id := range []string{
		"aaaa1111-0000-4000-8000-000000000000",
		"aaaa2222-0000-4000-8000-000000000000",
		"bbbb1111-0000-4000-8000-000000000000",
	} {
		if _, err := s.StartSession(ctx, NewSession{ID: id, User: "alice"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		in, want, wantErr string
	}{
		{in: "bbbb", want: "bbbb1111-0000-4000-8000-000000000000"},
		{in: "BBBB1", want: "bbbb1111-0000-4000-8000-000000000000"},
		{in: "aaaa2", want: "aaaa2222-0000-4000-8000-000000000000"},
		{in: "aaaa1111-0000-4000-8000-000000000000", want: "aaaa1111-0000-4000-8000-000000000000"},
		{in: "aaaa", wantErr: "ambiguous"},
		{in: "bbb", wantErr: "at least 4"},
		{in: "cccc", wantErr: "not found"},
		{in: "a%", wantErr: "invalid session id"},
		{in: "", wantErr: "invalid session id"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := s.GetSession(ctx, tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got.ID != tc.want {
				t.Fatalf("got %q, %v; want %q", got.ID, err, tc.want)
			}
		})
	}
}

func TestListSessionsFilters(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	add := func(user, asset string, day int, end bool) string {
		t.Helper()
		ss, err := s.StartSession(ctx, NewSession{User: user, Asset: asset, StartedAt: base.AddDate(0, 0, day)})
		if err != nil {
			t.Fatal(err)
		}
		if end {
			if err := s.EndSession(ctx, ss.ID, SessionEnd{Status: StatusClosed}); err != nil {
				t.Fatal(err)
			}
		}
		return ss.ID
	}
	a1 := add("alice", "web1", 0, true)
	a2 := add("alice", "db1", 1, false)
	b1 := add("bob", "web1", 2, false)

	ids := func(q SessionQuery) string {
		t.Helper()
		l, err := s.ListSessions(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, ss := range l {
			out = append(out, ss.ID)
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		name string
		q    SessionQuery
		want string
	}{
		{"all oldest first", SessionQuery{}, a1 + "," + a2 + "," + b1},
		{"active", SessionQuery{Active: true}, a2 + "," + b1},
		{"user", SessionQuery{User: "alice"}, a1 + "," + a2},
		{"asset", SessionQuery{Asset: "web1"}, a1 + "," + b1},
		{"since", SessionQuery{Since: base.AddDate(0, 0, 1)}, a2 + "," + b1},
		{"limit keeps the latest", SessionQuery{Limit: 1}, b1},
		{"nothing", SessionQuery{User: "carol"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ids(tc.q); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}

	n, err := s.CloseInterruptedSessions(ctx, "", nil)
	if err != nil || n != 2 {
		t.Fatalf("CloseInterruptedSessions = %d, %v; want 2", n, err)
	}
	got, err := s.GetSession(ctx, b1)
	if err != nil || got.Status != StatusInterrupted || got.EndedAt == nil || !got.EndedAt.Equal(s.Now()) {
		t.Fatalf("interrupted session = %+v, %v", got, err)
	}
	if done, _ := s.GetSession(ctx, a1); done.Status != StatusClosed {
		t.Fatalf("closed session changed: %+v", done)
	}
	if n, _ := s.CloseInterruptedSessions(ctx, "", nil); n != 0 {
		t.Fatalf("second run marked %d", n)
	}
}

// TestForwardSession: a forward has a row of its own, with its target,
// listed while it runs, and the bytes it moved each way once it ends.
func TestForwardSession(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	ss, err := s.StartSession(ctx, NewSession{Kind: SessionForward, User: "alice", Asset: "web1", Account: "root",
		Source: "127.0.0.1:5555", Target: "web1:8080"})
	if err != nil {
		t.Fatal(err)
	}
	active, err := s.ListSessions(ctx, SessionQuery{Active: true})
	if err != nil || len(active) != 1 || active[0].Kind != SessionForward || active[0].Target != "web1:8080" {
		t.Fatalf("active = %+v, %v", active, err)
	}
	if err := s.EndSession(ctx, ss.ID, SessionEnd{Status: StatusKilled, Reason: "killed by admin", BytesIn: 12, BytesOut: 34}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetSession(ctx, ss.ID)
	if err != nil || got.BytesIn != 12 || got.BytesOut != 34 || got.Status != StatusKilled || got.Target != "web1:8080" {
		t.Fatalf("ended forward = %+v, %v", got, err)
	}
	if _, err := s.StartSession(ctx, NewSession{Kind: "tunnel", User: "alice"}); err == nil {
		t.Error("an unknown kind was accepted")
	}
}

// A session a crash left open gets the size and SHA-256 of the
// recording it left; one whose recording cannot be read says so.
func TestCloseInterruptedSessionsDigestsRecordings(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	start := func(path string) string {
		t.Helper()
		ss, err := s.StartSession(ctx, NewSession{User: "alice", Asset: "web1", RecordingPath: path})
		if err != nil {
			t.Fatal(err)
		}
		return ss.ID
	}
	good, bad, none := start("recordings/good.cast"), start("recordings/gone.cast"), start("")
	digest := func(path string) (int64, string, error) {
		if path == "recordings/good.cast" {
			return 1234, "ab12", nil
		}
		return 0, "", errors.New("no such file")
	}
	if n, err := s.CloseInterruptedSessions(ctx, "", digest); err != nil || n != 3 {
		t.Fatalf("CloseInterruptedSessions = %d, %v; want 3", n, err)
	}
	for _, tc := range []struct {
		id, sum, reason string
		size            int64
	}{
		{good, "ab12", "the bastion stopped during the session", 1234},
		{bad, "", "the bastion stopped during the session; its recording could not be read: no such file", 0},
		{none, "", "the bastion stopped during the session", 0},
	} {
		got, err := s.GetSession(ctx, tc.id)
		if err != nil || got.Status != StatusInterrupted || got.RecordingSize != tc.size ||
			got.RecordingSHA256 != tc.sum || got.EndReason != tc.reason {
			t.Errorf("session %s = %+v, %v; want size %d sha %q reason %q", tc.id, got, err, tc.size, tc.sum, tc.reason)
		}
	}
}
