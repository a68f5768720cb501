package mysqlproxy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// maxPayload is the most a logical packet (continuations joined) may hold
// for the proxy to read it.
const maxPayload = 1 << 28

// maxFragment is the payload length that says another fragment follows.
const maxFragment = 0xffffff

// packet is one logical MySQL packet: its payload (fragments joined), the
// sequence id of its first fragment, and the bytes as they arrived.
type packet struct {
	seq     byte
	payload []byte
	raw     []byte
}

// conn reads and writes packets on one side.
type conn struct {
	r *bufio.Reader
	w *bufio.Writer
}

// readPacket reads one logical packet. Memory grows with the bytes that
// arrive, not with the length a peer announces.
func (c *conn) readPacket() (packet, error) {
	var p packet
	var payload, raw bytes.Buffer
	for first := true; ; first = false {
		var hdr [4]byte
		if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
			return p, err
		}
		n := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
		if first {
			p.seq = hdr[3]
		}
		if payload.Len()+n > maxPayload {
			return p, fmt.Errorf("a packet longer than %d bytes", maxPayload)
		}
		start := payload.Len()
		if _, err := io.CopyN(&payload, c.r, int64(n)); err != nil {
			return p, noEOF(err)
		}
		raw.Write(hdr[:])
		raw.Write(payload.Bytes()[start:])
		if n < maxFragment {
			p.payload, p.raw = payload.Bytes(), raw.Bytes()
			return p, nil
		}
	}
}

// noEOF makes a packet cut short an unexpected EOF.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// writePacket writes a payload as packets from sequence id seq; it returns
// the next sequence id.
func (c *conn) writePacket(seq byte, payload []byte) (byte, error) {
	for {
		n := min(len(payload), maxFragment)
		hdr := [4]byte{byte(n), byte(n >> 8), byte(n >> 16), seq}
		seq++
		if _, err := c.w.Write(hdr[:]); err != nil {
			return seq, err
		}
		if _, err := c.w.Write(payload[:n]); err != nil {
			return seq, err
		}
		payload = payload[n:]
		if n < maxFragment {
			return seq, nil
		}
	}
}

// forward writes a packet as it arrived.
func (c *conn) forward(p packet) error {
	_, err := c.w.Write(p.raw)
	return err
}

func (c *conn) flush() error { return c.w.Flush() }

var errShort = errors.New("packet too short")

// reader walks a payload.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		r.err = errShort
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) byte1() byte {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) uint16() uint16 {
	if b := r.take(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r *reader) uint32() uint32 {
	if b := r.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

// nulString reads up to a NUL (consumed); the rest when there is none.
func (r *reader) nulString() string {
	if r.err != nil {
		return ""
	}
	for i, c := range r.b {
		if c == 0 {
			s := string(r.b[:i])
			r.b = r.b[i+1:]
			return s
		}
	}
	s := string(r.b)
	r.b = nil
	return s
}

// lenenc reads a length-encoded integer.
func (r *reader) lenenc() uint64 {
	switch c := r.byte1(); {
	case c < 0xfb:
		return uint64(c)
	case c == 0xfc:
		return uint64(r.uint16())
	case c == 0xfd:
		b := r.take(3)
		if b == nil {
			return 0
		}
		return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16
	case c == 0xfe:
		b := r.take(8)
		if b == nil {
			return 0
		}
		return binary.LittleEndian.Uint64(b)
	default:
		r.err = fmt.Errorf("bad length-encoded integer 0x%x", c)
		return 0
	}
}

// lenencBytes reads a length-encoded string.
func (r *reader) lenencBytes() []byte {
	n := r.lenenc()
	if n > uint64(len(r.b)) {
		r.err = errShort
		return nil
	}
	return r.take(int(n))
}

func appendLenenc(b []byte, n uint64) []byte {
	switch {
	case n < 0xfb:
		return append(b, byte(n))
	case n < 1<<16:
		return append(b, 0xfc, byte(n), byte(n>>8))
	case n < 1<<24:
		return append(b, 0xfd, byte(n), byte(n>>8), byte(n>>16))
	}
	return binary.LittleEndian.AppendUint64(append(b, 0xfe), n)
}
