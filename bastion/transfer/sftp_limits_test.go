package transfer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// pkt frames an SFTP packet: its length, then body (type onwards).
func pkt(body ...[]byte) []byte {
	b := bytes.Join(body, nil)
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)
}

func u32(v uint32) []byte    { return binary.BigEndian.AppendUint32(nil, v) }
func sshStr(s string) []byte { return append(u32(uint32(len(s))), s...) }

func extended(id uint32, name string, rest ...byte) []byte {
	return pkt([]byte{fxpExtended}, u32(id), sshStr(name), rest)
}

func versionPkt(exts ...string) []byte {
	body := [][]byte{{fxpVersion}, u32(3)}
	for _, e := range exts {
		body = append(body, sshStr(e), sshStr("1"))
	}
	return pkt(body...)
}

// chunked reads r at most n bytes at a time, as a channel may.
type chunked struct {
	r io.Reader
	n int
}

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }

// shimRW is the client's side of a shim: what it sent, what it got.
type shimRW struct {
	io.Reader
	mu  sync.Mutex
	out bytes.Buffer
	err error // every Write fails with it, when set
}

func (s *shimRW) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, s.err
	}
	return s.out.Write(p)
}

func (s *shimRW) got() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.out.Bytes())
}

func TestLimitsShimVersion(t *testing.T) {
	plain := versionPkt("posix-rename@openssh.com")
	offered := versionPkt("posix-rename@openssh.com", limitsName)
	other := pkt([]byte{101}, u32(1), u32(0), sshStr(""), sshStr(""))
	long := pkt([]byte{fxpVersion}, u32(3), sshStr(strings.Repeat("x", versionMax)), sshStr("1"))
	tests := []struct {
		name        string
		writes      [][]byte
		want        []byte
		wantOffered bool
	}{
		{"whole", [][]byte{plain}, offered, true},
		{"byte by byte", splitEvery(plain, 1), offered, true},
		{"length then rest", [][]byte{plain[:4], plain[4:]}, offered, true},
		{"with the next packet", [][]byte{append(bytes.Clone(plain), other...)}, append(bytes.Clone(offered), other...), true},
		{"no extensions", [][]byte{versionPkt()}, versionPkt(limitsName), true},
		{"offered already", [][]byte{offered}, offered, false},
		{"not a version", [][]byte{other}, other, false},
		{"too long to be one", [][]byte{long[:10], long[10:]}, long, false},
		{"broken extension", [][]byte{pkt([]byte{fxpVersion}, u32(3), u32(99))}, pkt([]byte{fxpVersion}, u32(3), u32(99)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rw := &shimRW{}
			s := newLimitsShim(rw)
			total := 0
			for _, w := range tt.writes {
				n, err := s.Write(w)
				if err != nil || n != len(w) {
					t.Fatalf("Write(%d bytes) = %d, %v", len(w), n, err)
				}
				total += n
			}
			if got := rw.got(); !bytes.Equal(got, tt.want) {
				t.Errorf("client got %q, want %q", got, tt.want)
			}
			if s.offered != tt.wantOffered {
				t.Errorf("offered = %v, want %v", s.offered, tt.wantOffered)
			}
			if !s.wframe.between() {
				t.Errorf("after whole packets: %d bytes of a packet to come, %d of a length", s.wframe.left, s.wframe.hdrN)
			}
		})
	}
}

func splitEvery(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > n {
		out = append(out, b[:n])
		b = b[n:]
	}
	return append(out, b)
}

