package mysqlproxy

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Capability flags.
const (
	capLongPassword       = 1 << 0
	capFoundRows          = 1 << 1
	capLongFlag           = 1 << 2
	capConnectWithDB      = 1 << 3
	capNoSchema           = 1 << 4
	capODBC               = 1 << 6
	capIgnoreSpace        = 1 << 8
	capProtocol41         = 1 << 9
	capInteractive        = 1 << 10
	capSSL                = 1 << 11
	capIgnoreSigpipe      = 1 << 12
	capTransactions       = 1 << 13
	capReserved           = 1 << 14
	capSecureConnection   = 1 << 15
	capMultiStatements    = 1 << 16
	capMultiResults       = 1 << 17
	capPSMultiResults     = 1 << 18
	capPluginAuth         = 1 << 19
	capConnectAttrs       = 1 << 20
	capPluginAuthLenenc   = 1 << 21
	capSessionTrack       = 1 << 23
	capDeprecateEOF       = 1 << 24
	capOptionalMetadata   = 1 << 25
	capQueryAttributes    = 1 << 27
	capRequiredForProxy   = capProtocol41 | capSecureConnection
	defaultMaxPacket      = 1 << 24
	nativePassword        = "mysql_native_password"
	cachingSHA2Password   = "caching_sha2_password"
	clearPassword         = "mysql_clear_password"
	handshakeProtocolV10  = 10
	serverStatusMoreRes   = 0x0008
	serverStatusCursor    = 0x0040
	serverStatusAutocommt = 0x0002
)

// offered are the capabilities the proxy lets a client and the server
// agree on: compression, LOCAL INFILE, query attributes, optional metadata
// and the OK-for-EOF change are left out, so that every response keeps the
// shape the proxy reads; TLS is the bastion's own business with the server.
const offered = capLongPassword | capFoundRows | capLongFlag | capConnectWithDB | capNoSchema |
	capODBC | capIgnoreSpace | capProtocol41 | capInteractive | capIgnoreSigpipe | capTransactions |
	capReserved | capSecureConnection | capMultiStatements | capMultiResults | capPSMultiResults |
	capPluginAuth | capConnectAttrs | capPluginAuthLenenc | capSessionTrack

// serverHandshake is the server's Initial Handshake (protocol 10).
type serverHandshake struct {
	version  string
	connID   uint32
	caps     uint32
	charset  byte
	status   uint16
	scramble []byte // 20 bytes
	plugin   string
}

