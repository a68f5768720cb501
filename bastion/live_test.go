package bastion

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jms-bastion/jms/store"
)

// TestRevokedAsksAuthorize: the poller asks store.Authorize about every
// kind of live session with what it needs: a forward its action and its
// port, an SFTP session the actions of its open files, a shell connect.
func TestRevokedAsksAuthorize(t *testing.T) {
	f := newFixture(t, nil)
	ctx := store.WithActor(context.Background(), "test")
	if _, err := f.st.AddGrant(ctx, store.NewGrant{Name: "tunnel", Users: []string{"alice"}, Assets: []string{"web1"},
		Accounts: []string{"root"}, Actions: []string{store.ActionForward}, ForwardPorts: []int{8080}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.AddGrant(ctx, store.NewGrant{Name: "files", Users: []string{"bob"}, Assets: []string{"web1"},
		Accounts: []string{"root"}, Actions: []string{store.ActionDownload}}); err != nil {
		t.Fatal(err)
	}
	web1, err := f.st.GetAsset(ctx, "web1")
	if err != nil {
		t.Fatal(err)
	}
	needs := func(a ...string) func() []string { return func() []string { return a } }
	tests := []struct {
		name string
		ls   liveSession
		want string // "" goes on
	}{
		{"a shell", liveSession{user: "alice", account: "deploy", needs: []string{store.ActionConnect}}, ""},
		{"a forward to an open port", liveSession{user: "alice", port: 8080, needs: []string{store.ActionForward}}, ""},
		{"a forward to a port no longer open", liveSession{user: "alice", port: 9090, needs: []string{store.ActionForward}}, "no longer opens port 9090"},
		{"a forward without the action", liveSession{user: "bob", port: 22, needs: []string{store.ActionForward}}, "expired or was revoked (forward)"},
		{"sftp with no file open", liveSession{user: "bob", account: "root", needsNow: needs()}, ""},
		{"sftp reading", liveSession{user: "bob", account: "root", needsNow: needs(store.ActionDownload)}, ""},
		{"sftp writing", liveSession{user: "bob", account: "root", needsNow: needs(store.ActionUpload)}, "as root expired or was revoked (upload)"},
		{"an account not granted", liveSession{user: "bob", account: "deploy", needsNow: needs()}, "as deploy expired or was revoked"},
		{"a disabled user", liveSession{user: "carol", account: "root", needs: []string{store.ActionConnect}}, "user carol disabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls := tt.ls
			ls.id, ls.asset, ls.assetID = "x", "web1", web1.ID
			err := f.srv.revoked(ctx, &ls, f.srv.now())
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("revoked = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("revoked = %v, want %q", err, tt.want)
			}
		})
	}
}

// countingStore counts the authorization questions the poller asks.
type countingStore struct {
	Store
	authorize int
}

func (c *countingStore) Authorize(ctx context.Context, q store.AuthzQuery) (store.Access, error) {
	c.authorize++
	return c.Store.Authorize(ctx, q)
}

// TestPollMemoSharesAnswers: sessions of one poll that ask the same
// question share one answer (and one trip to the store); another account,
// another time or an SFTP session asks again.
func TestPollMemoSharesAnswers(t *testing.T) {
	f := newFixture(t, nil)
	ctx := store.WithActor(context.Background(), "test")
	web1, err := f.st.GetAsset(ctx, "web1")
	if err != nil {
		t.Fatal(err)
	}
	cs := &countingStore{Store: f.srv.st}
	f.srv.st = cs
	at := f.srv.now()
	shell := func(id, account string) *liveSession {
		return &liveSession{id: id, user: "alice", asset: "web1", assetID: web1.ID, account: account,
			source: "127.0.0.1", needs: []string{store.ActionConnect}}
	}
	sftp := &liveSession{id: "s", user: "alice", asset: "web1", assetID: web1.ID, account: "deploy",
		source: "127.0.0.1", needsNow: func() []string { return nil }}
	memo := pollMemo{}
	steps := []struct {
		ls   *liveSession
		at   time.Time
		want int // Authorize calls so far
	}{
		{shell("a", "deploy"), at, 1},
		{shell("b", "deploy"), at, 1},
		{shell("c", "root"), at, 2},
		{shell("d", "deploy"), at.Add(expiryWarning), 3},
		{sftp, at, 4},
		{sftp, at, 5},
	}
	for i, st := range steps {
		if err := memo.revoked(ctx, f.srv, st.ls, st.at); err != nil {
			t.Fatalf("step %d: revoked = %v", i, err)
		}
		if cs.authorize != st.want {
			t.Fatalf("step %d: %d Authorize calls, want %d", i, cs.authorize, st.want)
		}
	}
}
