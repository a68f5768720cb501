package automation

import (
	"strings"
	"testing"
)

func TestValidUsername(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"deploy", true}, {"_svc", true}, {"app-1", true}, {"a", true},
		{"", false}, {"-o", false}, {"x;rm -rf /", false}, {"Deploy", false}, {"1abc", false},
		{"root", false}, {"www-data", false}, {"a.b", false}, {"a b", false}, {"a$", false},
		{strings.Repeat("a", 33), false}, {"$(id)", false}, {"a\nb", false},
	} {
		if err := ValidUsername(tc.name); (err == nil) != tc.ok {
			t.Errorf("ValidUsername(%q) = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

func TestParseGroups(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"", "", true}, {"adm", "adm", true}, {"adm, docker,adm", "adm,docker", true},
		{"root", "", false}, {"a;b", "", false}, {"-G", "", false}, {"adm,", "", false},
	} {
		got, err := ParseGroups(tc.in)
		if (err == nil) != tc.ok || (tc.ok && strings.Join(got, ",") != tc.want) {
			t.Errorf("ParseGroups(%q) = %v, %v; want %q ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestValidShell(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"", true}, {"/bin/bash", true}, {"/usr/sbin/nologin", true},
		{"bash", false}, {"/bin/sh -c id", false}, {"/bin/../bin/sh", false}, {"/bin/sh;id", false}, {"-o", false},
	} {
		if err := ValidShell(tc.in); (err == nil) != tc.ok {
			t.Errorf("ValidShell(%q) = %v, want ok %v", tc.in, err, tc.ok)
		}
	}
}

func TestParseSudo(t *testing.T) {
	for _, tc := range []struct {
		in   string
		line string // the rule for "deploy"; "" when refused
	}{
		{"ALL", "deploy ALL=(ALL:ALL) NOPASSWD: ALL"},
		{"/usr/bin/systemctl restart nginx", "deploy ALL=(root) NOPASSWD: /usr/bin/systemctl restart nginx"},
		{"/usr/bin/systemctl restart nginx, /bin/journalctl -u nginx", "deploy ALL=(root) NOPASSWD: /usr/bin/systemctl restart nginx, /bin/journalctl -u nginx"},
		{"systemctl", ""}, {"/bin/sh -c id", ""}, {"/usr/bin/vi *", ""}, {"/bin/ls:ALL", ""},
		{"/bin/ls =", ""}, {"ALL,/bin/ls", ""}, {"/bin/ls\\", ""}, {"!/bin/ls", ""}, {"/bin/../bin/sh", ""},
		{"/bin/ls\nroot ALL=(ALL) ALL", ""}, {"x;rm -rf /", ""}, {"/usr/bin/a,", ""},
	} {
		s, err := ParseSudo(tc.in)
		if tc.line == "" {
			if err == nil {
				t.Errorf("ParseSudo(%q) accepted: %+v", tc.in, s)
			}
			continue
		}
		if err != nil || s.sudoersLine("deploy") != tc.line {
			t.Errorf("ParseSudo(%q) = %q, %v; want %q", tc.in, s.sudoersLine("deploy"), err, tc.line)
		}
	}
}

// What passes validation reaches a remote shell and a sudoers file: it
// must hold no character either treats specially.
const forbidden = "\x00\n\r;&|$`'\"\\<>(){}[]*?!#~,:=\t"

func FuzzValidUsername(f *testing.F) {
	for _, s := range []string{"deploy", "-o", "x;rm -rf /", "root", "a_b-c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidUsername(s) != nil {
			return
		}
		if strings.ContainsAny(s, forbidden+" ./") || strings.HasPrefix(s, "-") {
			t.Fatalf("accepted %q", s)
		}
		if ValidGroup(s) != nil {
			t.Fatalf("a valid username %q is not a valid group", s)
		}
	})
}

func FuzzValidShell(f *testing.F) {
	for _, s := range []string{"/bin/bash", "/bin/sh -c id", "/../x", "-o"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidShell(s) != nil || s == "" {
			return
		}
		if strings.ContainsAny(s, forbidden+" ") || !strings.HasPrefix(s, "/") || strings.Contains(s, "/../") {
			t.Fatalf("accepted %q", s)
		}
	})
}

