package pgproxy

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// Limits on what a peer may make the proxy read.
const (
	maxStartup = 10000   // bytes of a startup packet (PostgreSQL's own limit)
	maxMessage = 1 << 28 // bytes of a regular message (256 MiB)
)

// readFrame reads one regular message (type byte, length, payload) into
// buf, returning the whole frame as it arrived so that it can be forwarded
// untouched.
func readFrame(r *bufio.Reader, buf []byte) ([]byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n < 4 || n > maxMessage {
		return nil, fmt.Errorf("message %q of length %d is malformed", hdr[0], n)
	}
	total := 1 + int(n)
	if cap(buf) < total {
		buf = make([]byte, total)
	}
	buf = buf[:total]
	copy(buf, hdr[:])
	if _, err := io.ReadFull(r, buf[5:]); err != nil {
		return nil, err
	}
	return buf, nil
}

// readStartup reads a startup-phase packet (length, then code and
// payload); it returns the packet without its length.
func readStartup(r *bufio.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n < 8 || n > maxStartup {
		return nil, fmt.Errorf("startup packet of length %d is malformed", n)
	}
	body := make([]byte, n-4)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	return body, nil
}
