package automation

import (
	"bufio"
	"strings"

	"github.com/jms-bastion/jms/store"
)

// OS families with a command set.
const (
	FamilyDebian = "debian" // Debian, Ubuntu and derivatives
	FamilyRHEL   = "rhel"   // RHEL, CentOS, Rocky, Alma, Fedora, Oracle, Amazon Linux
)

// parseOSRelease reads /etc/os-release (KEY=value, values maybe quoted).
func parseOSRelease(text string) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		out[k] = strings.ReplaceAll(v, `\"`, `"`)
	}
	return out
}

// osFamily maps an os-release's ID and ID_LIKE to a family, or "".
func osFamily(id, idLike string) string {
	for _, w := range append([]string{id}, strings.Fields(idLike)...) {
		switch strings.ToLower(w) {
		case "debian", "ubuntu":
			return FamilyDebian
		case "rhel", "centos", "fedora", "rocky", "almalinux", "ol", "amzn":
			return FamilyRHEL
		}
	}
	return ""
}

// factsFrom makes an asset's facts from what it answered.
func factsFrom(osRelease, arch, hostname string) store.AssetFacts {
	kv := parseOSRelease(osRelease)
	return store.AssetFacts{
		OSID:      printableWord(kv["ID"]),
		OSFamily:  osFamily(kv["ID"], kv["ID_LIKE"]),
		OSVersion: printableWord(kv["VERSION_ID"]),
		Arch:      printableWord(strings.TrimSpace(arch)),
		Hostname:  printableWord(strings.TrimSpace(hostname)),
	}
}

// printableWord keeps what an asset says to one short printable word, so
// that a hostile asset cannot put escapes into a listing.
func printableWord(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 64 {
			break
		}
		if r > ' ' && r < 0x7f {
			b.WriteRune(r)
		}
	}
	return b.String()
}
