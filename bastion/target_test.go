package bastion

import (
	"strings"
	"testing"

	"github.com/jms-bastion/jms/store"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		login, cmd string
		want       Target
		err        bool
	}{
		{login: "alice", want: Target{User: "alice"}},
		{login: "alice@web1", want: Target{User: "alice", Asset: "web1"}},
		{login: "alice@root@web1", want: Target{User: "alice", Account: "root", Asset: "web1"}},
		{login: "alice#web1", want: Target{User: "alice", Asset: "web1"}},
		{login: "alice#root#web1", want: Target{User: "alice", Account: "root", Asset: "web1"}},
		{login: "alice@root#web1", want: Target{User: "alice", Account: "root", Asset: "web1"}},
		{login: "alice@10.0.0.5", want: Target{User: "alice", Asset: "10.0.0.5"}},
		{login: "alice@root@fe80::1%eth0", want: Target{User: "alice", Account: "root", Asset: "fe80::1%eth0"}},
		{login: "alice@web1", cmd: "web2 uname -a", want: Target{User: "alice", Asset: "web1", Command: "web2 uname -a"}},
		{login: "alice", cmd: "web1", want: Target{User: "alice", Asset: "web1"}},
		{login: "alice", cmd: "web1 uname -a", want: Target{User: "alice", Asset: "web1", Command: "uname -a"}},
		{login: "alice", cmd: "  root@web1\t  ls   -l ", want: Target{User: "alice", Account: "root", Asset: "web1", Command: "ls   -l "}},
		{login: "alice", cmd: "root#web1 ls", want: Target{User: "alice", Account: "root", Asset: "web1", Command: "ls"}},
		{login: "alice", cmd: `web1 sh -c 'echo "$HOME"'`, want: Target{User: "alice", Asset: "web1", Command: `sh -c 'echo "$HOME"'`}},
		{login: "alice", cmd: "42 true", want: Target{User: "alice", Asset: "42", Command: "true"}},
		{login: "a.b-c_d", want: Target{User: "a.b-c_d"}},
		{login: "", err: true},
		{login: "Alice", err: true},
		{login: "@web1", err: true},
		{login: "alice@", err: true},
		{login: "alice@root@", err: true},
		{login: "alice@@web1", err: true},
		{login: "alice@a@b@c", err: true},
		{login: "alice@we b1", err: true},
		{login: "al ice", err: true},
		{login: "alice", cmd: "'web1' ls", err: true},
		{login: "alice", cmd: "ro ot@web1", want: Target{User: "alice", Asset: "ro", Command: "ot@web1"}},
		{login: "alice", cmd: "root@ ls", err: true},
		{login: "alice", cmd: "a@b@c ls", err: true},
		{login: "alice", cmd: "web1;reboot", err: true},
		{login: "alice", cmd: "   ", want: Target{User: "alice"}},
		{login: "alice@team-a/web1", want: Target{User: "alice", Asset: "team-a/web1"}},
		{login: "alice@root@team-a/web1", want: Target{User: "alice", Account: "root", Asset: "team-a/web1"}},
		{login: "alice#root#team-a/10.0.0.5", want: Target{User: "alice", Account: "root", Asset: "team-a/10.0.0.5"}},
		{login: "alice", cmd: "team-a/web1 uname -a", want: Target{User: "alice", Asset: "team-a/web1", Command: "uname -a"}},
		{login: "alice", cmd: "root@team-a/web1", want: Target{User: "alice", Account: "root", Asset: "team-a/web1"}},
		{login: "alice@team-a/", err: true},
		{login: "alice@/web1", err: true},
		{login: "alice@Team A/web1", err: true},
		{login: "alice@a/b/c", err: true},
		{login: "alice", cmd: "team-a//web1", err: true},
	} {
		got, err := ParseTarget(tc.login, tc.cmd)
		if (err != nil) != tc.err {
			t.Errorf("ParseTarget(%q, %q) error %v, want error %v", tc.login, tc.cmd, err, tc.err)
			continue
		}
		if !tc.err && got != tc.want {
			t.Errorf("ParseTarget(%q, %q) = %+v, want %+v", tc.login, tc.cmd, got, tc.want)
		}
	}
}

