package filter

import (
	"strings"
	"testing"
	"time"
)

func TestReadsCommands(t *testing.T) {
	tests := []struct {
		cmd  string
		want bool
	}{
		{"sh", true},
		{"bash", true},
		{"bash -s", true},
		{"bash -s -- a b", true},
		{"bash -i", true},
		{"bash -l", true},
		{"bash -o pipefail", true},
		{"bash --norc", true},
		{"bash --rcfile x", true},
		{"zsh", true},
		{"/bin/sh", true},
		{"/usr/bin/env bash", true},
		{"env -i PATH=/bin sh", true},
		{"exec sh", true},
		{"nohup bash", true},
		{"cd /tmp && sh", true},
		{"echo x | sh", true},
		{"busybox sh", true},
		{"bash /dev/stdin", true},
		{"bash -- -", true},
		{"python3", true},
		{"python3 -", true},
		{"python3.12 -u", true},
		{"python3 -W ignore", true},
		{"python3 -i script.py", true},
		{"perl", true},
		{"perl -w -", true},
		{"ruby", true},
		{"node", true},
		{"php", true},
		{"lua", true},
		{"psql", true},
		{"mysql -u root", true},
		{"su", true},
		{"su - root", true},
		{"su -l alice", true},
		{"runuser -l alice", true},
		{"sudo -s", true},
		{"sudo -i", true},
		{"sudo su -", true},
		{"sudo -u root bash", true},
		{"doas -s", true},
		{"ssh host", true},
		{"ssh -p 2222 -i key user@host", true},
		{"ssh host sh", true},
		{"ssh host 'bash -s'", true},
		{"ssh -- host", true},
		{"chroot /", true},
		{"nsenter -t 1 -a", true},
		{"script -q /dev/null", true},
		{"docker exec -it web sh", true},
		{"kubectl exec -i pod -- sh", true},
		{"podman run --interactive img", true},
		{"script -qc 'ls' /dev/null", false},
		{"docker exec web ls", false},
		{"docker ps", false},

		{"sh -c 'ls'", false},
		{"bash -lc 'ls'", false},
		{"bash script.sh", false},
		{"sh ./x.sh arg", false},
		{"python3 -c 'print(1)'", false},
		{"python3 script.py", false},
		{"python3 -m http.server", false},
		{"perl -e 'print 1'", false},
		{"perl -ne 'print' file", false},
		{"ruby -e 1", false},
		{"node app.js", false},
		{"psql -c 'select 1'", false},
		{"su -lc 'id'", false},
		{"su -c id root", false},
		{"runuser -u alice -- id", false},
		{"sudo -s id", false},
		{"ssh host uptime", false},
		{"ssh -o BatchMode=yes host uptime", false},
		{"uname -a", false},
		{"cat > file", false},
		{"ls -l /", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := ReadsCommands(tt.cmd); got != tt.want {
			t.Errorf("ReadsCommands(%q) = %v, want %v", tt.cmd, got, tt.want)
		}
	}
}

// TestDocumentedInterpreterFilter checks the filter docs/filters.md gives to
// refuse interpreters that read their program from stdin.
func TestDocumentedInterpreterFilter(t *testing.T) {
	re, err := CompilePattern(`^(\S*/)?(python[0-9.]*|pypy[0-9.]*|perl|ruby|node|nodejs|php|lua|irb|R|julia)( +-[^ ]*)*$`)
	if err != nil {
		t.Fatal(err)
	}
	rs := NewRuleSet([]Rule{{ID: 1, Name: "no-stdin-interpreters", Action: Deny, Priority: 1, Regex: re}})
	for _, c := range []string{"python3", "python3 -", "python3 -u -", "env perl", "/usr/bin/node", "sudo python3.12 -", "cd /tmp && ruby"} {
		if v := rs.Evaluate(c); v.Action != Deny {
			t.Errorf("%q: %v, want deny", c, v.Action)
		}
		if !ReadsCommands(c) {
			t.Errorf("ReadsCommands(%q) = false", c)
		}
	}
	for _, c := range []string{"python3 script.py", "python3 -c 'print(1)'", "python3 -m http.server", "perl -e 1", "ls", "sh"} {
		if v := rs.Evaluate(c); v.Action != Allow {
			t.Errorf("%q: %v, want allow", c, v.Action)
		}
	}
}

// TestReadsCommandsNestedQuick: nested ssh remote commands are bounded.
// The time limit catches only a blow-up (a pass per nesting of every
// level would not end): 5,000 levels take about 0.2 s, 1 s under -race,
// and a loaded machine multiplies that. BenchmarkReadsCommandsNested
// measures it.
func TestReadsCommandsNestedQuick(t *testing.T) {
	s := strings.Repeat("ssh h ", 5000) + "uptime"
	start := time.Now()
	if !ReadsCommands(s) {
		t.Error("past the depth limit, the answer is yes")
	}
	if d := time.Since(start); d > 2*time.Minute {
		t.Errorf("took %v", d)
	}
	if ReadsCommands("ssh a ssh b ssh c uptime") {
		t.Error("ssh a ssh b ssh c uptime reads no commands")
	}
}

func BenchmarkReadsCommandsNested(b *testing.B) {
	s := strings.Repeat("ssh h ", 5000) + "uptime"
	for b.Loop() {
		ReadsCommands(s)
	}
}
