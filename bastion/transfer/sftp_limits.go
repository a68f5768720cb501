package transfer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// OpenSSH's sftp client (8.7 and later) asks a server that offers the
// limits@openssh.com extension how large its READ and WRITE requests
// may be, and otherwise stays at 32 KiB. pkg/sftp's request server does
// not offer it (its extension list is a package variable), so
// limitsShim, between the client's channel and the request server,
// offers it in the server's VERSION and answers the request itself.
// See OpenSSH's PROTOCOL, section 4.8.
const (
	// sftpMaxPacket is the longest packet (without its length field) the
	// request server reads: pkg/sftp's maxMsgLength, and OpenSSH's
	// SFTP_MAX_MSG_LENGTH.
	sftpMaxPacket = 256 << 10
	// sftpMaxData is the most data one READ gets and one WRITE may carry,
	// as OpenSSH's sftp-server offers: a WRITE of that much, with its
	// handle, offset and lengths, stays within sftpMaxPacket, and so does
	// the DATA reply of a READ.
	sftpMaxData = sftpMaxPacket - 1024

	limitsName     = "limits@openssh.com"
	fxpVersion     = 2
	fxpExtended    = 200
	fxpExtendedRep = 201
	// limitsReqLen is the length of a limits request: type, id, name.
	limitsReqLen = 1 + 4 + 4 + len(limitsName)
	// versionMax bounds the server's VERSION packet the shim rewrites;
	// pkg/sftp's is about 200 bytes.
	versionMax = 4 << 10
)

var (
	errEmptyPacket = errors.New("sftp: the client sent a packet of 0 bytes")
	errCutPacket   = errors.New("sftp: the client ended the session in the middle of a packet")
)

// limitsShim frames the SFTP stream between the client (rw) and the
// request server. Reading, it hands every packet of the client through
// untouched, the data straight from the channel into the request
// server's buffer, except a limits request, which it answers itself.
// Writing, it adds limitsName to the server's VERSION and otherwise
// tracks where the server's packets end: pkg/sftp writes a packet's
// header and data in two Writes, and the shim's reply must go between
// packets, never inside one.
type limitsShim struct {
	rw io.ReadWriter

	// Read side: only the request server's receive loop reads.
	hdr  [4 + limitsReqLen]byte // a packet's start, or a whole small packet, kept back
	pend []byte                 // what of hdr is still to hand out
	left uint32                 // body bytes of the current packet still to hand out

	// Write side.
	wmu         sync.Mutex
	between     *sync.Cond // signalled when a packet of the server is written in full
	wframe      framer     // where the server's packets begin and end
	version     []byte     // the server's first packet, collected until whole
	versionDone bool       // the first packet is through
	offered     bool       // the shim offered limitsName in it
	werr        error      // the write that failed: no packet will end
}

func newLimitsShim(rw io.ReadWriter) *limitsShim {
	s := &limitsShim{rw: rw}
	s.between = sync.NewCond(&s.wmu)
	return s
}

// Read hands out the client's packets, less the limits requests.
func (s *limitsShim) Read(p []byte) (int, error) {
	for {
		if len(s.pend) > 0 {
			n := copy(p, s.pend)
			s.pend = s.pend[n:]
			return n, nil
		}
		if s.left > 0 {
			if uint32(len(p)) > s.left {
				p = p[:s.left]
			}
			n, err := s.rw.Read(p)
			s.left -= uint32(n)
			if errors.Is(err, io.EOF) && s.left > 0 {
				err = errCutPacket
			}
			return n, err
		}
		if err := s.nextPacket(); err != nil {
			return 0, err
		}
	}
}

// nextPacket reads the start of the client's next packet into hdr, and
// answers it if it is a limits request.
func (s *limitsShim) nextPacket() error {
	if n, err := io.ReadFull(s.rw, s.hdr[:5]); err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return io.EOF
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return errCutPacket
		}
		return fmt.Errorf("sftp: read the client's next packet: %w", err)
	}
	length := binary.BigEndian.Uint32(s.hdr[:4])
	switch {
	case length == 0:
		return errEmptyPacket
	case length > sftpMaxPacket:
		return fmt.Errorf("sftp: the client sent a packet of %d bytes, more than the %d allowed", length, sftpMaxPacket)
	}
	s.pend, s.left = s.hdr[:5], length-1
	if s.hdr[4] != fxpExtended || length != uint32(limitsReqLen) {
		return nil
	}
	if _, err := io.ReadFull(s.rw, s.hdr[5:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return errCutPacket
		}
		return fmt.Errorf("sftp: read the client's packet: %w", err)
	}
	s.pend, s.left = s.hdr[:], 0
	if !isLimitsRequest(s.hdr[4:]) {
		return nil
	}
	answered, err := s.answerLimits(binary.BigEndian.Uint32(s.hdr[5:9]))
	if answered {
		s.pend = nil
	}
	return err
}

// isLimitsRequest reports whether pkt (type onwards) asks for limits.
func isLimitsRequest(pkt []byte) bool {
	return len(pkt) == limitsReqLen && pkt[0] == fxpExtended &&
		binary.BigEndian.Uint32(pkt[5:9]) == uint32(len(limitsName)) && string(pkt[9:]) == limitsName
}

