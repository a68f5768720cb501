package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestGrantGivesNothing(t *testing.T) {
	ctx := WithActor(context.Background(), "os:tester")
	s := accessFixture(t)
	g := func(assets, nodes, accounts []string, until *time.Time) NewGrant {
		return NewGrant{Name: "g", Users: []string{"alice"}, Assets: assets, Nodes: nodes, Accounts: accounts, ValidUntil: until}
	}
	tests := []struct {
		name string
		ng   NewGrant
		want []string // substrings, one per problem; nil: none
	}{
		{"@all", g([]string{"web1"}, nil, nil, nil), nil},
		{"account on the asset", g([]string{"web1"}, nil, []string{"deploy"}, nil), nil},
		{"account under the node", g(nil, []string{"/prod"}, []string{"deploy"}, nil), nil},
		{"node given loosely", g(nil, []string{"prod/"}, []string{"deploy"}, nil), nil},
		{"account elsewhere only", g([]string{"web2"}, nil, []string{"deploy"}, nil), []string{`account "deploy" exists on none`}},
		{"/prod is not /production", g(nil, []string{"/prod"}, []string{"postgres"}, nil), []string{`account "postgres"`}},
		{"one of two missing", g([]string{"db1"}, nil, []string{"postgres", "oracle"}, nil), []string{`account "oracle"`}},
		{"window over", g([]string{"web1"}, nil, nil, tp(testNow.Add(-time.Minute))), []string{"window ended at"}},
		{"window ends now", g([]string{"web1"}, nil, nil, tp(testNow)), []string{"window ended at"}},
		{"window ahead", g([]string{"web1"}, nil, nil, tp(testNow.Add(time.Minute))), nil},
		{"both", g([]string{"web2"}, nil, []string{"nobody"}, tp(testNow.Add(-time.Hour))), []string{"window ended", `account "nobody"`}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.ng.Name = fmt.Sprintf("plain%d", i)
			_, err := s.AddGrant(ctx, tt.ng)
			if (err == nil) != (tt.want == nil) || (err != nil && !strings.Contains(err.Error(), "would give nothing")) {
				t.Fatalf("without force: %v", err)
			}
			tt.ng.Name, tt.ng.Force = fmt.Sprintf("forced%d", i), true
			g, err := s.AddGrant(ctx, tt.ng)
			if err != nil {
				t.Fatal(err)
			}
			got := g.Warnings
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %d problems like %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %d: got %q, want %q", i, got[i], w)
				}
			}
		})
	}
	// An unknown asset is named as such, not as an account it lacks.
	if _, err := s.AddGrant(ctx, g([]string{"web9"}, nil, []string{"nobody"}, nil)); err == nil ||
		!strings.Contains(err.Error(), `asset "web9" does not exist`) {
		t.Fatalf("got %v", err)
	}
}

func TestNodeCovers(t *testing.T) {
	for _, tt := range []struct {
		node, asset string
		want        bool
	}{
		{"/prod", "/prod", true},
		{"/prod", "/prod/web", true},
		{"/prod", "/production", false},
		{"/prod/web", "/prod", false},
		{"/prod", "", false},
	} {
		if got := NodeCovers(tt.node, tt.asset); got != tt.want {
			t.Errorf("NodeCovers(%q, %q) = %v, want %v", tt.node, tt.asset, got, tt.want)
		}
	}
}