func TestLimitsShimRead(t *testing.T) {
	initPkt := pkt([]byte{1}, u32(3))
	limits := extended(7, limitsName)
	read := pkt([]byte{5}, u32(8), sshStr("h1"), make([]byte, 8), u32(sftpMaxData))
	write := pkt([]byte{6}, u32(9), sshStr("h1"), make([]byte, 8), sshStr(strings.Repeat("d", sftpMaxData)))
	statvfs := extended(10, "statvfs@openssh.com", []byte("/")...)
	sameLen := extended(11, "limits@openssh.org") // as long as a limits request, another name
	longer := extended(12, limitsName, 0)         // a limits request with a byte too many
	tests := []struct {
		name       string
		in         [][]byte
		version    bool // the server sent its VERSION first
		wantServer [][]byte
		wantReply  []uint32 // ids of the limits replies
	}{
		{"answered", [][]byte{limits, read}, true, [][]byte{read}, []uint32{7}},
		{"pass-through", [][]byte{initPkt, read, write, statvfs, sameLen, longer}, true, [][]byte{initPkt, read, write, statvfs, sameLen, longer}, nil},
		{"between others", [][]byte{read, limits, write, limits}, true, [][]byte{read, write}, []uint32{7, 7}},
		{"before the version", [][]byte{initPkt, limits}, false, [][]byte{initPkt, limits}, nil},
	}
	for _, tt := range tests {
		for _, chunk := range []int{1, 3, 7, 4096, 1 << 20} {
			t.Run(tt.name+"/"+strconv.Itoa(chunk), func(t *testing.T) {
				rw := &shimRW{Reader: chunked{bytes.NewReader(bytes.Join(tt.in, nil)), chunk}}
				s := newLimitsShim(rw)
				if tt.version {
					s.Write(versionPkt())
				}
				before := len(rw.got())
				got, err := io.ReadAll(chunked{s, chunk})
				if err != nil {
					t.Fatalf("read: %v", err)
				}
				if want := bytes.Join(tt.wantServer, nil); !bytes.Equal(got, want) {
					t.Errorf("server read %d bytes, want %d", len(got), len(want))
				}
				var wantOut []byte
				for _, id := range tt.wantReply {
					wantOut = append(wantOut, limitsReply(id)...)
				}
				if out := rw.got()[before:]; !bytes.Equal(out, wantOut) {
					t.Errorf("client got %x, want %x", out, wantOut)
				}
			})
		}
	}
}

func TestLimitsReply(t *testing.T) {
	b := limitsReply(42)
	want := pkt([]byte{fxpExtendedRep}, u32(42),
		binary.BigEndian.AppendUint64(nil, 256<<10), binary.BigEndian.AppendUint64(nil, 255<<10),
		binary.BigEndian.AppendUint64(nil, 255<<10), binary.BigEndian.AppendUint64(nil, 0))
	if !bytes.Equal(b, want) {
		t.Errorf("reply %x, want %x", b, want)
	}
}