func parseServerHandshake(b []byte) (*serverHandshake, error) {
	if len(b) > 0 && b[0] == 0xff {
		return nil, errors.New(errPacketText(b))
	}
	r := &reader{b: b}
	if v := r.byte1(); v != handshakeProtocolV10 {
		return nil, fmt.Errorf("the server speaks handshake protocol %d, not 10", v)
	}
	h := &serverHandshake{version: r.nulString(), connID: r.uint32()}
	h.scramble = append([]byte(nil), r.take(8)...)
	r.take(1)
	h.caps = uint32(r.uint16())
	if len(r.b) > 0 {
		h.charset = r.byte1()
		h.status = r.uint16()
		h.caps |= uint32(r.uint16()) << 16
		authLen := int(r.byte1())
		r.take(10)
		if h.caps&capSecureConnection != 0 {
			n := max(13, authLen-8)
			part := r.take(n)
			if len(part) > 0 && part[len(part)-1] == 0 {
				part = part[:len(part)-1]
			}
			h.scramble = append(h.scramble, part...)
		}
		if h.caps&capPluginAuth != 0 {
			h.plugin = r.nulString()
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("the server's handshake: %w", r.err)
	}
	if h.plugin == "" {
		h.plugin = nativePassword
	}
	return h, nil
}

// encode writes the handshake the proxy shows the client: the server's
// version, connection id, charset and status, the offered capabilities and
// the proxy's own scramble.
func (h *serverHandshake) encode() []byte {
	b := []byte{handshakeProtocolV10}
	b = append(append(b, h.version...), 0)
	b = binary.LittleEndian.AppendUint32(b, h.connID)
	b = append(append(b, h.scramble[:8]...), 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(h.caps))
	b = append(b, h.charset)
	b = binary.LittleEndian.AppendUint16(b, h.status)
	b = binary.LittleEndian.AppendUint16(b, uint16(h.caps>>16))
	b = append(b, byte(len(h.scramble)+1))
	b = append(b, make([]byte, 10)...)
	b = append(append(b, h.scramble[8:]...), 0)
	return append(append(b, h.plugin...), 0)
}

// clientResponse is a HandshakeResponse41.
type clientResponse struct {
	caps      uint32
	maxPacket uint32
	charset   byte
	user      string
	auth      []byte
	database  string
	plugin    string
	attrs     []byte // the connection attributes, length-encoded block as sent
}

func parseClientResponse(b []byte) (*clientResponse, error) {
	r := &reader{b: b}
	c := &clientResponse{caps: r.uint32(), maxPacket: r.uint32(), charset: r.byte1()}
	r.take(23)
	if r.err != nil {
		return nil, fmt.Errorf("the client's handshake response: %w", r.err)
	}
	if c.caps&capProtocol41 == 0 {
		return nil, errors.New("the client does not speak protocol 4.1")
	}
	if c.caps&capSSL != 0 && len(r.b) == 0 {
		return nil, errors.New("the client asked for TLS, which the bastion does not offer here")
	}
	c.user = r.nulString()
	switch {
	case c.caps&capPluginAuthLenenc != 0:
		c.auth = r.lenencBytes()
	case c.caps&capSecureConnection != 0:
		c.auth = r.take(int(r.byte1()))
	default:
		c.auth = []byte(r.nulString())
	}
	if c.caps&capConnectWithDB != 0 && len(r.b) > 0 {
		c.database = r.nulString()
	}
	if c.caps&capPluginAuth != 0 && len(r.b) > 0 {
		c.plugin = r.nulString()
	}
	if c.caps&capConnectAttrs != 0 && len(r.b) > 0 {
		start := r.b
		n := r.lenenc()
		if n <= uint64(len(r.b)) {
			r.take(int(n))
			c.attrs = start[:len(start)-len(r.b)]
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("the client's handshake response: %w", r.err)
	}
	return c, nil
}

// encode writes the response the proxy sends the server for the account.
func (c *clientResponse) encode() []byte {
	b := binary.LittleEndian.AppendUint32(nil, c.caps)
	b = binary.LittleEndian.AppendUint32(b, c.maxPacket)
	b = append(b, c.charset)
	b = append(b, make([]byte, 23)...)
	b = append(append(b, c.user...), 0)
	b = append(appendLenenc(b, uint64(len(c.auth))), c.auth...)
	if c.caps&capConnectWithDB != 0 {
		b = append(append(b, c.database...), 0)
	}
	b = append(append(b, c.plugin...), 0)
	if c.caps&capConnectAttrs != 0 {
		if c.attrs == nil {
			return append(b, 0)
		}
		b = append(b, c.attrs...)
	}
	return b
}

// sslRequest is the short response that asks the server for TLS.
func sslRequest(caps, maxPacket uint32, charset byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, caps|capSSL)
	b = binary.LittleEndian.AppendUint32(b, maxPacket)
	b = append(b, charset)
	return append(b, make([]byte, 23)...)
}

// errPacket builds an ERR packet.
func errPacket(code uint16, state, msg string) []byte {
	b := []byte{0xff}
	b = binary.LittleEndian.AppendUint16(b, code)
	b = append(b, '#')
	b = append(b, (state + "HY000")[:5]...)
	return append(b, msg...)
}

// errPacketText words an ERR packet as the mysql client does.
func errPacketText(b []byte) string {
	r := &reader{b: b}
	r.byte1()
	code := r.uint16()
	if len(r.b) > 6 && r.b[0] == '#' {
		state := string(r.b[1:6])
		return fmt.Sprintf("ERROR %d (%s): %s", code, state, r.b[6:])
	}
	return fmt.Sprintf("ERROR %d: %s", code, r.b)
}

// okStatus reads the status flags of an OK packet; EOF packets carry them
// after the warnings.
func okStatus(b []byte) uint16 {
	r := &reader{b: b}
	if r.byte1() == 0xfe && len(b) < 9 {
		r.uint16()
		return r.uint16()
	}
	r.lenenc()
	r.lenenc()
	return r.uint16()
}

// okAffected reads the affected-rows count of an OK packet.
func okAffected(b []byte) int64 {
	if len(b) < 2 {
		return 0
	}
	r := &reader{b: b[1:]}
	return int64(r.lenenc())
}
