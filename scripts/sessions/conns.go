package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// connectionsTo counts the established TCP connections to port on this
// machine (IPv4 and IPv6), from /proc/net/tcp and tcp6: on the bench's
// loopback only the serve connects to the asset's sshd.
func connectionsTo(port int) (int, error) {
	n := 0
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return 0, fmt.Errorf("count the connections to the asset: %w", err)
		}
		for line := range strings.Lines(string(b)) {
			fs := strings.Fields(line)
			// sl local_address rem_address st …; addresses are HEX:PORT.
			if len(fs) < 4 || fs[3] != "01" { // 01: ESTABLISHED
				continue
			}
			_, hexPort, ok := strings.Cut(fs[2], ":")
			if !ok {
				continue
			}
			if p, err := strconv.ParseUint(hexPort, 16, 16); err == nil && int(p) == port {
				n++
			}
		}
	}
	return n, nil
}
