package automation

import (
	"strings"
	"testing"
)

func TestPasswordStatesAndRisks(t *testing.T) {
	st := passwordStates("root:$y$j9T$abc:19000:0:99999:7:::\nnopw::19000::::::\nlocked:!:19000::::::\nsvc:*:19000::::::\n")
	for name, want := range map[string]string{"root": "set", "nopw": "empty", "locked": "locked", "svc": "none"} {
		if st[name] != want {
			t.Errorf("%s: %q, want %q", name, st[name], want)
		}
	}
	got := risks(LocalAccount{Name: "toor", UID: 0, Password: "empty", UnmanagedKeys: 2})
	if strings.Join(got, ",") != "uid 0,empty password,2 unmanaged keys" {
		t.Errorf("risks: %q", got)
	}
	if r := risks(LocalAccount{Name: "root", UID: 0, Password: "set"}); len(r) != 0 {
		t.Errorf("root itself is risky: %q", r)
	}
}

func TestParseLastlog(t *testing.T) {
	ll := parseLastlog("Username         Port     From             Latest\nroot             pts/49   127.0.0.1        Mon Nov 30 08:03:21 +0000 2026\ndaemon                                     **Never logged in**\n")
	if ll["root"] != "Mon Nov 30 08:03:21 +0000 2026" || ll["daemon"] != "never" {
		t.Errorf("lastlog: %q", ll)
	}
}

func FuzzDiscoverParsers(f *testing.F) {
	f.Add("root:x:0:0:root:/root:/bin/bash\n", "root:!:1::::::\n", "Username Port From Latest\nroot pts/1 x Mon Nov 30 08:03:21 +0000 2026\n")
	f.Fuzz(func(t *testing.T, passwd, shadow, lastlog string) {
		for _, l := range strings.Split(passwd, "\n") {
			_, _ = parsePasswd(l)
		}
		for _, v := range passwordStates(shadow) {
			if v != "set" && v != "empty" && v != "locked" && v != "none" {
				t.Fatalf("state %q", v)
			}
		}
		for _, v := range parseLastlog(lastlog) {
			if strings.ContainsAny(v, "\x1b\n\r") || len(v) > 64 {
				t.Fatalf("last login %q", v)
			}
		}
	})
}
