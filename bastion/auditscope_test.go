package bastion

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"

	"github.com/jms-bastion/jms/config"
	"github.com/jms-bastion/jms/store"
)

// orgSessions is the store with the organization of each session given
// by its asset (as the store records it): db9 is team-b's.
type orgSessions struct {
	*store.Store
	teamB int64
}

func (o orgSessions) SessionOrgs(ctx context.Context, ids []string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, id := range ids {
		ss, err := o.GetSession(ctx, id)
		if err != nil {
			return nil, err
		}
		out[id] = store.DefaultOrgID
		if ss.Asset == "db9" {
			out[id] = o.teamB
		}
	}
	return out, nil
}

// TestAuditorScope: a system auditor audits every organization's
// sessions; an org-auditor of team-b only team-b's (the list, watch and
// replay); a user of team-b audits nothing and gets the asset menu.
func TestAuditorScope(t *testing.T) {
	ctx := store.WithActor(context.Background(), "test")
	st, _ := newClusterStore(t)
	b, err := st.AddOrg(ctx, "team-b", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []store.NewUser{{Name: "erin", Role: store.RoleAuditor}, {Name: "dora"}, {Name: "frank"}, {Name: "alice"}, {Name: "gail", Role: store.RoleAdmin}, {Name: "hank"}} {
		if _, err := st.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	for u, role := range map[string]string{"dora": store.RoleOrgAuditor, "frank": store.RoleOrgUser, "hank": store.RoleOrgAdmin} {
		if err := st.SetOrgMember(ctx, "team-b", u, role); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.AddAsset(ctx, store.NewAsset{Name: "web1", Address: "10.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.InOrg(b.ID).AddAsset(ctx, store.NewAsset{Name: "db9", Address: "10.0.0.2"}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range []string{"web1", "db9", "web1"} {
		ss, err := st.StartSession(ctx, store.NewSession{User: "alice", Asset: a, Account: "root", Source: "10.0.0.9"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ss.ID)
	}
	if err := st.EndSession(ctx, ids[2], store.SessionEnd{Status: store.StatusClosed}); err != nil {
		t.Fatal(err)
	}
	srv, err := newServer(config.Default(t.TempDir()), Deps{Store: orgSessions{st.AllOrgs(), b.ID}, Proxy: &fakeProxy{},
		Argon2: cheapArgon2, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		user       string
		audits     bool
		role       string
		live, past int
		allowed    []string
	}{
		{"erin", true, "auditor", 2, 1, ids},
		{"dora", true, "auditing team-b", 1, 0, ids[1:2]},
		{"frank", false, "", 0, 0, nil},
		// Admins and org-admins land on their assets, as admins always did.
		{"gail", false, "", 0, 0, nil},
		{"hank", false, "", 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			u, err := st.GetUser(ctx, tt.user)
			if err != nil {
				t.Fatal(err)
			}
			scope, audits, err := srv.auditScopeOf(ctx, u)
			if err != nil || audits != tt.audits {
				t.Fatalf("auditScopeOf = %v, %v; want %v", audits, err, tt.audits)
			}
			if !audits {
				return
			}
			if r := scope.role(u); r != tt.role {
				t.Errorf("role %q, want %q", r, tt.role)
			}
			live, recent, err := srv.auditorSessions(ctx, scope)
			if err != nil || len(live) != tt.live || len(recent) != tt.past {
				t.Errorf("sessions: %d live, %d recent, %v; want %d, %d", len(live), len(recent), err, tt.live, tt.past)
			}
			for _, id := range ids {
				_, err := srv.auditSession(ctx, scope, id)
				if want := slices.Contains(tt.allowed, id); (err == nil) != want {
					t.Errorf("session of %s: %v, want allowed %v", id, err, want)
				} else if err != nil && !errors.Is(err, store.ErrNotFound) {
					t.Errorf("refusal %v, want not found", err)
				}
			}
		})
	}
}
