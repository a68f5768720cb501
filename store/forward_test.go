package store

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestParsePorts(t *testing.T) {
	tests := []struct {
		in   string
		want []int
		err  string
	}{
		{"", nil, ""},
		{"22", []int{22}, ""},
		{"8080, 22,22 ,443", []int{22, 443, 8080}, ""},
		{"0", nil, "want a number from 1 to 65535"},
		{"65536", nil, "want a number from 1 to 65535"},
		{"http", nil, `port "http"`},
	}
	for _, tt := range tests {
		got, err := ParsePorts(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParsePorts(%q) error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParsePorts(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestForwardPorts(t *testing.T) {
	ctx := WithActor(context.Background(), "os:tester")
	s := accessFixture(t)
	add := func(ng NewGrant) {
		t.Helper()
		ng.Users = []string{"alice"}
		ng.Assets = []string{"web1"}
		if _, err := s.AddGrant(ctx, ng); err != nil {
			t.Fatal(err)
		}
	}
	add(NewGrant{Name: "fw-web", Actions: []string{"forward"}, ForwardPorts: []int{8080, 443, 8080}})
	add(NewGrant{Name: "fw-ssh", Actions: []string{"connect", "forward"}})
	add(NewGrant{Name: "no-fw", Actions: []string{"connect"}, ForwardPorts: []int{9999}})

	g, err := s.GetGrant(ctx, "fw-web")
	if err != nil || !slices.Equal(g.ForwardPorts, []int{443, 8080}) {
		t.Fatalf("fw-web ports %v, %v", g.ForwardPorts, err)
	}
	tests := []struct {
		grants []string
		want   map[string][]int
	}{
		{nil, map[string][]int{}},
		{[]string{"fw-web"}, map[string][]int{"fw-web": {443, 8080}}},
		{[]string{"fw-ssh"}, map[string][]int{"fw-ssh": {2222}}},
		{[]string{"no-fw"}, map[string][]int{}},
		{[]string{"fw-web", "fw-ssh", "no-fw", "missing"}, map[string][]int{"fw-web": {443, 8080}, "fw-ssh": {2222}}},
	}
	for _, tt := range tests {
		got, err := s.forwardGrantPorts(ctx, tt.grants, 2222)
		if err != nil || !maps.EqualFunc(got, tt.want, slices.Equal) {
			t.Errorf("forwardGrantPorts(%v) = %v, %v; want %v", tt.grants, got, err, tt.want)
		}
	}
	if got, _ := s.forwardGrantPorts(ctx, []string{"fw-ssh"}, 0); !slices.Equal(got["fw-ssh"], []int{22}) {
		t.Errorf("a grant without ports on an asset of unknown port opens %v, want 22", got["fw-ssh"])
	}
	empty := []int{}
	if g, err = s.UpdateGrant(ctx, "fw-web", GrantUpdate{ForwardPorts: &empty}); err != nil || len(g.ForwardPorts) != 0 {
		t.Fatalf("clear ports: %v, %v", g.ForwardPorts, err)
	}
	bad := []int{70000}
	if _, err = s.UpdateGrant(ctx, "fw-web", GrantUpdate{ForwardPorts: &bad}); err == nil {
		t.Fatal("port 70000 accepted")
	}
	set := []int{5432}
	if g, err = s.UpdateGrant(ctx, "fw-web", GrantUpdate{ForwardPorts: &set}); err != nil || !slices.Equal(g.ForwardPorts, set) {
		t.Fatalf("set ports: %v, %v", g.ForwardPorts, err)
	}
}
