package transfer

import (
	"path"
	"strings"
	"testing"
)

func TestSplitVirtual(t *testing.T) {
	tests := []struct {
		in, folder, rest string
	}{
		{"", "", "/"},
		{"/", "", "/"},
		{".", "", "/"},
		{"..", "", "/"},
		{"/..", "", "/"},
		{"/../..", "", "/"},
		{"web1", "web1", "/"},
		{"/web1", "web1", "/"},
		{"/web1/", "web1", "/"},
		{"/web1/etc/passwd", "web1", "/etc/passwd"},
		{"/web1/../web2/x", "web2", "/x"},
		{"/web1/../../web2/x", "web2", "/x"},
		{"/web1/a/../../web2/x", "web2", "/x"},
		{"/web1/a/../../../etc", "etc", "/"},
		{"//web1//etc//", "web1", "/etc"},
		{"/web1/./etc/./x/..", "web1", "/etc"},
		{"/web1@root/tmp", "web1@root", "/tmp"},
		{"web1/../../../../", "", "/"},
		{"/web1/..../x", "web1", "/..../x"},
	}
	for _, tt := range tests {
		folder, rest := splitVirtual(tt.in)
		if folder != tt.folder || rest != tt.rest {
			t.Errorf("splitVirtual(%q) = %q, %q; want %q, %q", tt.in, folder, rest, tt.folder, tt.rest)
		}
	}
}

// FuzzVirtualPath checks that the virtual path mapping never yields a
// folder that is not one plain path element, never a path on the asset
// that is not clean and absolute, and that mapping back gives the clean
// path: so no ".." can name a folder other than the one the clean path
// starts with.
func FuzzVirtualPath(f *testing.F) {
	for _, s := range []string{"", "/", "..", "/web1/../web2/x", "/web1/../../etc", "web1", "/a/b/../../..", "/web1@root/x",
		"/web1/\x00/..", "/./.././web1", "////", "/web1/..../"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		folder, rest := splitVirtual(p)
		clean := path.Clean("/" + p)
		if folder == "" {
			if clean != "/" || rest != "/" {
				t.Fatalf("%q: root for clean path %q (rest %q)", p, clean, rest)
			}
			return
		}
		if strings.Contains(folder, "/") || folder == "." || folder == ".." {
			t.Fatalf("%q: folder %q is not one path element", p, folder)
		}
		if !strings.HasPrefix(rest, "/") || path.Clean(rest) != rest {
			t.Fatalf("%q: rest %q is not clean and absolute", p, rest)
		}
		for _, el := range strings.Split(rest, "/") {
			if el == ".." || el == "." {
				t.Fatalf("%q: rest %q climbs", p, rest)
			}
		}
		if !strings.HasPrefix(clean, "/"+folder) {
			t.Fatalf("%q: folder %q is not the first element of %q", p, folder, clean)
		}
		if back := joinVirtual(folder, rest); back != clean {
			t.Fatalf("%q: joinVirtual(%q, %q) = %q, want %q", p, folder, rest, back, clean)
		}
	})
}
