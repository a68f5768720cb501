package store

import (
	"context"
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
		ports  []int
		ssh    bool
	}{
		{nil, nil, false},
		{[]string{"fw-web"}, []int{443, 8080}, false},
		{[]string{"fw-ssh"}, nil, true},
		{[]string{"no-fw"}, nil, false},
		{[]string{"fw-web", "fw-ssh", "no-fw", "missing"}, []int{443, 8080}, true},
	}
	for _, tt := range tests {
		ports, ssh, err := s.ForwardPorts(ctx, tt.grants)
		if err != nil || !slices.Equal(ports, tt.ports) || ssh != tt.ssh {
			t.Errorf("ForwardPorts(%v) = %v, %v, %v; want %v, %v", tt.grants, ports, ssh, err, tt.ports, tt.ssh)
		}
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
