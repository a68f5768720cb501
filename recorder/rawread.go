package recorder

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"time"
)

// ErrRawTruncated is wrapped by the error of a raw stream file that ends
// inside a frame, as a crash while writing leaves it.
var ErrRawTruncated = errors.New("the last frame is cut short (the file was not closed: a crash?)")

// RawFrame is one frame of a raw stream file. Data is valid until the next
// call to Next.
type RawFrame struct {
	Stream Stream
	Time   time.Duration // since the recording began
	Data   []byte
}

// RawReader reads a raw stream file frame by frame. It is a parser of
// files that may be damaged: every error names the offset of the frame at
// fault, and nothing in the file can make it allocate more than
// MaxRawFrame or panic.
type RawReader struct {
	br    *bufio.Reader
	c     io.Closer
	off   int64 // offset of the next frame
	lastT uint64
	data  []byte
	err   error
}

// OpenRaw opens a raw stream file and checks its header.
func OpenRaw(path string) (*RawReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	r, err := NewRawReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	r.c = f
	return r, nil
}

// NewRawReader reads the header of a raw stream file from r.
func NewRawReader(r io.Reader) (*RawReader, error) {
	rd := &RawReader{br: bufio.NewReaderSize(r, 64<<10)}
	var hdr [rawHdrLen]byte
	n, err := io.ReadFull(rd.br, hdr[:])
	switch {
	case err != nil && n == 0:
		return nil, errors.New("recording: raw streams: empty file, no header")
	case err != nil || string(hdr[:len(rawMagic)]) != rawMagic:
		return nil, errors.New("recording: raw streams: offset 0: not a jms raw stream file")
	case hdr[len(rawMagic)] != rawVersion:
		return nil, fmt.Errorf("recording: raw streams: offset %d: version %d, this jmsctl reads version %d", len(rawMagic), hdr[len(rawMagic)], rawVersion)
	case hdr[len(rawMagic)+1] != 0:
		return nil, fmt.Errorf("recording: raw streams: offset %d: unknown flags %#x", len(rawMagic)+1, hdr[len(rawMagic)+1])
	}
	rd.off = int64(rawHdrLen)
	return rd, nil
}

// Close closes the file opened by OpenRaw; it does nothing for
// NewRawReader.
func (r *RawReader) Close() error {
	if r.c == nil {
		return nil
	}
	c := r.c
	r.c = nil
	return c.Close()
}

// Offset returns the offset of the next frame: after io.EOF, the file's
// size.
func (r *RawReader) Offset() int64 { return r.off }

// Next returns the next frame, or io.EOF at the end of the file. A frame
// cut short at the end is an error wrapping ErrRawTruncated; a damaged one
// an error naming its offset. Errors are sticky.
func (r *RawReader) Next() (RawFrame, error) {
	if r.err != nil {
		return RawFrame{}, r.err
	}
	fr, err := r.next()
	if err != nil {
		if err != io.EOF {
			err = fmt.Errorf("recording: raw streams: offset %d: %w", r.off, err)
		}
		r.err = err
		return RawFrame{}, err
	}
	return fr, nil
}

func (r *RawReader) next() (RawFrame, error) {
	var hdr [maxFrameHdr]byte
	sb, err := r.br.ReadByte()
	if err == io.EOF {
		return RawFrame{}, io.EOF
	}
	if err != nil {
		return RawFrame{}, err
	}
	if sb > byte(StreamStderr) {
		return RawFrame{}, fmt.Errorf("bad stream %d in a frame header (the file is damaged)", sb)
	}
	hdr[0] = sb
	h := hdr[:1]
	t, h, err := r.uvarint(h)
	if err != nil {
		return RawFrame{}, err
	}
	n, h, err := r.uvarint(h)
	if err != nil {
		return RawFrame{}, err
	}
	if n == 0 || n > MaxRawFrame {
		return RawFrame{}, fmt.Errorf("bad frame length %d (the file is damaged)", n)
	}
	if t < r.lastT {
		return RawFrame{}, fmt.Errorf("frame time %d µs goes back before %d µs (the file is damaged)", t, r.lastT)
	}
	var crcb [4]byte
	if _, err := io.ReadFull(r.br, crcb[:]); err != nil {
		return RawFrame{}, short(err)
	}
	if cap(r.data) < int(n) {
		r.data = make([]byte, n, max(int(n), 64<<10))
	}
	data := r.data[:n]
	if _, err := io.ReadFull(r.br, data); err != nil {
		return RawFrame{}, short(err)
	}
	crc := crc32.Update(crc32.Update(0, crcTable, h), crcTable, data)
	if crc != binary.LittleEndian.Uint32(crcb[:]) {
		return RawFrame{}, errors.New("checksum mismatch: the frame is damaged")
	}
	r.lastT = t
	r.off += int64(len(h) + 4 + len(data))
	return RawFrame{Stream: Stream(sb), Time: time.Duration(t) * time.Microsecond, Data: data}, nil
}

// uvarint reads one uvarint, appending its bytes to h.
func (r *RawReader) uvarint(h []byte) (uint64, []byte, error) {
	var v uint64
	for i := 0; i < binary.MaxVarintLen64; i++ {
		b, err := r.br.ReadByte()
		if err != nil {
			return 0, h, short(err)
		}
		h = append(h, b)
		if i == binary.MaxVarintLen64-1 && b > 1 {
			break
		}
		v |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			return v, h, nil
		}
	}
	return 0, h, errors.New("bad number in a frame header (the file is damaged)")
}

// short turns the end of the file inside a frame into ErrRawTruncated.
func short(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrRawTruncated
	}
	return err
}

// CopyRawStream writes the bytes of stream s from r to w, and returns how
// many. On a damaged or cut-off file it writes the bytes of every frame
// before the fault and returns the reader's error.
func CopyRawStream(w io.Writer, r *RawReader, s Stream) (int64, error) {
	var total int64
	for {
		fr, err := r.Next()
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
		if fr.Stream != s {
			continue
		}
		n, err := w.Write(fr.Data)
		total += int64(n)
		if err != nil {
			return total, fmt.Errorf("recording: write the %s bytes: %w", s, err)
		}
	}
}
