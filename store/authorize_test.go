package store

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// TestAuthorize: the one authorization decision, over the policy of
// accessFixture plus two forward grants.
func TestAuthorize(t *testing.T) {
	ctx := WithActor(context.Background(), "os:tester")
	s := accessFixture(t)
	for _, ng := range []NewGrant{
		{Name: "fw-web", Users: []string{"alice"}, Assets: []string{"web1"}, Accounts: []string{"deploy"}, Actions: []string{"forward"}, ForwardPorts: []int{8080}},
		{Name: "fw-ssh", Users: []string{"frank"}, Assets: []string{"web2"}, Actions: []string{"forward"}},
	} {
		if _, err := s.AddGrant(ctx, ng); err != nil {
			t.Fatal(err)
		}
	}
	id := func(name string) int64 {
		a, err := s.GetAsset(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	tests := []struct {
		name     string
		q        AuthzQuery
		accounts []string // the qualifying accounts; nil: refused
		missing  []string // DeniedError.Missing
		ports    []int    // DeniedError.Ports
		asset    bool     // DeniedError.Asset is set
	}{
		{"connect as root", AuthzQuery{User: "alice", AssetID: id("web1"), Account: "root", Actions: []string{ActionConnect}}, []string{"root"}, nil, nil, true},
		{"any account that connects", AuthzQuery{User: "alice", AssetID: id("web1"), Actions: []string{ActionConnect}}, []string{"root", "deploy"}, nil, nil, true},
		{"no action asked: the account is granted", AuthzQuery{User: "alice", AssetID: id("web1"), Account: "deploy"}, []string{"deploy"}, nil, nil, true},
		{"upload on root", AuthzQuery{User: "alice", AssetID: id("web1"), Account: "root", Actions: []string{ActionUpload}}, []string{"root"}, nil, nil, true},
		{"download on root is missing", AuthzQuery{User: "alice", AssetID: id("web1"), Account: "root", Actions: []string{ActionUpload, ActionDownload}}, nil, []string{ActionDownload}, nil, true},
		{"delete on any account is missing", AuthzQuery{User: "alice", AssetID: id("web1"), Actions: []string{ActionDelete}}, nil, []string{ActionDelete}, nil, true},
		{"an account not granted", AuthzQuery{User: "alice", AssetID: id("web1"), Account: "oracle", Actions: []string{ActionConnect}}, nil, nil, nil, true},
		{"an asset not granted", AuthzQuery{User: "alice", AssetID: id("lone"), Actions: []string{ActionConnect}}, nil, nil, nil, false},
		{"an inactive asset", AuthzQuery{User: "alice", AssetID: id("off1"), Actions: []string{ActionConnect}}, nil, nil, nil, false},
		{"an expired grant", AuthzQuery{User: "bob", AssetID: id("web2"), Account: "root"}, nil, nil, nil, false},
		{"a disabled user", AuthzQuery{User: "carol", AssetID: id("web1"), Actions: []string{ActionConnect}}, nil, nil, nil, false},
		{"a locked user", AuthzQuery{User: "dave", AssetID: id("web1"), Actions: []string{ActionConnect}}, nil, nil, nil, false},
		{"no such user", AuthzQuery{User: "zed", AssetID: id("web1")}, nil, nil, nil, false},
		{"forward to a listed port", AuthzQuery{User: "alice", AssetID: id("web1"), Actions: []string{ActionForward}, Port: 8080}, []string{"deploy"}, nil, nil, true},
		{"forward to an unlisted port", AuthzQuery{User: "alice", AssetID: id("web1"), Actions: []string{ActionForward}, Port: 22}, nil, nil, []int{8080}, true},
		{"forward without the action", AuthzQuery{User: "alice", AssetID: id("web2"), Actions: []string{ActionForward}, Port: 22}, nil, []string{ActionForward}, nil, true},
		{"forward to the SSH port", AuthzQuery{User: "frank", AssetID: id("web2"), Actions: []string{ActionForward}, Port: 22}, []string{"root"}, nil, nil, true},
		{"forward elsewhere than the SSH port", AuthzQuery{User: "frank", AssetID: id("web2"), Actions: []string{ActionForward}, Port: 80}, nil, nil, []int{22}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.q.At = testNow
			acc, err := s.Authorize(ctx, tt.q)
			if tt.accounts != nil {
				var got []string
				for _, g := range acc.Accounts {
					got = append(got, g.Username)
				}
				slices.Sort(got)
				want := slices.Sorted(slices.Values(tt.accounts))
				if err != nil || !slices.Equal(got, want) {
					t.Fatalf("Authorize = %v, %v; want %v", got, err, want)
				}
				return
			}
			if !errors.Is(err, ErrDenied) {
				t.Fatalf("Authorize = %+v, %v; want a refusal", acc, err)
			}
			de, _ := IsDenied(err)
			if de == nil {
				if tt.asset || tt.missing != nil || tt.ports != nil {
					t.Fatalf("refusal %v names nothing", err)
				}
				return
			}
			if (de.Asset != "") != tt.asset || !slices.Equal(de.Missing, tt.missing) || !slices.Equal(de.Ports, tt.ports) {
				t.Errorf("refusal %+v (%v); want asset %v, missing %v, ports %v", de, err, tt.asset, tt.missing, tt.ports)
			}
		})
	}
}