// limitsReply is the EXTENDED_REPLY to the limits request id: the
// longest packet, READ and WRITE the request server takes, and no limit
// of its own on open handles (0: the client keeps its number of
// requests in flight).
func limitsReply(id uint32) []byte {
	b := make([]byte, 4, 4+1+4+4*8)
	b = append(b, fxpExtendedRep)
	b = binary.BigEndian.AppendUint32(b, id)
	for _, v := range []uint64{sftpMaxPacket, sftpMaxData, sftpMaxData, 0} {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// answerLimits writes the reply to a limits request between two packets
// of the server. It answers only once the shim offered the extension;
// before that (a client that asks first) the request server answers.
func (s *limitsShim) answerLimits(id uint32) (bool, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if !s.offered {
		return false, nil
	}
	for s.werr == nil && !s.wframe.between() {
		s.between.Wait()
	}
	if s.werr != nil {
		return true, fmt.Errorf("sftp: answer the client's limits request: %w", s.werr)
	}
	if _, err := s.rw.Write(limitsReply(id)); err != nil {
		return true, fmt.Errorf("sftp: answer the client's limits request: %w", err)
	}
	return true, nil
}

// Write passes the request server's packets to the client, its first
// one (VERSION) with limitsName added.
func (s *limitsShim) Write(p []byte) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	done := 0
	if !s.versionDone {
		n, err := s.collectVersion(p)
		if err != nil || n == len(p) {
			return n, err
		}
		done, p = n, p[n:]
	}
	n, err := s.rw.Write(p)
	s.track(p[:n])
	if err != nil {
		s.werr = err
	}
	if err != nil || s.wframe.between() {
		s.between.Broadcast()
	}
	return done + n, err
}

// track follows the server's packets through p, the bytes written.
func (s *limitsShim) track(p []byte) {
	for len(p) > 0 {
		n, _ := s.wframe.step(p)
		p = p[n:]
	}
}

// framer follows SFTP packets (a 4-byte length, then that many bytes)
// through a stream that arrives in chunks of any size.
type framer struct {
	hdr  [4]byte // the current packet's length field, collected
	hdrN int     // bytes of hdr collected
	left uint32  // bytes of the current packet still to come
}

// step takes bytes of p up to the end of the current packet at most and
// returns how many it took and whether that packet is now whole.
func (f *framer) step(p []byte) (int, bool) {
	if f.hdrN < len(f.hdr) {
		n := copy(f.hdr[f.hdrN:], p)
		f.hdrN += n
		if f.hdrN < len(f.hdr) {
			return n, false
		}
		f.left = binary.BigEndian.Uint32(f.hdr[:])
		if f.left == 0 {
			f.hdrN = 0
			return n, true
		}
		return n, false
	}
	n := min(uint32(len(p)), f.left)
	f.left -= n
	if f.left == 0 {
		f.hdrN = 0
		return int(n), true
	}
	return int(n), false
}

// between reports whether the stream is between two packets.
func (f *framer) between() bool { return f.hdrN == 0 }

// collectVersion takes bytes of the server's first packet from p until
// it is whole, then writes it, rewritten; it returns how much of p it
// took. A first packet that is not a VERSION, or too long to be one, is
// written as it is and nothing is offered.
func (s *limitsShim) collectVersion(p []byte) (int, error) {
	took := 0
	for {
		need := 4
		if len(s.version) >= 4 {
			need += int(binary.BigEndian.Uint32(s.version))
			if need > 4+versionMax {
				return took, s.passVersion(s.version)
			}
		}
		if len(s.version) == need {
			out, offered := withLimits(s.version)
			s.offered = offered
			return took, s.passVersion(out)
		}
		if took == len(p) {
			return took, nil
		}
		n := min(need-len(s.version), len(p)-took)
		s.version = append(s.version, p[took:took+n]...)
		took += n
	}
}

// passVersion writes the start of the server's first packet (whole, or
// its length field when too long to collect) and ends the collecting.
func (s *limitsShim) passVersion(b []byte) error {
	s.versionDone, s.version = true, nil
	_, err := s.rw.Write(b)
	s.track(b)
	if err != nil {
		s.werr = err
		return fmt.Errorf("sftp: write the server's version: %w", err)
	}
	return nil
}

// withLimits returns the VERSION packet pkt (length field onwards) with
// limitsName "1" added, and whether it added it: not to another packet,
// nor to one that offers it already.
func withLimits(pkt []byte) ([]byte, bool) {
	if len(pkt) < 9 || pkt[4] != fxpVersion {
		return pkt, false
	}
	for ext := pkt[9:]; len(ext) > 0; {
		name, rest, ok := cutString(ext)
		if !ok {
			return pkt, false
		}
		if _, rest, ok = cutString(rest); !ok {
			return pkt, false
		}
		if bytes.Equal(name, []byte(limitsName)) {
			return pkt, false
		}
		ext = rest
	}
	out := make([]byte, 0, len(pkt)+8+len(limitsName)+1)
	out = append(out, pkt...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(limitsName)))
	out = append(out, limitsName...)
	out = binary.BigEndian.AppendUint32(out, 1)
	out = append(out, '1')
	binary.BigEndian.PutUint32(out, uint32(len(out)-4))
	return out, true
}

// cutString cuts an SSH string off the front of b.
func cutString(b []byte) (s, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, b, false
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return nil, b, false
	}
	return b[4 : 4+n], b[4+n:], true
}
