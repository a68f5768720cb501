package filter

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		{"ls", []string{"ls"}},
		{"", nil},
		{"   ", nil},
		{"ls; rm -rf /", []string{"ls", "rm -rf /"}},
		{"true && reboot", []string{"true", "reboot"}},
		{"false || reboot", []string{"false", "reboot"}},
		{"x | sh", []string{"x", "sh"}},
		{"x |& sh", []string{"x", "sh"}},
		{"sleep 1 & reboot", []string{"sleep 1", "reboot"}},
		{"ls\nreboot", []string{"ls", "reboot"}},
		{"ls\r\nreboot", []string{"ls", "reboot"}},
		{"$(reboot)", []string{"reboot", "$(reboot)"}},
		{"echo `reboot`", []string{"reboot", "echo `reboot`"}},
		{"echo \"$(reboot)\"", []string{"reboot", `echo "$(reboot)"`}},
		{"echo \"`reboot`\"", []string{"reboot", "echo \"`reboot`\""}},
		{"echo '$(reboot)'", []string{"echo '$(reboot)'"}},
		{"echo 'a;b'", []string{"echo 'a;b'"}},
		{`echo "a;b"`, []string{`echo "a;b"`}},
		{`echo a\;reboot`, []string{`echo a\;reboot`}},
		{"ls # ; reboot", []string{"ls"}},
		{"ls #x\nreboot", []string{"ls", "reboot"}},
		{"echo a#b; reboot", []string{"echo a#b", "reboot"}},
		{"(reboot)", []string{"reboot"}},
		{"(cd /; reboot) > log", []string{"cd /", "reboot", "> log"}},
		{"{ reboot; }", []string{"{ reboot", "}"}},
		{"cat <(reboot)", []string{"reboot", "cat <(reboot)"}},
		{"tee >(reboot)", []string{"reboot", "tee >(reboot)"}},
		{"bash -c 'reboot'", []string{"bash -c 'reboot'", "reboot"}},
		{`sh -c "ls; reboot"`, []string{`sh -c "ls; reboot"`, "ls", "reboot"}},
		{"bash -lc 'reboot'", []string{"bash -lc 'reboot'", "reboot"}},
		{"sudo sh -c 'reboot'", []string{"sudo sh -c 'reboot'", "reboot"}},
		{"eval 'reboot'", []string{"eval 'reboot'", "reboot"}},
		{"su -c reboot root", []string{"su -c reboot root", "reboot"}},
		{"alias r=reboot", []string{"alias r=reboot", "reboot"}},
		{"echo $(echo $(reboot))", []string{"reboot", "echo $(reboot)", "echo $(echo $(reboot))"}},
		{"echo 'unterminated; reboot", []string{"echo 'unterminated; reboot"}},
		{`echo "unterminated; reboot`, []string{`echo "unterminated; reboot`}},
		{"echo $(reboot", []string{"reboot", "echo $(reboot"}},
		{"ls 2>&1 >/dev/null; reboot", []string{"ls 2>&1 >/dev/null", "reboot"}},
		{"ls &>/dev/null; reboot", []string{"ls &>/dev/null", "reboot"}},
		{"echo $((1+2)); reboot", []string{"1+2", "echo $((1+2))", "reboot"}},
		{"ls \\\n-l", []string{"ls -l"}},
		{"if true; then reboot; fi", []string{"if true", "then reboot", "fi"}},
		{"r() { reboot; }", []string{"r", "{ reboot", "}"}},
		{"watch -n 1 reboot", []string{"watch -n 1 reboot", "reboot"}},
		{`find / -name x -exec rm -rf {} \;`, []string{`find / -name x -exec rm -rf {} \;`, "rm -rf '{}'"}},
		{"ls;;;reboot", []string{"ls", "reboot"}},
	}
	for _, tt := range tests {
		got := Split(tt.line)
		if !slices.Equal(got, tt.want) {
			t.Errorf("Split(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
}

func TestWords(t *testing.T) {
	tests := []struct {
		cmd  string
		want []string
	}{
		{"reboot", []string{"reboot"}},
		{"'re'boot", []string{"reboot"}},
		{`r\eboot`, []string{"reboot"}},
		{`"reboot"`, []string{"reboot"}},
		{`r""eboot`, []string{"reboot"}},
		{`$'\x72eboot'`, []string{"reboot"}},
		{`$'\162eboot'`, []string{"reboot"}},
		{`$'it\'s'`, []string{"it's"}},
		{`echo "a b"  c`, []string{"echo", "a b", "c"}},
		{`echo "a\"b"`, []string{"echo", `a"b`}},
		{`echo "a\nb"`, []string{"echo", `a\nb`}},
		{`echo ''`, []string{"echo", ""}},
		{`echo $(a b) c`, []string{"echo", "$(a b)", "c"}},
		{"echo `a b` c", []string{"echo", "`a b`", "c"}},
		{`ls >out 2>>err`, []string{"ls", ">", "out", "2>>", "err"}},
		{`ls # comment`, []string{"ls"}},
		{`echo a#b`, []string{"echo", "a#b"}},
		{`echo 'open`, []string{"echo", "open"}},
		{`FOO=1 reboot`, []string{"FOO=1", "reboot"}},
		{"a\tb", []string{"a", "b"}},
	}
	for _, tt := range tests {
		if got := Words(tt.cmd); !slices.Equal(got, tt.want) {
			t.Errorf("Words(%q) = %q, want %q", tt.cmd, got, tt.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		cmd  string
		want string
	}{
		{"sudo reboot", "reboot"},
		{"sudo -u root reboot", "reboot"},
		{"sudo -uroot -E reboot", "reboot"},
		{"sudo --user=root reboot", "reboot"},
		{"sudo -- reboot -f", "reboot -f"},
		{"env FOO=1 reboot", "reboot"},
		{"env -i -u HOME FOO=1 reboot", "reboot"},
		{"env -S 'reboot -f'", "reboot -f"},
		{"FOO=1 BAR=2 reboot", "reboot"},
		{"nohup reboot &", "reboot"},
		{"exec reboot", "exec reboot"[5:]},
		{"command reboot", "reboot"},
		{"builtin echo x", "echo x"},
		{"time reboot", "reboot"},
		{"nice -n 10 reboot", "reboot"},
		{"timeout 10 reboot", "reboot"},
		{"timeout -s KILL 10s reboot", "reboot"},
		{"xargs -n1 reboot", "reboot"},
		{"xargs -I {} reboot {}", "reboot {}"},
		{"stdbuf -oL reboot", "reboot"},
		{"ionice -c 3 reboot", "reboot"},
		{"chroot /mnt reboot", "reboot"},
		{"doas -u root reboot", "reboot"},
		{"sudo nohup nice -n 5 env A=1 /sbin/reboot", "/sbin/reboot"},
		{"! reboot", "reboot"},
		{"{ reboot", "reboot"},
		{"then reboot", "reboot"},
		{"reboot >/dev/null 2>&1", "reboot"},
		{">/tmp/x reboot", "reboot"},
		{"sudo -i", "sudo -i"},
		{"echo reboot", "echo reboot"},
	}
	for _, tt := range tests {
		if got := strings.Join(Normalize(tt.cmd), " "); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.cmd, got, tt.want)
		}
	}
}

func TestEvaluate(t *testing.T) {
	rules := []Rule{
		{ID: 1, Name: "no-reboot", Action: Deny, Priority: 50, Commands: []string{"reboot"}},
		{ID: 2, Name: "no-rm-root", Action: Deny, Priority: 50, Commands: []string{"rm -rf /"}},
		{ID: 3, Name: "shutdown-re", Action: Review, Priority: 50, Regex: regexp.MustCompile(`^shutdown( |$)`)},
		{ID: 4, Name: "watch-curl", Action: Warn, Priority: 60, Commands: []string{"curl"}},
		{ID: 5, Name: "admin-reboot-ok", Action: Allow, Priority: 10, Regex: regexp.MustCompile(`^reboot --dry-run$`)},
		{ID: 6, Name: "no-mkfs", Action: Deny, Priority: 50, Regex: regexp.MustCompile(`^mkfs(\.\w+)?\b`)},
	}
	tests := []struct {
		line string
		want Action
		rule string
	}{
		{"reboot", Deny, "no-reboot"},
		{"ls", Allow, ""},
		{"", Allow, ""},
		{"ls; reboot", Deny, "no-reboot"},
		{"true && reboot", Deny, "no-reboot"},
		{"false || reboot", Deny, "no-reboot"},
		{"echo x | sudo reboot", Deny, "no-reboot"},
		{"$(reboot)", Deny, "no-reboot"},
		{"echo `reboot`", Deny, "no-reboot"},
		{"sudo reboot", Deny, "no-reboot"},
		{"sudo /sbin/reboot", Deny, "no-reboot"},
		{"sudo -u root reboot", Deny, "no-reboot"},
		{"/sbin/reboot", Deny, "no-reboot"},
		{"env FOO=1 reboot", Deny, "no-reboot"},
		{"nohup reboot", Deny, "no-reboot"},
		{"exec reboot", Deny, "no-reboot"},
		{"command reboot", Deny, "no-reboot"},
		{"builtin reboot", Deny, "no-reboot"},
		{"echo reboot | xargs -n1 sudo", Deny, "no-reboot"},
		{"'re'boot", Deny, "no-reboot"},
		{`r\eboot`, Deny, "no-reboot"},
		{`"reboot"`, Deny, "no-reboot"},
		{"bash -c 'reboot'", Deny, "no-reboot"},
		{`sh -c "sleep 1; /sbin/reboot"`, Deny, "no-reboot"},
		{"cat rebooted.txt", Allow, ""},
		{"rebooted", Allow, ""},
		{"ls reboot.sh", Allow, ""},
		{"echo reboot", Deny, "no-reboot"},
		{"ls # reboot", Allow, ""},
		{"echo 'reboot; now'", Allow, ""},
		{"reboot --dry-run", Allow, "admin-reboot-ok"},
		{"reboot --dry-run; reboot", Deny, "no-reboot"},
		{"rm -rf /", Deny, "no-rm-root"},
		{"sudo rm -rf /", Deny, "no-rm-root"},
		{"sudo /bin/rm -rf / --no-preserve-root", Deny, "no-rm-root"},
		{"rm -rf /tmp/x", Allow, ""},
		{"rm -rf /*", Allow, ""},
		{"shutdown -h now", Review, "shutdown-re"},
		{"sudo shutdown -h now", Review, "shutdown-re"},
		{"echo shutdown", Allow, ""},
		{"curl example.com", Warn, "watch-curl"},
		{"curl x; shutdown now", Review, "shutdown-re"},
		{"curl x; shutdown now; reboot", Deny, "no-reboot"},
		{"mkfs.ext4 /dev/sda1", Deny, "no-mkfs"},
		{"FOO=1 mkfs /dev/sda", Deny, "no-mkfs"},
		{"ls\nreboot", Deny, "no-reboot"},
		{"alias r=reboot", Deny, "no-reboot"},
		{"r() { reboot; }", Deny, "no-reboot"},
		{"watch -n 1 reboot", Deny, "no-reboot"},
		{"find . -exec reboot \\;", Deny, "no-reboot"},
		{"echo $'\\x72eboot' | sh", Deny, "no-reboot"},
		{"timeout 5 reboot", Deny, "no-reboot"},
		{"(reboot)", Deny, "no-reboot"},
		{"{ reboot; }", Deny, "no-reboot"},
		{"cat <(reboot)", Deny, "no-reboot"},
		{"systemctl reboot", Deny, "no-reboot"},
	}
	rs := NewRuleSet(rules)
	for _, tt := range tests {
		v := rs.Evaluate(tt.line)
		name := ""
		if v.Rule != nil {
			name = v.Rule.Name
		}
		if v.Action != tt.want || name != tt.rule {
			t.Errorf("Evaluate(%q) = %v by %q (sub %q), want %v by %q", tt.line, v.Action, name, v.SubCommand, tt.want, tt.rule)
		}
		if v.Action == Deny && !strings.Contains(v.Message, "denied by filter") {
			t.Errorf("Evaluate(%q) message %q", tt.line, v.Message)
		}
	}
}

func TestPriorityOrder(t *testing.T) {
	rules := []Rule{
		{ID: 2, Name: "deny-all", Action: Deny, Priority: 50, Regex: regexp.MustCompile(`.`)},
		{ID: 9, Name: "allow-ls-late", Action: Allow, Priority: 10, Commands: []string{"ls"}},
		{ID: 1, Name: "allow-ls", Action: Allow, Priority: 10, Commands: []string{"ls"}},
	}
	v := Evaluate(rules, "ls -l")
	if v.Action != Allow || v.Rule.Name != "allow-ls" {
		t.Fatalf("got %v by %v", v.Action, v.Rule)
	}
	if v := Evaluate(rules, "ls; id"); v.Action != Deny || v.SubCommand != "id" {
		t.Fatalf("got %v on %q", v.Action, v.SubCommand)
	}
	if v := Evaluate(nil, "reboot"); v.Action != Allow || v.Matched() {
		t.Fatalf("no rules: %+v", v)
	}
	vs := EvaluateLines(rules[1:], "ls\n\nid\n")
	if len(vs) != 2 || vs[0].Action != Allow || vs[1].Matched() {
		t.Fatalf("EvaluateLines: %+v", vs)
	}
	if w := Worst(vs...); w.Rule == nil || w.Rule.Name != "allow-ls" {
		t.Fatalf("Worst: %+v", w)
	}
}

func TestParseAction(t *testing.T) {
	for _, a := range []Action{Allow, Warn, Review, Deny} {
		got, err := ParseAction(a.String())
		if err != nil || got != a {
			t.Errorf("ParseAction(%q) = %v, %v", a, got, err)
		}
	}
	if _, err := ParseAction("block"); err == nil {
		t.Error("ParseAction(block) did not fail")
	}
	if _, err := CompilePattern("("); err == nil {
		t.Error("CompilePattern did not fail")
	}
}

// TestAllowCommandPosition: an allow rule's --command names the program in
// command position only; deny, warn and review still match any word.
func TestAllowCommandPosition(t *testing.T) {
	rules := []Rule{
		{ID: 1, Name: "ops-may-reboot", Action: Allow, Priority: 1, Commands: []string{"reboot"}},
		{ID: 2, Name: "may-ls", Action: Allow, Priority: 1, Commands: []string{"ls"}},
		{ID: 3, Name: "may-status", Action: Allow, Priority: 1, Commands: []string{"systemctl status"}},
		{ID: 4, Name: "no-rm-root", Action: Deny, Priority: 5, Commands: []string{"rm -rf /"}},
		{ID: 5, Name: "no-touch", Action: Deny, Priority: 50, Commands: []string{"touch"}},
		{ID: 6, Name: "no-systemctl", Action: Deny, Priority: 50, Commands: []string{"systemctl"}},
		{ID: 7, Name: "no-reboot", Action: Deny, Priority: 50, Commands: []string{"reboot"}},
	}
	tests := []struct {
		line string
		want Action
		rule string
	}{
		{"touch /tmp/x ls", Deny, "no-touch"},
		{"rm -rf / reboot", Deny, "no-rm-root"},
		{"echo ls; touch x", Deny, "no-touch"},
		{"touch ls", Deny, "no-touch"},
		{"ls -l", Allow, "may-ls"},
		{"sudo /bin/ls /root", Allow, "may-ls"},
		{"env A=1 ls", Allow, "may-ls"},
		{"reboot", Allow, "ops-may-reboot"},
		{"sudo -u root /sbin/reboot -f", Allow, "ops-may-reboot"},
		{"systemctl status nginx", Allow, "may-status"},
		{"systemctl stop nginx status", Deny, "no-systemctl"},
		{"systemctl reboot", Deny, "no-systemctl"},
		{"echo reboot", Deny, "no-reboot"},
	}
	rs := NewRuleSet(rules)
	for _, tt := range tests {
		v := rs.Evaluate(tt.line)
		name := ""
		if v.Rule != nil {
			name = v.Rule.Name
		}
		if v.Action != tt.want || name != tt.rule {
			t.Errorf("Evaluate(%q) = %v by %q (sub %q), want %v by %q", tt.line, v.Action, name, v.SubCommand, tt.want, tt.rule)
		}
	}
}

// TestSuClusters: the commands given to su, runuser and sudo -s are looked
// into, also when the -c sits in a cluster of short options.
func TestSuClusters(t *testing.T) {
	rs := NewRuleSet([]Rule{{ID: 1, Name: "no-shutdown", Action: Deny, Priority: 50, Commands: []string{"shutdown"}}})
	deny := []string{
		"su -lc 'shutdown now'",
		"su -c 'shutdown now'",
		"su -c'shutdown now'",
		"su - root -c 'shutdown now'",
		"su --command='shutdown now'",
		"su --command 'shutdown now'",
		"su --session-command 'shutdown now'",
		"su -s /bin/bash -lc 'shutdown now'",
		"su -mc 'true; shutdown now' root",
		"sudo su -lc 'shutdown now'",
		"runuser -l alice -c 'shutdown now'",
		"runuser -u alice -- sh -c 'shutdown now'",
		"runuser -mc 'shutdown now' alice",
		"sudo -s 'shutdown now'",
		"sudo -sE 'shutdown now'",
		"sudo -iu root 'shutdown now'",
		"sudo --login 'shutdown now'",
	}
	for _, l := range deny {
		if v := rs.Evaluate(l); v.Action != Deny {
			t.Errorf("Evaluate(%q) = %v (split %q), want deny", l, v.Action, Split(l))
		}
	}
	allow := []string{"su -s /bin/shutdown-not alice", "su -lc 'uptime'", "sudo -s 'echo hi'"}
	for _, l := range allow {
		if v := rs.Evaluate(l); v.Action != Allow {
			t.Errorf("Evaluate(%q) = %v by %v, want allow", l, v.Action, v.SubCommand)
		}
	}
}

// TestSplitNestedSuQuick: nested su and sudo -s cost one pass per level.
func TestSplitNestedSuQuick(t *testing.T) {
	for _, s := range []string{
		strings.Repeat("sudo -s ", 200) + "reboot",
		strings.Repeat("su -c su -c ", 100) + "reboot",
		strings.Repeat("sudo su -lc ", 100) + "reboot",
	} {
		start := time.Now()
		cmds := Split(s)
		if d := time.Since(start); d > time.Second || len(cmds) > 100 {
			t.Errorf("Split of %d bytes: %d commands in %v", len(s), len(cmds), d)
		}
	}
}
