package automation

import (
	"strings"
	"testing"
)

func TestParseProbe(t *testing.T) {
	m := "jms-0011"
	out := "\n" + m + " passwd\ndeploy:x:1001:1001::/home/deploy:/bin/bash\n\n" + m + " rc 0\n" +
		"\n" + m + " sudoers\n# managed\ndeploy ALL=(ALL:ALL) NOPASSWD: ALL\n\n" + m + " rc 0\n" +
		"\n" + m + " keys\nssh-ed25519 AAAA jms-managed\n" + m + "x not a marker\n\n" + m + " rc 0\n" +
		"\n" + m + " home\n\n" + m + " rc 1\n" +
		"\n" + m + " end\n"
	secs, ok := parseProbe(out, m)
	if !ok || len(secs) != 4 {
		t.Fatalf("sections %+v ok %v", secs, ok)
	}
	if secs[1].text != "# managed\ndeploy ALL=(ALL:ALL) NOPASSWD: ALL\n" {
		t.Errorf("sudoers %q", secs[1].text)
	}
	if secs[2].text != "ssh-ed25519 AAAA jms-managed\n"+m+"x not a marker\n" {
		t.Errorf("keys %q", secs[2].text)
	}
	if secs[3].name != "home" || secs[3].rc != 1 || secs[3].text != "" {
		t.Errorf("home %+v", secs[3])
	}
	if _, ok := parseProbe(strings.TrimSuffix(out, m+" end\n"), m); ok {
		t.Error("a cut output was taken as whole")
	}
}

func FuzzParseProbe(f *testing.F) {
	f.Add("\nM passwd\nx:x:1:1::/h:/s\n\nM rc 0\n\nM end\n", "A\nB")
	f.Fuzz(func(t *testing.T, out, file string) {
		_, _ = parseProbe(out, "M")
		// A file's content comes back as it was, whatever it holds.
		whole := "\nM keys\n" + file + "\nM rc 0\n\nM end\n"
		if strings.Contains(file, "M ") {
			return // the marker is random in use: a file cannot hold it
		}
		secs, ok := parseProbe(whole, "M")
		if !ok || len(secs) != 1 || secs[0].text != file {
			t.Fatalf("file %q read back as %+v (ok %v)", file, secs, ok)
		}
	})
}