func TestLimitsShimMalformed(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty packet", append(u32(0), 1), "packet of 0 bytes"},
		{"oversized", append(u32(sftpMaxPacket+1), 5), "packet of 262145 bytes, more than the 262144 allowed"},
		{"cut in the length", []byte{0, 0}, "in the middle of a packet"},
		{"cut in the body", append(u32(100), 5, 0, 0), "in the middle of a packet"},
		{"cut in a limits request", extended(1, limitsName)[:20], "in the middle of a packet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newLimitsShim(&shimRW{Reader: bytes.NewReader(tt.in)})
			_, err := io.ReadAll(s)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
	// A clean end between packets is io.EOF.
	s := newLimitsShim(&shimRW{Reader: bytes.NewReader(pkt([]byte{1}, u32(3)))})
	if _, err := io.ReadAll(s); err != nil {
		t.Errorf("clean end: %v", err)
	}
}

// The reply to a limits request waits for the packet the server is
// writing in two Writes (header, then data) to end.
func TestLimitsShimReplyBetweenPackets(t *testing.T) {
	pr, pw := io.Pipe()
	rw := &shimRW{Reader: pr}
	s := newLimitsShim(rw)
	s.Write(versionPkt())
	start := len(rw.got())
	data := pkt([]byte{103}, u32(1), sshStr(strings.Repeat("x", 1000)))
	if _, err := s.Write(data[:13]); err != nil {
		t.Fatal(err)
	}
	read := make(chan error, 1)
	go func() {
		_, err := s.Read(make([]byte, 4))
		read <- err
	}()
	go func() {
		pw.Write(extended(5, limitsName))
		pw.Write(pkt([]byte{1}, u32(3)))
	}()
	time.Sleep(50 * time.Millisecond)
	if got := rw.got()[start:]; !bytes.Equal(got, data[:13]) {
		t.Fatalf("the reply went inside the server's packet: %x", got)
	}
	if _, err := s.Write(data[13:]); err != nil {
		t.Fatal(err)
	}
	if err := <-read; err != nil {
		t.Fatal(err)
	}
	want := append(bytes.Clone(data), limitsReply(5)...)
	if got := rw.got()[start:]; !bytes.Equal(got, want) {
		t.Errorf("client got %x, want %x", got, want)
	}
	pw.Close()
}

// A server write that fails inside a packet does not leave the reply
// waiting for ever.
func TestLimitsShimWriteFails(t *testing.T) {
	rw := &shimRW{Reader: bytes.NewReader(extended(5, limitsName))}
	s := newLimitsShim(rw)
	s.Write(versionPkt())
	s.Write(u32(100)) // a packet's length: 100 bytes to come
	rw.mu.Lock()
	rw.err = errors.New("channel closed")
	rw.mu.Unlock()
	if _, err := s.Write(make([]byte, 10)); err == nil {
		t.Fatal("Write succeeded")
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Read(make([]byte, 4))
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "channel closed") {
			t.Errorf("err = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the limits reply waits for ever after a failed write")
	}
}

// FuzzLimitsShim feeds the shim's parser any client stream, in any
// chunks: it must hand the server exactly the stream less the whole
// limits requests, or end with an error, never panic.
func FuzzLimitsShim(f *testing.F) {
	f.Add(bytes.Join([][]byte{pkt([]byte{1}, u32(3)), extended(7, limitsName), pkt([]byte{5}, u32(8), sshStr("h"), make([]byte, 12))}, nil), uint8(3))
	f.Add(extended(1, limitsName)[:20], uint8(1))
	f.Add(u32(0), uint8(7))
	f.Add(append(u32(sftpMaxPacket+1), 5), uint8(200))
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		n := int(chunk) + 1
		rw := &shimRW{Reader: chunked{bytes.NewReader(in), n}}
		s := newLimitsShim(rw)
		s.Write(versionPkt())
		got, err := io.ReadAll(chunked{s, n})
		want, rest := withoutLimits(in)
		if (err != nil) != (rest != nil) {
			t.Fatalf("err = %v, want an error: %v", err, rest != nil)
		}
		// A malformed packet may be handed on in part before the error.
		if !bytes.HasPrefix(append(want, rest...), got) || (rest == nil && !bytes.Equal(got, want)) {
			t.Fatalf("server read %x, want %x", got, want)
		}
	})
}

// withoutLimits is the reference: the stream less its limits requests,
// up to the malformed packet that ends it, if any (rest, from it on).
func withoutLimits(in []byte) (out, rest []byte) {
	for len(in) > 0 {
		if len(in) < 5 {
			return out, in
		}
		n := binary.BigEndian.Uint32(in)
		if n == 0 || n > sftpMaxPacket || uint64(len(in)-4) < uint64(n) {
			return out, in
		}
		if !isLimitsRequest(in[4 : 4+n]) {
			out = append(out, in[:4+n]...)
		}
		in = in[4+n:]
	}
	return out, nil
}

// rawSFTP speaks the SFTP protocol to ServeSFTP by hand, to see the
// packets themselves.
type rawSFTP struct {
	t  *testing.T
	r  io.Reader
	w  io.Writer
	id uint32
}

func (h *harness) rawSession(req SFTPRequest) *rawSFTP {
	h.t.Helper()
	req.User, req.Source = "alice", "127.0.0.1:1"
	cr, sw := io.Pipe()
	sr, cw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.svc.ServeSFTP(h.ctx, pipeRWC{sr, sw}, req)
		sw.Close()
		sr.Close()
	}()
	h.t.Cleanup(func() {
		cw.Close()
		<-done
	})
	return &rawSFTP{t: h.t.(*testing.T), r: cr, w: cw}
}

