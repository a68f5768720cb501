package transfer

import (
	"path"
	"strings"
)

// splitVirtual maps a path of the virtual root to the folder it names
// and the path on the asset behind that folder.
//
// The path is cleaned first as an absolute path, so that ".." never
// climbs above the root: "/web1/../web2/x" is "/web2/x" and names web2
// (which is then authorized as web2), and "/web1/../../etc" is "/etc",
// the folder "etc". folder is "" for the root itself; rest is always an
// absolute, clean path ("/" for the folder itself).
func splitVirtual(p string) (folder, rest string) {
	p = cleanAbs(p)
	if p == "/" {
		return "", "/"
	}
	p = p[1:]
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i], p[i:]
	}
	return p, "/"
}

// cleanAbs cleans p as an absolute path: relative paths are taken from
// the root, and ".." stops there.
func cleanAbs(p string) string {
	return path.Clean("/" + p)
}

// joinVirtual is the inverse of splitVirtual: the virtual path of rest
// (an absolute path on the asset) in folder.
func joinVirtual(folder, rest string) string {
	if folder == "" {
		return "/"
	}
	return path.Join("/", folder, cleanAbs(rest))
}
