package notify

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/jms-bastion/jms/store"
)

// TestPumpNamesTheOrg: the notice of a ticket of another organization
// than the default one names the asset as org/asset and tells the
// approver to pass --org.
func TestPumpNamesTheOrg(t *testing.T) {
	ctx := store.WithActor(context.Background(), "os:tester")
	s := testStore(t)
	if _, err := s.AddUser(ctx, store.NewUser{Name: "boss", Email: "boss@example.com", Role: store.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	o, err := s.AddOrg(ctx, "team-b", "")
	if err != nil {
		t.Fatal(err)
	}
	b := s.InOrg(o.ID)
	ss, err := b.StartSession(ctx, store.NewSession{User: "alice", Asset: "web1", Account: "root"})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := s.AllOrgs().AddTicket(ctx, store.NewTicket{SessionID: ss.ID, User: "alice", Asset: "web1", Account: "root", Command: "reboot"})
	if err != nil {
		t.Fatal(err)
	}
	p := NewPump(s.AllOrgs(), PumpConfig{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, err := p.Once(ctx); err != nil {
		t.Fatal(err)
	}
	mails, _ := queued(t, s)
	approve := "jmsctl --org team-b ticket approve " + strconv.FormatInt(tk.ID, 10)
	if len(mails) != 1 || !strings.Contains(mails[0].Text, approve) || !strings.Contains(mails[0].Subject, "team-b/web1") {
		t.Fatalf("ticket mails %+v: want one naming team-b/web1 with %q", mails, approve)
	}
}
