package store

import (
	"context"
	"testing"
	"time"
)

func TestLoginEventsAggregateFailures(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	add := func(at time.Time, e LoginEvent) {
		t.Helper()
		e.At = at
		if err := s.AddLoginEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	wrong := LoginEvent{User: "alice", Source: "10.0.0.1", Method: "password", Result: LoginFailure, Reason: "wrong password"}
	// Three identical failures within a minute fold into one row.
	add(t0, wrong)
	add(t0.Add(10*time.Second), wrong)
	add(t0.Add(50*time.Second), wrong)
	// A different reason, source or a success is a row of its own.
	add(t0.Add(51*time.Second), LoginEvent{User: "alice", Source: "10.0.0.1", Method: "password", Result: LoginFailure, Reason: "locked"})
	add(t0.Add(52*time.Second), LoginEvent{User: "alice", Source: "10.0.0.2", Method: "password", Result: LoginFailure, Reason: "wrong password"})
	add(t0.Add(53*time.Second), LoginEvent{User: "alice", Source: "10.0.0.1", Method: "password", Result: LoginSuccess})
	add(t0.Add(54*time.Second), LoginEvent{User: "alice", Source: "10.0.0.1", Method: "password", Result: LoginSuccess})
	// More than a minute after the first: a new row.
	add(t0.Add(61*time.Second), wrong)

	all, err := s.ListLoginEvents(ctx, LoginQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 6 {
		t.Fatalf("got %d rows, want 6: %+v", len(all), all)
	}
	first := all[0]
	if first.Count != 3 || !first.At.Equal(t0) || !first.LastAt.Equal(t0.Add(50*time.Second)) || first.Reason != "wrong password" {
		t.Errorf("first row = %+v; want count 3 from t0 to t0+50s", first)
	}
	if last := all[5]; last.Count != 1 || !last.At.Equal(t0.Add(61*time.Second)) {
		t.Errorf("last row = %+v; want a new row at t0+61s", last)
	}

	for _, tc := range []struct {
		name string
		q    LoginQuery
		want int
	}{
		{"failures", LoginQuery{Result: LoginFailure}, 4},
		{"successes", LoginQuery{Result: LoginSuccess}, 2},
		{"source", LoginQuery{Source: "10.0.0.2"}, 1},
		{"other user", LoginQuery{User: "bob"}, 0},
		{"since", LoginQuery{Since: t0.Add(52 * time.Second)}, 4},
		{"limit keeps the newest", LoginQuery{Limit: 2}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListLoginEvents(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.want {
				t.Fatalf("got %d rows, want %d: %+v", len(got), tc.want, got)
			}
			if tc.q.Limit == 2 && !got[1].At.Equal(t0.Add(61*time.Second)) {
				t.Errorf("limit: got %+v, want the newest rows", got)
			}
		})
	}
}

func TestAddLoginEventChecks(t *testing.T) {
	s := newTestStore(t)
	for _, e := range []LoginEvent{
		{Result: LoginFailure},
		{User: "alice", Result: "maybe"},
	} {
		if err := s.AddLoginEvent(context.Background(), e); err == nil {
			t.Errorf("AddLoginEvent(%+v) accepted a bad event", e)
		}
	}
}
