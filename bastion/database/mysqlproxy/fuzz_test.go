package mysqlproxy

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/jms-bastion/jms/bastion/database"
)

// FuzzPackets: the packet reader and every parser of untrusted packets
// (the server's handshake, the client's login, OK/EOF/ERR fields) never
// panic, and a parsed handshake encodes back into one that parses the same.
func FuzzPackets(f *testing.F) {
	h := &serverHandshake{version: "10.11.19-MariaDB", connID: 7, caps: offered, charset: 45, status: 2,
		scramble: []byte("abcdefghijklmnopqrst"), plugin: nativePassword}
	f.Add(h.encode())
	f.Add((&clientResponse{caps: offered | capConnectWithDB | capConnectAttrs, maxPacket: 1 << 24, charset: 45,
		user: "alice", auth: []byte("xyz"), database: "db", plugin: nativePassword, attrs: []byte{3, 1, 'a', 0}}).encode())
	f.Add(errPacket(1045, "28000", "Access denied"))
	f.Add([]byte{0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00})
	f.Add([]byte{0xfe, 0x00, 0x00, 0x08, 0x00})
	f.Add([]byte{0xff, 0xff, 0xff, 0x00, 0x03})
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &conn{r: bufio.NewReader(bytes.NewReader(data))}
		for {
			if _, err := c.readPacket(); err != nil {
				break
			}
		}
		if sh, err := parseServerHandshake(data); err == nil && len(sh.scramble) >= 8 {
			again, err := parseServerHandshake(sh.encode())
			if err != nil || again.version != sh.version || again.connID != sh.connID {
				t.Fatalf("handshake round trip: %v %+v %+v", err, sh, again)
			}
		}
		if cr, err := parseClientResponse(data); err == nil {
			_ = cr.encode()
		}
		_ = okStatus(data)
		_ = okAffected(data)
		_ = errPacketText(data)
		_ = isEOF(data)
	})
}

// FuzzResponses feeds arbitrary server bytes to the response relay: no
// panic, and it stops at the first malformed packet.
func FuzzResponses(f *testing.F) {
	f.Add([]byte("\x01\x00\x00\x01\x01\x05\x00\x00\x02\x03def\x05\x00\x00\x03\xfe\x00\x00\x02\x00\x02\x00\x00\x04\x011\x05\x00\x00\x05\xfe\x00\x00\x02\x00"), false)
	f.Add([]byte("\x07\x00\x00\x01\x00\x01\x00\x02\x00\x00\x00"), true)
	f.Add([]byte("\x0c\x00\x00\x01\x00\x01\x00\x00\x00\x01\x00\x01\x00\x00\x00\x00"), false)
	f.Fuzz(func(t *testing.T, data []byte, binaryRows bool) {
		p := &Proxy{}
		p.defaults()
		var out bytes.Buffer
		ss := newSession(p, &conn{r: bufio.NewReader(bytes.NewReader(nil)), w: bufio.NewWriter(&out)},
			&server{c: &conn{r: bufio.NewReader(bytes.NewReader(data)), w: bufio.NewWriter(&out)}}, offered)
		_ = ss.relayResults(nil, binaryRows)
		_ = ss.relayPrepare("SELECT 1", database.Verdict{})
		_, _ = ss.relayRows()
	})
}
