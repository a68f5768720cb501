package transfer

import (
	"slices"
	"strings"
	"testing"
)

func TestParseExecTransfer(t *testing.T) {
	tests := []struct {
		cmd     string
		ok      bool
		tool    string
		op      string
		actions string
		paths   string
	}{
		{"rsync --server -vlogDtpre.iLsfxCIvu . /tmp/x", true, "rsync", OpUpload, "upload", "/tmp/x"},
		{"rsync --server --sender -vlogDtpre.iLsfxCIvu . /tmp/x", true, "rsync", OpDownload, "download", "/tmp/x"},
		{"rsync --server -vlogDtpre.iLsfxCIvu --delete . /tmp/x/", true, "rsync", OpUpload, "upload,delete", "/tmp/x/"},
		{"rsync --server --sender -e.LsfxCIvu --remove-source-files . dir/", true, "rsync", OpDownload, "download,delete", "dir/"},
		{`rsync --server --sender -vre.iLsfxCIvu . my\ file 'other file'`, true, "rsync", OpDownload, "download", "my file|other file"},
		{"/usr/bin/rsync --server -re.iLsfxCIvu . /srv/*.log", true, "rsync", OpUpload, "upload", "/srv/*.log"},
		{"rsync --server --daemon --config=/tmp/c .", false, "", "", "", ""},
		{"rsync --server --sender --log-file=/tmp/l . x", false, "", "", "", ""},
		{"rsync --server --sender --write-batch=/tmp/b . x", false, "", "", "", ""},
		{"rsync --server . x; rm -rf /", false, "", "", "", ""},
		{"rsync --server . x && id", false, "", "", "", ""},
		{"rsync --server . $(id)", false, "", "", "", ""},
		{"rsync --server . `id`", false, "", "", "", ""},
		{"rsync --server . \"$HOME\"", false, "", "", "", ""},
		{"rsync --server . x > /etc/passwd", false, "", "", "", ""},
		{"rsync --server . x\nid", false, "", "", "", ""},
		{"rsync --server . x | sh", false, "", "", "", ""},
		{"rsync --server -e.x", false, "", "", "", ""},
		{"/tmp/rsync --server . x", false, "", "", "", ""},
		{"rsync --version", false, "", "", "", ""},
		{"rsync --server . 'x", false, "", "", "", ""},
		{"rsync --server . x\\", false, "", "", "", ""},
		{"scp -t /tmp/", true, "scp", OpUpload, "upload", "/tmp/"},
		{"scp -r -t -- /tmp/dir", true, "scp", OpUpload, "upload", "/tmp/dir"},
		{"scp -f -- /etc/hostname", true, "scp", OpDownload, "download", "/etc/hostname"},
		{"scp -pf a b", true, "scp", OpDownload, "download", "a|b"},
		{"scp -tf x", false, "", "", "", ""},
		{"scp -t", false, "", "", "", ""},
		{"scp -S /tmp/evil -t x", false, "", "", "", ""},
		{"scp -t x; id", false, "", "", "", ""},
		{"scp /a /b", false, "", "", "", ""},
		{"ls -l", false, "", "", "", ""},
		{"", false, "", "", "", ""},
	}
	for _, tt := range tests {
		x, ok := ParseExecTransfer(tt.cmd)
		if ok != tt.ok {
			t.Errorf("%q: ok %v, want %v (%+v)", tt.cmd, ok, tt.ok, x)
			continue
		}
		if !ok {
			continue
		}
		if x.Tool != tt.tool || x.Op != tt.op || strings.Join(x.Actions, ",") != tt.actions || strings.Join(x.Paths, "|") != tt.paths {
			t.Errorf("%q: %+v, want %s %s %s %s", tt.cmd, x, tt.tool, tt.op, tt.actions, tt.paths)
		}
	}
}

// FuzzShellWords checks that a command taken as plain words holds none
// of the characters a shell would act on outside quotes.
func FuzzShellWords(f *testing.F) {
	for _, s := range []string{"rsync --server . x", `a\ b 'c d'`, "x;y", "'", `\`, "a$b", "a'$(id)'b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cmd string) {
		words, ok := shellWords(cmd)
		if !ok {
			return
		}
		// Outside single quotes and escapes, only plain runes and blanks.
		inQuote, esc := false, false
		for _, r := range cmd {
			switch {
			case esc:
				esc = false
			case inQuote:
				inQuote = r != '\''
			case r == '\\':
				esc = true
			case r == '\'':
				inQuote = true
			case r == ' ' || r == '\t' || isPlainRune(r):
			default:
				t.Fatalf("%q accepted with %q outside quotes", cmd, r)
			}
		}
		if inQuote || esc {
			t.Fatalf("%q accepted with an open quote or escape", cmd)
		}
		_ = slices.Clone(words)
	})
}

func TestExecEvent(t *testing.T) {
	up := ExecTransfer{Tool: "scp", Op: OpUpload, Paths: []string{"/tmp/a", "/tmp/b"}}
	down := ExecTransfer{Tool: "rsync", Op: OpDownload, Paths: []string{"/srv"}}
	c := &Counter{}
	c.in.Store(10)
	c.out.Store(20)
	tests := []struct {
		name    string
		x       ExecTransfer
		r       ExecRun
		session string
		result  string
		size    int64
		detail  string
	}{
		{"upload ran", up, ExecRun{SessionID: "s1", User: "alice", Bytes: c}, "s1", ResultOK, 10, "scp (size: protocol bytes)"},
		{"download ran", down, ExecRun{SessionID: "s2", User: "alice", Bytes: c}, "s2", ResultOK, 20, "rsync (size: protocol bytes)"},
		{"failed", down, ExecRun{SessionID: "s3", User: "alice", Bytes: c, Exit: 23}, "s3", ResultFailed, 20, "rsync: exit status 23"},
		{"refused before a session", up, ExecRun{User: "alice", Denied: "needs upload"}, "", ResultDenied, 0, "scp: needs upload"},
		{"killed", down, ExecRun{SessionID: "s4", Bytes: c, Exit: 255, Ended: "killed by os:root: disk full"}, "s4", ResultFailed, 20,
			"rsync: killed by os:root: disk full"},
	}
	for _, tt := range tests {
		e := execEvent(tt.x, tt.r)
		if e.SessionID != tt.session || e.Result != tt.result || e.Size != tt.size || e.Detail != tt.detail || e.Operation != tt.x.Op {
			t.Errorf("%s: %+v", tt.name, e)
		}
	}
	if e := execEvent(up, ExecRun{}); e.Path != "/tmp/a /tmp/b" {
		t.Errorf("path %q", e.Path)
	}
}