func (c *rawSFTP) send(body ...[]byte) {
	c.t.Helper()
	if _, err := c.w.Write(pkt(body...)); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawSFTP) recv() (byte, []byte) {
	c.t.Helper()
	var n [4]byte
	if _, err := io.ReadFull(c.r, n[:]); err != nil {
		c.t.Fatal(err)
	}
	b := make([]byte, binary.BigEndian.Uint32(n[:]))
	if _, err := io.ReadFull(c.r, b); err != nil {
		c.t.Fatal(err)
	}
	return b[0], b[1:]
}

// open opens p to read and returns its handle.
func (c *rawSFTP) open(p string) []byte {
	c.t.Helper()
	c.id++
	c.send([]byte{3}, u32(c.id), sshStr(p), u32(1), u32(0))
	typ, b := c.recv()
	if typ != 102 {
		c.t.Fatalf("open %s: reply type %d %x", p, typ, b)
	}
	return b[4:]
}

// read sends a READ of n bytes at off and returns the data, or nil and
// the status code.
func (c *rawSFTP) read(handle []byte, off uint64, n uint32) ([]byte, uint32) {
	c.t.Helper()
	c.id++
	c.send([]byte{5}, u32(c.id), handle, binary.BigEndian.AppendUint64(nil, off), u32(n))
	typ, b := c.recv()
	switch typ {
	case 103:
		return b[8:], 0
	case 101:
		return nil, binary.BigEndian.Uint32(b[4:])
	}
	c.t.Fatalf("read: reply type %d", typ)
	return nil, 0
}

// A client that asks for limits is told 255 KiB, and a READ of 255 KiB
// gets 255 KiB, short only at the end of the file.
func TestLargeReads(t *testing.T) {
	h := newHarness(t, grantSpec{name: "g", assets: []string{"web1"}})
	c := h.rawSession(SFTPRequest{Asset: h.access("web1")})
	c.send([]byte{1}, u32(3))
	typ, b := c.recv()
	if typ != fxpVersion || !bytes.Contains(b, sshStr(limitsName)) {
		t.Fatalf("version: type %d, %q", typ, b)
	}
	c.send([]byte{fxpExtended}, u32(1), sshStr(limitsName))
	if typ, b := c.recv(); typ != fxpExtendedRep || !bytes.Equal(pkt(append([]byte{typ}, b...)), limitsReply(1)) {
		t.Fatalf("limits: type %d, %x", typ, b)
	}

	const size = 3*sftpMaxData + 12345
	content := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
	for name, data := range map[string][]byte{"odd": content, "empty": nil, "exact": content[:2*sftpMaxData]} {
		if err := os.WriteFile(filepath.Join(h.dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		hd := c.open(filepath.Join(h.dir, name))
		var got []byte
		for {
			d, code := c.read(hd, uint64(len(got)), sftpMaxData)
			if code != 0 {
				if code != 1 {
					t.Fatalf("%s: status %d at %d", name, code, len(got))
				}
				break
			}
			if len(d) != sftpMaxData && len(got)+len(d) != len(data) {
				t.Fatalf("%s: READ of %d at %d got %d bytes", name, sftpMaxData, len(got), len(d))
			}
			got = append(got, d...)
		}
		if !bytes.Equal(got, data) {
			t.Errorf("%s: read %d bytes, not the file's %d", name, len(got), len(data))
		}
	}

	// A file that grows during the download: what is read is the file's
	// start, whole requests until the end seen, and at least its size at
	// the start.
	p := filepath.Join(h.dir, "growing")
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	hd := c.open(p)
	got, _ := c.read(hd, 0, sftpMaxData)
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(content)
	f.Close()
	for {
		d, code := c.read(hd, uint64(len(got)), sftpMaxData)
		if code != 0 {
			break
		}
		got = append(got, d...)
	}
	if len(got) < size || !bytes.Equal(got, append(bytes.Clone(content), content...)[:len(got)]) {
		t.Errorf("growing file: read %d bytes, not a start of it of at least %d", len(got), size)
	}
}
