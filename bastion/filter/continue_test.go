package filter

import (
	"strings"
	"testing"
)

func TestIncomplete(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"ls", false},
		{"", false},
		{`tou\`, true},
		{"tou\\\nch /tmp/x", false},
		{`echo \\`, false},
		{`echo '\`, true},
		{`echo 'a\' b`, false},
		{"echo 'a", true},
		{"echo 'a\nb'", false},
		{`echo "a`, true},
		{`echo "a\"`, true},
		{"echo \"a\nb\" c", false},
		{`echo "a \`, true},
		{"echo $'a\\'", true},
		{"echo $'a\\' b'", false},
		{"echo $(ls", true},
		{"echo $(ls\n)", false},
		{"echo `ls", true},
		{"echo `ls`", false},
		{"echo \"$(ls \")\"", true},
		{"echo \"$(ls \")\")\"", false},
		{"(cd /", true},
		{"(cd /\n)", false},
		{"ls |", true},
		{"ls | ", true},
		{"ls &&", true},
		{"ls ||", true},
		{"ls |&", true},
		{"ls | # more\n", true},
		{"ls | # more\nwc", false},
		{"ls | # more", true},
		{"ls >| x", false},
		{"ls &", false},
		{"ls # it's", false},
		{"echo a#'b", true},
		{"cat <<EOF", true},
		{"cat <<EOF\nhello", true},
		{"cat <<EOF\nhello\nEOF", false},
		{"cat <<'EOF'\n$(x\nEOF", false},
		{"cat <<\"E F\"\nx\nE F", false},
		{"cat <<-EOF\n\tx\n\tEOF", false},
		{"cat <<EOF\n\tEOF", true},
		{"cat <<A <<B\nA\nx", true},
		{"cat <<A <<B\nA\nB", false},
		{"cat <<<word", false},
		{"cat <<EOF | sh\nreboot\nEOF", false},
		{"cat <<EOF |\nx\nEOF", true},
		{"cat <<EOF \\\n> out\nx\nEOF", false},
		{"cat <<", false},
		{strings.Repeat("(", 300), true},
	}
	for _, tt := range tests {
		if got := Incomplete(tt.text); got != tt.want {
			t.Errorf("Incomplete(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}

func TestJoiner(t *testing.T) {
	var j Joiner
	steps := []struct {
		line     string
		cmd      string
		complete bool
		held     string
	}{
		{"ls", "ls", true, ""},
		{`tou\`, "", false, `tou\`},
		{"ch /tmp/x", "tou\\\nch /tmp/x", true, ""},
		{"bash <<EOF", "", false, "bash <<EOF"},
		{"touch /tmp/x", "", false, "bash <<EOF\ntouch /tmp/x"},
		{"EOF", "bash <<EOF\ntouch /tmp/x\nEOF", true, ""},
		{"echo 'a", "", false, "echo 'a"},
	}
	for _, s := range steps {
		cmd, complete := j.Add(s.line)
		if cmd != s.cmd || complete != s.complete || j.Held() != s.held {
			t.Fatalf("Add(%q) = %q, %v (held %q), want %q, %v (held %q)", s.line, cmd, complete, j.Held(), s.cmd, s.complete, s.held)
		}
	}
	if j.Size() != len("echo 'a")+1 {
		t.Errorf("Size = %d", j.Size())
	}
	j.Reset()
	if cmd, ok := j.Add("b"); !ok || cmd != "b" {
		t.Errorf("after Reset: Add = %q, %v", cmd, ok)
	}
	// The joined command is what the filter judges.
	rs := NewRuleSet([]Rule{{ID: 1, Name: "no-touch", Action: Deny, Priority: 50, Commands: []string{"touch"}}})
	for _, c := range []string{"tou\\\nch /tmp/x", "bash <<EOF\ntouch /tmp/x\nEOF", "echo 'x\n'; touch /tmp/x"} {
		if v := rs.Evaluate(c); v.Action != Deny {
			t.Errorf("Evaluate(%q) = %v, want deny", c, v.Action)
		}
	}
}