func FuzzParseSudo(f *testing.F) {
	for _, s := range []string{"ALL", "/usr/bin/systemctl restart nginx,/bin/ls", "/bin/sh -c 'id'", "/bin/ls:ALL", "x;rm -rf /"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := ParseSudo(s)
		if err != nil {
			return
		}
		line := sp.sudoersLine("deploy")
		if strings.Count(line, "NOPASSWD:") > 1 || strings.ContainsAny(line, "\x00\n\r\\!*?[]'\"`$;&|") {
			t.Fatalf("ParseSudo(%q) makes the rule %q", s, line)
		}
		if !sp.All && strings.Contains(line, "ALL=(ALL") {
			t.Fatalf("a command list widened to ALL: %q", line)
		}
		again, err := ParseSudo(sp.String())
		if err != nil || again.sudoersLine("deploy") != line {
			t.Fatalf("round trip of %q: %q, %v", s, again.String(), err)
		}
	})
}

func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "a b", "it's", "/etc/x", "$(id)", "'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got := unquote(t, quote(s)); got != s {
			t.Fatalf("quote(%q) reads back as %q", s, got)
		}
	})
}

// unquote reads one POSIX shell word made of plain characters and single
// quoted parts joined by \' — what quote may produce.
func unquote(t *testing.T, w string) string {
	var b strings.Builder
	for i := 0; i < len(w); {
		switch {
		case w[i] == '\'':
			j := strings.IndexByte(w[i+1:], '\'')
			if j < 0 {
				t.Fatalf("unterminated quote in %q", w)
			}
			b.WriteString(w[i+1 : i+1+j])
			i += j + 2
		case w[i] == '\\' && i+1 < len(w):
			b.WriteByte(w[i+1])
			i += 2
		case strings.IndexByte(shellSpecial, w[i]) >= 0:
			t.Fatalf("unquoted special character %q in %q", w[i], w)
		default:
			b.WriteByte(w[i])
			i++
		}
	}
	return b.String()
}

// shellSpecial are the characters a POSIX shell reads specially.
const shellSpecial = "\x00\n\r;&|$`'\"\\<>(){}[]*?!#~\t "

func FuzzFacts(f *testing.F) {
	f.Add("ID=debian\nVERSION_ID=\"12\"\n", "x86_64\n", "web1\n")
	f.Add("ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n", "aarch64", "db")
	f.Fuzz(func(t *testing.T, osr, arch, host string) {
		fa := factsFrom(osr, arch, host)
		for _, v := range []string{fa.OSID, fa.OSVersion, fa.Arch, fa.Hostname} {
			if len(v) > 64 || strings.ContainsAny(v, "\x00\x1b\n\r\t ") {
				t.Fatalf("fact %q from a hostile asset", v)
			}
		}
	})
}

func FuzzParsePasswd(f *testing.F) {
	f.Add("deploy:x:1001:1001:managed by jms:/home/deploy:/bin/bash")
	f.Add("a:b")
	f.Fuzz(func(t *testing.T, line string) {
		pe, err := parsePasswd(line)
		if err == nil && strings.Contains(pe.home, "\n") {
			t.Fatalf("home %q", pe.home)
		}
	})
}

func TestOSFamily(t *testing.T) {
	for _, tc := range []struct{ osr, want string }{
		{"ID=debian\nVERSION_ID=\"12\"", FamilyDebian},
		{"ID=ubuntu\nID_LIKE=debian", FamilyDebian},
		{"ID=linuxmint\nID_LIKE=\"ubuntu debian\"", FamilyDebian},
		{"ID=\"rhel\"", FamilyRHEL},
		{"ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"", FamilyRHEL},
		{"ID=fedora", FamilyRHEL},
		{"ID=alpine", ""}, {"ID=arch", ""}, {"", ""},
	} {
		if got := factsFrom(tc.osr, "", "").OSFamily; got != tc.want {
			t.Errorf("family of %q = %q, want %q", tc.osr, got, tc.want)
		}
	}
}
