package automation

import (
	"strings"
	"testing"

	"github.com/jms-bastion/jms/store"
)

func TestPlan(t *testing.T) {
	pw := store.Secret("Secr3tPassw0rd")
	base := desired{template: "deploy", user: "deploy", family: FamilyDebian, shell: "/bin/bash", home: true,
		kind: store.SecretPassword, secret: pw}
	withKey := base
	withKey.kind, withKey.keys = store.SecretKey, []string{"ssh-ed25519 AAAAC3Nza"}
	withSudo := base
	withSudo.sudo = Sudo{All: true}
	okState := userState{exists: true, uid: 1001, gid: 1001, home: "/home/deploy", shell: "/bin/bash",
		groups: []string{"deploy"}, homeExists: true}
	keyed := okState
	keyed.authorizedKeys = "ssh-rsa AAAAB3 alice@laptop\nssh-ed25519 AAAAC3Nza jms-managed\n"
	sudoed := okState
	sudoed.sudoers = sudoersContent(withSudo)
	noHomeRHEL := base
	noHomeRHEL.home, noHomeRHEL.family = false, FamilyRHEL

	for _, tc := range []struct {
		name string
		d    desired
		st   userState
		want []string // the commands, as a dry run shows them
		err  string
	}{
		{name: "new user with a password", d: base, st: userState{},
			want: []string{"useradd -m -d /home/deploy -s /bin/bash -c 'managed by jms' deploy", "chpasswd <<< deploy:[redacted]"}},
		{name: "RHEL without home says -M", d: func() desired { d := noHomeRHEL; d.shell = ""; return d }(), st: userState{},
			want: []string{"useradd -M -d /home/deploy -c 'managed by jms' deploy", "chpasswd <<< deploy:[redacted]"}},
		{name: "password already logs in", d: func() desired { d := base; d.passwordOK = true; return d }(), st: okState},
		{name: "shell and groups brought in line", d: func() desired {
			d := base
			d.passwordOK, d.groups = true, []string{"adm", "docker"}
			return d
		}(), st: func() userState {
			s := okState
			s.shell = "/bin/sh"
			s.groups = []string{"deploy", "adm"}
			s.missingGroups = []string{"docker"}
			return s
		}(),
			want: []string{"groupadd docker", "usermod -s /bin/bash deploy", "usermod -a -G docker deploy"}},
		{name: "new key user", d: withKey, st: userState{},
			want: []string{"useradd -m -d /home/deploy -s /bin/bash -p '*' -c 'managed by jms' deploy",
				"runuser -u deploy -- mkdir -p /home/deploy/.ssh", "runuser -u deploy -- chmod 0700 /home/deploy/.ssh",
				"runuser -u deploy -- tee /home/deploy/.ssh/authorized_keys.jms-new <<< [authorized_keys]",
				"runuser -u deploy -- chmod 0600 /home/deploy/.ssh/authorized_keys.jms-new",
				"runuser -u deploy -- mv -f /home/deploy/.ssh/authorized_keys.jms-new /home/deploy/.ssh/authorized_keys"}},
		{name: "key already there, foreign key kept", d: withKey, st: keyed},
		{name: "locked key user unlocked", d: withKey, st: func() userState { s := keyed; s.locked = true; return s }(),
			want: []string{"usermod -p '*' deploy"}},
		{name: "sudo drop-in checked before it moves in", d: func() desired { d := withSudo; d.passwordOK = true; return d }(), st: okState,
			want: []string{"tee /etc/sudoers.d/.jms-deploy.new <<< [sudoers rule]", "chmod 0440 /etc/sudoers.d/.jms-deploy.new",
				"visudo -c -q -f /etc/sudoers.d/.jms-deploy.new", "mv -f /etc/sudoers.d/.jms-deploy.new /etc/sudoers.d/jms-deploy"}},
		{name: "sudo already there", d: func() desired { d := withSudo; d.passwordOK = true; return d }(), st: sudoed},
		{name: "sudo taken away", d: func() desired { d := base; d.passwordOK = true; return d }(), st: sudoed,
			want: []string{"rm -f /etc/sudoers.d/jms-deploy"}},
		{name: "system account refused", d: base, st: userState{exists: true, uid: 33}, err: "system account"},
		{name: "password with a newline refused", d: func() desired { d := base; d.secret = store.Secret("a\nroot:x"); return d }(), st: userState{}, err: "line break"},
		{name: "key user without a home", d: func() desired { d := withKey; d.home = false; return d }(),
			st: func() userState { s := okState; s.homeExists = false; return s }(), err: "home directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steps, err := plan(tc.d, tc.st)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range steps {
				got = append(got, s.cmd.lines()...)
				if strings.Contains(commandLine(s.cmd.argv()), string(pw)) || strings.Contains(strings.Join(s.cmd.lines(), " "), string(pw)) {
					t.Fatalf("the secret is in a command line: %s", s.cmd.String())
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("commands:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestAuthorizedKeysReplacesOnlyManagedLines(t *testing.T) {
	cur := "# a comment\nssh-rsa AAAAB3 alice@laptop\nssh-ed25519 OLD jms-managed\n\n"
	got := authorizedKeys(cur, []string{"ssh-ed25519 NEW"})
	want := "# a comment\nssh-rsa AAAAB3 alice@laptop\nssh-ed25519 NEW jms-managed\n"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestNewPasswordsDiffer(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		p, err := newPassword()
		if err != nil || len(p) != passwordLength || checkPassword(p) != nil {
			t.Fatalf("password %d bytes, %v", len(p), err)
		}
		if seen[string(p)] {
			t.Fatal("the same password twice")
		}
		seen[string(p)] = true
	}
}
