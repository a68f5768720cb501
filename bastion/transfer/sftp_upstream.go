package transfer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Requests towards the asset. pkg/sftp's client sends READ and WRITE
// requests of at most its max packet, 32 KiB unless told, and cannot ask
// a server for its limits. upstreamHandshake does the start of the
// protocol itself before pkg/sftp does: INIT, VERSION and, when the
// asset offers limits@openssh.com (OpenSSH's sftp-server does since
// 8.7), the limits request; it then hands pkg/sftp the recorded VERSION
// as if it were the asset's answer to pkg/sftp's own INIT, which it
// swallows.
//
// The size matters beyond speed: pkg/sftp splits a long ReadAt into
// requests of its max packet, and takes a DATA reply shorter than asked
// as the end of the file. A request larger than the asset answers in
// full would therefore end every read-ahead block, and so the download,
// early. OpenSSH's sftp-server answers a READ of up to its
// max-read-length with one read(2) of the file, whole for a regular file
// short of its end, which is what the limits promise; a server that
// offers no limits gets 32 KiB, as before.
const (
	// upstreamDefaultData is the READ and WRITE size towards an asset
	// that offers no limits: pkg/sftp's default, which every server
	// takes.
	upstreamDefaultData = 32 << 10
	// upstreamMinData is the smallest size taken from an asset's limits;
	// smaller figures are taken as nonsense and 32 KiB is used.
	upstreamMinData = 1 << 10
	// upstreamPacketSlack is what a WRITE request needs beyond its data
	// (type, id, handle, offset, length) within the asset's
	// max-packet-length, with room for any handle: OpenSSH keeps the
	// same margin.
	upstreamPacketSlack = 1 << 10
	// upstreamVersionMax bounds the asset's VERSION packet (OpenSSH's is
	// about 300 bytes); upstreamLimitsMax its reply to the limits
	// request (45 bytes).
	upstreamVersionMax = 64 << 10
	upstreamLimitsMax  = 1 << 10

	fxpInit       = 1
	sftpVersion3  = 3
	limitsReqID   = 1 // the handshake ends before pkg/sftp sends a request
	limitsReplLen = 1 + 4 + 4*8
)

// assetLimits are the figures of an asset's limits@openssh.com reply; 0
// is "no figure".
type assetLimits struct {
	maxPacket, maxRead, maxWrite, maxHandles uint64
}

// dataSize is the READ and WRITE size to use towards an asset with
// limits l: the smaller of its max-read-length and max-write-length, no
// larger than its max-packet-length allows nor than sftpMaxData (the
// DATA reply must fit pkg/sftp's 256 KiB packets), in whole KiB.
func (l assetLimits) dataSize() int {
	if l.maxRead == 0 || l.maxWrite == 0 {
		return upstreamDefaultData
	}
	n := min(l.maxRead, l.maxWrite, sftpMaxData)
	if l.maxPacket != 0 {
		if l.maxPacket <= upstreamPacketSlack {
			return upstreamDefaultData
		}
		n = min(n, l.maxPacket-upstreamPacketSlack)
	}
	n &^= 1<<10 - 1
	if n < upstreamMinData {
		return upstreamDefaultData
	}
	return int(n)
}

// upstreamHandshake starts SFTP on the asset's channel (r the asset's
// output, w its input): INIT, VERSION and, when offered, the limits. It
// returns the VERSION packet (length field onwards) for pkg/sftp and the
// READ and WRITE size to use. The asset's bytes are untrusted: every
// length is bounded and a malformed packet is an error. As OpenSSH's
// client does, a limits request answered with another packet than an
// EXTENDED_REPLY (a STATUS) leaves the default size.
func upstreamHandshake(r io.Reader, w io.Writer) ([]byte, int, error) {
	hello := binary.BigEndian.AppendUint32([]byte{0, 0, 0, 5, fxpInit}, sftpVersion3)
	if _, err := w.Write(hello); err != nil {
		return nil, 0, fmt.Errorf("send INIT to the asset's SFTP server: %w", err)
	}
	version, err := readPacket(r, upstreamVersionMax)
	if err != nil {
		return nil, 0, fmt.Errorf("read the asset's SFTP VERSION: %w", err)
	}
	offered, err := offersLimits(version[4:])
	if err != nil || !offered {
		// pkg/sftp reports what is wrong with a VERSION it cannot use
		// (another protocol version); a malformed one is ours to say.
		return version, upstreamDefaultData, err
	}
	if _, err := w.Write(limitsRequest(limitsReqID)); err != nil {
		return nil, 0, fmt.Errorf("ask the asset's SFTP server for its limits: %w", err)
	}
	reply, err := readPacket(r, upstreamLimitsMax)
	if err != nil {
		return nil, 0, fmt.Errorf("read the asset's SFTP limits: %w", err)
	}
	l, ok, err := parseLimits(reply[4:], limitsReqID)
	if err != nil || !ok {
		return version, upstreamDefaultData, err
	}
	return version, l.dataSize(), nil
}