func FuzzParseTarget(f *testing.F) {
	for _, s := range [][2]string{{"alice", ""}, {"alice@web1", "ls"}, {"alice#root#web1", ""}, {"alice", "root@web1 uname -a"},
		{"alice@root@fe80::1", "x"}, {"a@", " "}, {"é@ü", "\x00"}, {"alice@team-a/web1", ""}, {"alice", "root@team-a/web1 ls"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, login, cmd string) {
		got, err := ParseTarget(login, cmd)
		if err != nil {
			return
		}
		if store.ValidName("user", got.User) != nil {
			t.Fatalf("invalid user %q accepted", got.User)
		}
		for _, p := range []string{got.User, got.Account, got.Asset} {
			if strings.ContainsAny(p, "@# \t\r\n'\"") {
				t.Fatalf("part %q of %+v holds a separator or blank", p, got)
			}
		}
		if org, asset, ok := strings.Cut(got.Asset, "/"); ok && (store.ValidName("organization", org) != nil || asset == "" || strings.Contains(asset, "/")) {
			t.Fatalf("asset %q: not org/asset", got.Asset)
		}
		if got.Account != "" && got.Asset == "" {
			t.Fatalf("an account without an asset: %+v", got)
		}
		if got.Asset == "" && got.Command != "" {
			t.Fatalf("a command without an asset: %+v", got)
		}
		// The login name form reads back the same target.
		again, err := ParseTarget(got.String(), got.Command)
		if err != nil || again != got {
			t.Fatalf("round trip of %+v via %q: %+v, %v", got, got.String(), again, err)
		}
	})
}

func TestFindAsset(t *testing.T) {
	acc := func(id int64, name, addr string) store.Access {
		return store.Access{Asset: store.Asset{ID: id, Name: name, Address: addr}}
	}
	list := []store.Access{acc(1, "web1", "10.0.0.1"), acc(2, "web2", "10.0.0.2"), acc(3, "web3", "10.0.0.2"),
		acc(4, "7", "10.0.0.7"), acc(7, "db", "db.example.com")}
	for _, tc := range []struct {
		ref  string
		want string // asset name, "" for none
	}{
		{"web1", "web1"},
		{"10.0.0.1", "web1"},
		{"10.0.0.2", ""}, // two assets have it: not unique
		{"DB.example.com", "db"},
		{"2", "web2"},
		{"#2", "web2"},
		{"7", "7"}, // a name wins over an id
		{"#7", "db"},
		{"99", ""},
		{"nosuch", ""},
		{"", ""},
		{"default/web1", ""},
	} {
		got, ok := store.FindAccess(list, tc.ref)
		if ok != (tc.want != "") || (ok && got.Asset.Name != tc.want) {
			t.Errorf("FindAccess(%q) = %q, %v; want %q", tc.ref, got.Asset.Name, ok, tc.want)
		}
	}
}

// TestFindAssetAcrossOrgs: a name that assets of two of her orgs have
// names neither; org/asset names one.
func TestFindAssetAcrossOrgs(t *testing.T) {
	acc := func(id int64, org, name string) store.Access {
		return store.Access{Org: org, OrgID: id, Asset: store.Asset{ID: id, Name: name, Address: "10.0.0.1"}}
	}
	list := []store.Access{acc(1, "team-a", "web1"), acc(2, "team-b", "web1"), acc(3, "team-b", "db9")}
	for _, tc := range []struct {
		ref, want, err string
	}{
		{ref: "db9", want: "team-b/db9"},
		{ref: "team-a/web1", want: "team-a/web1"},
		{ref: "team-b/web1", want: "team-b/web1"},
		{ref: "team-b/#1", err: `no asset "team-b/#1" for alice`},
		{ref: "web1", err: "jms: web1 is in more than one of your organizations: name team-a/web1 or team-b/web1"},
		{ref: "10.0.0.1", err: "jms: 10.0.0.1 is the address of team-a/web1, team-b/db9 and team-b/web1: name one"},
		{ref: "team-c/web1", err: `jms: no asset "team-c/web1" for alice`},
	} {
		got, err := store.LookupAccess(list, tc.ref)
		if tc.err != "" {
			ue := unknownRef("alice", tc.ref, err)
			if err == nil || !strings.Contains(ue.Msg, tc.err) {
				t.Errorf("LookupAccess(%q) = %s, %v; want %q", tc.ref, got.Ref(), ue.Msg, tc.err)
			}
			continue
		}
		if err != nil || got.Ref() != tc.want {
			t.Errorf("LookupAccess(%q) = %s, %v; want %s", tc.ref, got.Ref(), err, tc.want)
		}
	}
}
