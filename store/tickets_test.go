package store

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestTickets(t *testing.T) {
	ctx := WithActor(context.Background(), "os:tester")
	s := newTestStore(t)
	if _, err := s.AddTicket(ctx, NewTicket{User: "alice"}); err == nil {
		t.Fatal("a ticket without session or command was added")
	}
	nt := NewTicket{SessionID: "s1", User: "alice", Asset: "web1", Account: "root", Command: "systemctl restart nginx", Filter: "restarts"}
	t1, err := s.AddTicket(ctx, nt)
	if err != nil {
		t.Fatal(err)
	}
	if t1.ID == 0 || t1.Status != TicketPending || t1.Command != nt.Command || t1.Filter != "restarts" || t1.DecidedAt != nil || t1.At.IsZero() {
		t.Fatalf("added %+v", t1)
	}
	t2, _ := s.AddTicket(ctx, nt)
	t3, _ := s.AddTicket(ctx, nt)

	got, err := s.DecideTicket(ctx, t1.ID, true, "admin", "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != TicketApproved || got.DecidedBy != "admin" || got.DecidedAt == nil {
		t.Fatalf("approved %+v", got)
	}
	if d, err := s.TicketStatus(ctx, t1.ID); err != nil || d != (TicketDecision{Status: TicketApproved, DecidedBy: "admin"}) {
		t.Fatalf("status %+v %v", d, err)
	}
	if _, err := s.DecideTicket(ctx, t1.ID, false, "admin", ""); !errors.Is(err, ErrTicketDecided) {
		t.Fatalf("decided twice: %v", err)
	}
	if _, err := s.DecideTicket(ctx, t2.ID, false, "root", "not now"); err != nil {
		t.Fatal(err)
	}
	// The reason comes with the decision, that of this ticket only.
	if d, err := s.TicketStatus(ctx, t2.ID); err != nil || d != (TicketDecision{Status: TicketRejected, DecidedBy: "root", Reason: "not now"}) {
		t.Fatalf("rejected with a reason: %+v %v", d, err)
	}
	if d, err := s.TicketStatus(ctx, t3.ID); err != nil || d != (TicketDecision{Status: TicketPending}) {
		t.Fatalf("pending: %+v %v", d, err)
	}
	if got, err := s.CancelTicket(ctx, t3.ID, "Ctrl-C"); err != nil || got.Status != TicketCanceled {
		t.Fatalf("cancel: %+v %v", got, err)
	}
	if _, err := s.CancelTicket(ctx, t3.ID, ""); !errors.Is(err, ErrTicketDecided) {
		t.Fatalf("canceled twice: %v", err)
	}
	if _, err := s.DecideTicket(ctx, 999, true, "admin", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown ticket: %v", err)
	}
	if _, err := s.GetTicket(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown ticket: %v", err)
	}
	if _, err := s.TicketStatus(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown ticket: %v", err)
	}

	t4, _ := s.AddTicket(ctx, nt)
	for status, want := range map[string][]int64{
		"": {t1.ID, t2.ID, t3.ID, t4.ID}, "all": {t1.ID, t2.ID, t3.ID, t4.ID},
		TicketPending: {t4.ID}, TicketApproved: {t1.ID}, TicketRejected: {t2.ID}, TicketCanceled: {t3.ID},
	} {
		ts, err := s.ListTickets(ctx, status)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, x := range ts {
			ids = append(ids, x.ID)
		}
		if len(ids) != len(want) {
			t.Errorf("ListTickets(%q) = %v, want %v", status, ids, want)
			continue
		}
		for i := range ids {
			if ids[i] != want[i] {
				t.Errorf("ListTickets(%q) = %v, want %v", status, ids, want)
			}
		}
	}
	if _, err := s.ListTickets(ctx, "open"); err == nil {
		t.Fatal("unknown status listed")
	}

	ops, err := s.ListOperations(ctx, AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, o := range ops {
		if strings.HasPrefix(o.Action, "ticket.") {
			actions = append(actions, o.Action+" "+o.Target)
			if o.Action == "ticket.reject" && !strings.Contains(o.Detail, "not now") {
				t.Errorf("reject without its reason: %s", o.Detail)
			}
		}
	}
	want := "ticket.open 1,ticket.open 2,ticket.open 3,ticket.approve 1,ticket.reject 2,ticket.cancel 3,ticket.open 4"
	if strings.Join(actions, ",") != want {
		t.Errorf("operations %v\nwant %s", actions, want)
	}
}