// readPacket reads one SFTP packet of at most max bytes (without its
// length field) and returns it with its length field.
func readPacket(r io.Reader, max uint32) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, cutErr(err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	switch {
	case n == 0:
		return nil, errors.New("a packet of 0 bytes")
	case n > max:
		return nil, fmt.Errorf("a packet of %d bytes where at most %d are expected", n, max)
	}
	pkt := make([]byte, 4+n)
	copy(pkt, hdr[:])
	if _, err := io.ReadFull(r, pkt[4:]); err != nil {
		return nil, cutErr(err)
	}
	return pkt, nil
}

// cutErr names an end of the stream in the middle of the handshake.
func cutErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("the server closed the channel: %w", io.ErrUnexpectedEOF)
	}
	return err
}

// offersLimits reports whether the VERSION packet pkt (type onwards)
// is protocol version 3 and lists limitsName "1".
func offersLimits(pkt []byte) (bool, error) {
	switch {
	case len(pkt) == 0:
		return false, errors.New("the asset's SFTP server answered INIT with an empty packet")
	case pkt[0] != fxpVersion:
		return false, fmt.Errorf("the asset's SFTP server answered INIT with a packet of type %d, not VERSION", pkt[0])
	case len(pkt) < 5:
		return false, errors.New("the asset's SFTP VERSION is cut short")
	}
	if binary.BigEndian.Uint32(pkt[1:5]) != sftpVersion3 {
		return false, nil
	}
	offered := false
	for ext := pkt[5:]; len(ext) > 0; {
		name, rest, ok := cutString(ext)
		if !ok {
			return false, errors.New("the asset's SFTP VERSION has a malformed extension list")
		}
		data, rest, ok := cutString(rest)
		if !ok {
			return false, errors.New("the asset's SFTP VERSION has a malformed extension list")
		}
		if string(name) == limitsName && string(data) == "1" {
			offered = true
		}
		ext = rest
	}
	return offered, nil
}

// limitsRequest is the EXTENDED request limitsName with id.
func limitsRequest(id uint32) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(limitsReqLen))
	b = append(b, fxpExtended)
	b = binary.BigEndian.AppendUint32(b, id)
	b = binary.BigEndian.AppendUint32(b, uint32(len(limitsName)))
	return append(b, limitsName...)
}

// parseLimits reads the reply pkt (type onwards) to the limits request
// id. ok is false for a reply of another type (a STATUS: the server does
// not answer after all); a short EXTENDED_REPLY or one to another id is
// an error.
func parseLimits(pkt []byte, id uint32) (assetLimits, bool, error) {
	if len(pkt) < 5 || pkt[0] != fxpExtendedRep {
		return assetLimits{}, false, nil
	}
	if got := binary.BigEndian.Uint32(pkt[1:5]); got != id {
		return assetLimits{}, false, fmt.Errorf("the asset's SFTP server answered request %d when asked for its limits (request %d)", got, id)
	}
	if len(pkt) < limitsReplLen {
		return assetLimits{}, false, fmt.Errorf("the asset's SFTP limits reply has %d bytes, fewer than the %d of its four figures", len(pkt), limitsReplLen)
	}
	b := pkt[5:]
	l := assetLimits{
		maxPacket:  binary.BigEndian.Uint64(b[0:]),
		maxRead:    binary.BigEndian.Uint64(b[8:]),
		maxWrite:   binary.BigEndian.Uint64(b[16:]),
		maxHandles: binary.BigEndian.Uint64(b[24:]),
	}
	return l, true, nil
}

// replayVersion is what pkg/sftp reads after upstreamHandshake: the
// recorded VERSION, then the asset's channel.
func replayVersion(version []byte, r io.Reader) io.Reader {
	return io.MultiReader(bytes.NewReader(version), r)
}

// dropInit is the asset's channel as pkg/sftp writes to it after
// upstreamHandshake: the first packet it writes, its INIT, is dropped
// (the asset had one), and the rest passes.
type dropInit struct {
	w io.WriteCloser

	first framer // the first packet, as it goes by
	ready bool   // the first packet is dropped
}

func (d *dropInit) Write(p []byte) (int, error) {
	took := 0
	for !d.ready && took < len(p) {
		n, whole := d.first.step(p[took:])
		took += n
		d.ready = whole
	}
	if took == len(p) {
		return took, nil
	}
	n, err := d.w.Write(p[took:])
	return took + n, err
}

func (d *dropInit) Close() error { return d.w.Close() }
