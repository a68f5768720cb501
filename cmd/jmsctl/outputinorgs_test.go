package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jms-bastion/jms/store"
)

func TestInOrgJSON(t *testing.T) {
	type row struct {
		Name string `json:"name"`
		N    int64  `json:"n"`
	}
	for _, tc := range []struct {
		name string
		in   any
		want string
	}{
		{"fields follow org", inOrg[row]{Org: "team-b", Item: row{Name: "x", N: 12345678901}}, `{"org":"team-b","name":"x","n":12345678901}`},
		{"empty object", inOrg[struct{}]{Org: "a"}, `{"org":"a"}`},
		{"escaped org", inOrg[row]{Org: `a"b`}, `{"org":"a\"b","name":"","n":0}`},
		{"not an object", inOrg[string]{Org: "a", Item: "s"}, `"s"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.in)
			if err != nil || string(b) != tc.want {
				t.Fatalf("got %s, %v; want %s", b, err, tc.want)
			}
		})
	}
}

// TestAllOrgsListsRemovedOrgsHistory: a removed organization's sessions
// stay, and --all-orgs lists them under its name.
func TestAllOrgsListsRemovedOrgsHistory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	st := initStore(t, dir)
	defer st.Close()
	ctx := context.Background()
	for _, args := range [][]string{
		{"org", "add", "team-x"}, {"user", "add", "xena"},
		{"--org", "team-x", "asset", "add", "oldbox", "--address", "10.9.0.1"},
	} {
		if _, stderr, err := runCLI(t, dir, args...); err != nil {
			t.Fatalf("%v: %v %s", args, err, stderr)
		}
	}
	o, err := st.GetOrg(ctx, "team-x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.InOrg(o.ID).StartSession(ctx, store.NewSession{User: "xena", Asset: "oldbox", Account: "root"}); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--org", "team-x", "asset", "rm", "oldbox"}, {"org", "rm", "team-x"}} {
		if _, stderr, err := runCLI(t, dir, args...); err != nil {
			t.Fatalf("%v: %v %s", args, err, stderr)
		}
	}
	out, stderr, err := runCLI(t, dir, "session", "list", "--all-orgs", "-o", "csv")
	if err != nil {
		t.Fatalf("%v %s", err, stderr)
	}
	if !strings.Contains(out, "\nteam-x (removed),") || !strings.Contains(out, ",xena,oldbox,") {
		t.Fatalf("session list --all-orgs:\n%s", out)
	}
}
