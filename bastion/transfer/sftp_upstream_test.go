package transfer

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkg/sftp"
	gossh "golang.org/x/crypto/ssh"
)

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// limitsReplyPkt is an EXTENDED_REPLY to id with the four figures.
func limitsReplyPkt(id uint32, packet, read, write, handles uint64) []byte {
	return pkt([]byte{fxpExtendedRep}, u32(id), u64(packet), u64(read), u64(write), u64(handles))
}

// OpenSSH's sftp-server's figures (sftp-server.c, 9.x).
var opensshLimits = limitsReplyPkt(limitsReqID, 256<<10, 256<<10-1024, 256<<10-1024, 1024)

func TestUpstreamHandshake(t *testing.T) {
	initPkt := pkt([]byte{fxpInit}, u32(3))
	withLimitsExt := versionPkt("posix-rename@openssh.com", limitsName)
	tests := []struct {
		name     string
		server   []byte // what the asset sends
		want     int    // the READ and WRITE size
		asked    bool   // the limits request was sent
		wantErr  string // in the error; "" for none
		replayed []byte // the VERSION handed to pkg/sftp, when not server's first packet
	}{
		{name: "no extensions", server: versionPkt(), want: upstreamDefaultData},
		{name: "other extensions", server: versionPkt("statvfs@openssh.com"), want: upstreamDefaultData},
		{name: "openssh", server: cat(withLimitsExt, opensshLimits), want: sftpMaxData, asked: true},
		{name: "limits version 2", server: pkt([]byte{fxpVersion}, u32(3), sshStr(limitsName), sshStr("2")), want: upstreamDefaultData},
		{name: "64 KiB", server: cat(withLimitsExt, limitsReplyPkt(1, 70000, 64<<10, 64<<10, 0)), want: 64 << 10, asked: true},
		{name: "read smaller than write", server: cat(withLimitsExt, limitsReplyPkt(1, 0, 100<<10, 200<<10, 0)), want: 100 << 10, asked: true},
		{name: "rounded to KiB", server: cat(withLimitsExt, limitsReplyPkt(1, 0, 40000, 1<<20, 0)), want: 39 << 10, asked: true},
		{name: "packet bounds writes", server: cat(withLimitsExt, limitsReplyPkt(1, 34000, 1<<20, 1<<20, 0)), want: 32 << 10, asked: true},
		{name: "huge figures", server: cat(withLimitsExt, limitsReplyPkt(1, 1<<63, 1<<63, 1<<63, 1<<63)), want: sftpMaxData, asked: true},
		{name: "no read figure", server: cat(withLimitsExt, limitsReplyPkt(1, 1<<20, 0, 1<<20, 0)), want: upstreamDefaultData, asked: true},
		{name: "tiny packet", server: cat(withLimitsExt, limitsReplyPkt(1, 100, 1<<20, 1<<20, 0)), want: upstreamDefaultData, asked: true},
		{name: "tiny read", server: cat(withLimitsExt, limitsReplyPkt(1, 0, 1000, 1<<20, 0)), want: upstreamDefaultData, asked: true},
		{name: "status reply", server: cat(withLimitsExt, pkt([]byte{101}, u32(1), u32(8), sshStr("unsupported"), sshStr(""))), want: upstreamDefaultData, asked: true},
		{name: "longer reply", server: cat(withLimitsExt, pkt(limitsReplyPkt(1, 0, 64<<10, 64<<10, 0)[4:], []byte("more"))), want: 64 << 10, asked: true},
		{name: "protocol 4", server: pkt([]byte{fxpVersion}, u32(4), sshStr(limitsName), sshStr("1")), want: upstreamDefaultData},

		{name: "short reply", server: cat(withLimitsExt, pkt([]byte{fxpExtendedRep}, u32(1), u64(1))), asked: true, wantErr: "fewer than"},
		{name: "reply to another id", server: cat(withLimitsExt, limitsReplyPkt(9, 0, 64<<10, 64<<10, 0)), asked: true, wantErr: "request 9"},
		{name: "huge reply", server: cat(withLimitsExt, u32(1<<30)), asked: true, wantErr: "at most"},
		{name: "no reply", server: withLimitsExt, asked: true, wantErr: "closed the channel"},
		{name: "cut reply", server: cat(withLimitsExt, opensshLimits[:20]), asked: true, wantErr: "closed the channel"},
		{name: "nothing", server: nil, wantErr: "closed the channel"},
		{name: "empty packet", server: u32(0), wantErr: "0 bytes"},
		{name: "huge version", server: u32(upstreamVersionMax + 1), wantErr: "at most"},
		{name: "not a version", server: pkt([]byte{fxpStatusType}, u32(0)), wantErr: "not VERSION"},
		{name: "short version", server: pkt([]byte{fxpVersion, 0, 0}), wantErr: "cut short"},
		{name: "malformed extensions", server: pkt([]byte{fxpVersion}, u32(3), sshStr(limitsName), u32(50)), wantErr: "malformed extension"},
		{name: "name without data", server: pkt([]byte{fxpVersion}, u32(3), sshStr(limitsName)), wantErr: "malformed extension"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sent bytes.Buffer
			version, size, err := upstreamHandshake(chunked{bytes.NewReader(tt.server), 3}, &sent)
			wantSent := initPkt
			if tt.asked {
				wantSent = cat(initPkt, limitsRequest(limitsReqID))
			}
			if !bytes.Equal(sent.Bytes(), wantSent) {
				t.Errorf("sent %x, want %x", sent.Bytes(), wantSent)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if size != tt.want {
				t.Errorf("size = %d, want %d", size, tt.want)
			}
			first, _ := readPacket(bytes.NewReader(tt.server), upstreamVersionMax)
			if !bytes.Equal(version, first) {
				t.Errorf("replayed %x, want the server's VERSION %x", version, first)
			}
		})
	}
}

const fxpStatusType = 101

func cat(b ...[]byte) []byte { return bytes.Join(b, nil) }

func TestDropInit(t *testing.T) {
	hello := pkt([]byte{fxpInit}, u32(3))
	rest := cat(pkt([]byte{3}, u32(1), sshStr("/f")), pkt([]byte{5}, u32(2), sshStr("h"), u64(0), u32(10)))
	in := cat(hello, rest)
	for _, n := range []int{1, 2, 3, 4, 5, 9, 10, len(in)} {
		var out bytes.Buffer
		d := &dropInit{w: nopCloser{&out}}
		for b := in; len(b) > 0; {
			k := min(n, len(b))
			if m, err := d.Write(b[:k]); m != k || err != nil {
				t.Fatalf("chunks of %d: Write = %d, %v", n, m, err)
			}
			b = b[k:]
		}
		if !bytes.Equal(out.Bytes(), rest) {
			t.Errorf("chunks of %d: passed %x, want %x", n, out.Bytes(), rest)
		}
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// fakeAsset is an SFTP server as an asset runs it: a request server
// over memory that answers READ with at most maxTx bytes, behind a front
// that answers INIT with version and the limits request with limits (or
// passes it on when nil). It records the largest READ and WRITE asked.
type fakeAsset struct {
	version []byte
	limits  []byte
	maxTx   int

	maxRead, maxWrite atomic.Int64
}

// start serves the asset and returns the client's ends of its channel.
func (fa *fakeAsset) start(t *testing.T) (io.Reader, io.WriteCloser) {
	t.Helper()
	cr, sw := io.Pipe() // asset → client
	sr, cw := io.Pipe() // client → asset
	ir, iw := io.Pipe() // front → request server
	var wmu sync.Mutex
	out := &lockedWriter{mu: &wmu, w: sw}
	// The request server's VERSION is the front's to drop: it answered
	// the client's INIT itself.
	rs := sftp.NewRequestServer(rwc{ir, &dropInit{w: nopCloser{out}}}, sftp.InMemHandler(), sftp.WithRSMaxTxPacket(uint32(fa.maxTx)))
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); rs.Serve() }()
	go func() {
		defer wg.Done()
		defer iw.Close()
		fa.front(sr, iw, out)
	}()
	// The asset ends its side when the client ends its own.
	done := make(chan struct{})
	go func() {
		wg.Wait()
		sw.Close()
		close(done)
	}()
	t.Cleanup(func() {
		cw.Close()
		<-done
	})
	return cr, cw
}

// front reads the client's packets from r: it answers INIT and limits,
// and passes the rest on to inner.
func (fa *fakeAsset) front(r io.Reader, inner, out io.Writer) {
	if _, err := inner.Write(pkt([]byte{fxpInit}, u32(3))); err != nil {
		return
	}
	for {
		p, err := readPacket(r, sftpMaxPacket)
		if err != nil {
			return
		}
		switch body := p[4:]; {
		case body[0] == fxpInit:
			out.Write(fa.version)
			continue
		case fa.limits != nil && isLimitsRequest(body):
			out.Write(fa.limits)
			continue
		case body[0] == 5: // READ: id, handle, offset, length
			_, rest, _ := cutString(body[5:])
			recordMax(&fa.maxRead, int64(binary.BigEndian.Uint32(rest[8:])))
		case body[0] == 6: // WRITE: id, handle, offset, data
			_, rest, _ := cutString(body[5:])
			recordMax(&fa.maxWrite, int64(binary.BigEndian.Uint32(rest[8:])))
		}
		if _, err := inner.Write(p); err != nil {
			return
		}
	}
}

func recordMax(v *atomic.Int64, n int64) {
	for {
		old := v.Load()
		if n <= old || v.CompareAndSwap(old, n) {
			return
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

type rwc struct {
	io.Reader
	io.WriteCloser
}

// TestUpstreamLimits runs pkg/sftp's client after upstreamHandshake
// against fake assets, an odd-sized file up in 255 KiB writes and down
// through the read-ahead in 255 KiB reads (as OpenSSH's client asks):
// the requests the asset sees are as large as its limits allow, and no
// larger, and the file comes back whole. An asset that answers READ
// with less than the client asks would end each read-ahead block early
// (pkg/sftp takes a short DATA for the end of the file): the one that
// says so in its limits is asked no more than it answers, and the one
// that does not shows the download cut short.
func TestUpstreamLimits(t *testing.T) {
	withExt := versionPkt(limitsName)
	tests := []struct {
		name    string
		version []byte
		limits  []byte
		maxTx   int
		want    int64 // largest READ and WRITE the asset sees
		// cut: the asset answers less than its limits promise, and
		// the download ends early; what the limits are read for.
		cut bool
	}{
		{"openssh", withExt, opensshLimits, sftpMaxData, sftpMaxData, false},
		{"no limits", versionPkt(), nil, 64 << 10, upstreamDefaultData, false},
		{"answers 64 KiB", withExt, limitsReplyPkt(limitsReqID, 256<<10, 64<<10, 64<<10, 0), 64 << 10, 64 << 10, false},
		{"answers 48 KiB, takes 255", withExt, limitsReplyPkt(limitsReqID, 256<<10, 48<<10, sftpMaxData, 0), 48 << 10, 48 << 10, false},
		{"status reply", withExt, pkt([]byte{fxpStatusType}, u32(limitsReqID), u32(8), sshStr("no"), sshStr("")), 32 << 10, upstreamDefaultData, false},
		{"promises 255 KiB, answers 64", withExt, opensshLimits, 64 << 10, sftpMaxData, true},
	}
	data := make([]byte, 2*readAheadBlock+12345)
	rand.Read(data)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fa := &fakeAsset{version: tt.version, limits: tt.limits, maxTx: tt.maxTx}
			r, w := fa.start(t)
			version, size, err := upstreamHandshake(r, w)
			if err != nil {
				t.Fatal(err)
			}
			c, err := sftp.NewClientPipe(replayVersion(version, r), &dropInit{w: w},
				sftp.UseConcurrentReads(true), sftp.UseConcurrentWrites(true), sftp.MaxPacketUnchecked(size))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			f, err := c.Create("/big")
			if err != nil {
				t.Fatal(err)
			}
			for off := 0; off < len(data); off += sftpMaxData {
				if _, err := f.WriteAt(data[off:min(off+sftpMaxData, len(data))], int64(off)); err != nil {
					t.Fatal(err)
				}
			}
			got := readAllAhead(t, f, len(data))
			f.Close()
			if tt.cut {
				if len(got) >= len(data) {
					t.Errorf("read back %d bytes from an asset that answers less than asked, want fewer than %d: pkg/sftp no longer ends a file at a short read?", len(got), len(data))
				}
				return
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("read back %d bytes, want the %d written", len(got), len(data))
			}
			if r, w := fa.maxRead.Load(), fa.maxWrite.Load(); r != tt.want || w != tt.want {
				t.Errorf("largest READ %d and WRITE %d, want %d", r, w, tt.want)
			}
		})
	}
}

// readAllAhead reads f through a read-ahead in sftpMaxData requests
// until EOF.
func readAllAhead(t *testing.T, f io.ReaderAt, size int) []byte {
	t.Helper()
	ra := newReadAhead(f)
	defer ra.Close()
	var got []byte
	buf := make([]byte, sftpMaxData)
	for {
		n, err := ra.ReadAt(buf, int64(len(got)))
		got = append(got, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(got) > size {
			t.Fatalf("read %d bytes of a file of %d", len(got), size)
		}
	}
}

// FuzzUpstreamHandshake feeds the handshake any asset stream: it must
// end with an error or a size pkg/sftp can use, never panic.
func FuzzUpstreamHandshake(f *testing.F) {
	f.Add(cat(versionPkt(limitsName), opensshLimits))
	f.Add(versionPkt())
	f.Add(cat(versionPkt(limitsName), pkt([]byte{fxpExtendedRep}, u32(1))))
	f.Add(pkt([]byte{fxpVersion}, u32(3), u32(1<<31)))
	f.Add(u32(0))
	f.Fuzz(func(t *testing.T, in []byte) {
		version, size, err := upstreamHandshake(bytes.NewReader(in), io.Discard)
		if err != nil {
			return
		}
		if size < upstreamMinData || size > sftpMaxData {
			t.Fatalf("size %d", size)
		}
		if len(version) < 9 || !bytes.HasPrefix(in, version) {
			t.Fatalf("version %x is not the start of %x", version, in)
		}
	})
}

// TestUpstreamClientSilentAsset: an asset whose SFTP server never answers
// INIT is given up after the timeout, with an error that says so.
func TestUpstreamClientSilentAsset(t *testing.T) {
	a := startAsset(t, t.TempDir())
	a.silent.Store(true)
	conn, err := gossh.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", a.port), &gossh.ClientConfig{
		User: "u", Auth: []gossh.AuthMethod{gossh.Password("pw")}, HostKeyCallback: gossh.InsecureIgnoreHostKey(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	c, _, err := newUpstreamClient(conn, 200*time.Millisecond)
	if err == nil {
		c.Close()
		t.Fatal("a silent asset gave a client")
	}
	if !strings.Contains(err.Error(), "did not answer within 200ms") {
		t.Errorf("err = %v, want one saying the asset did not answer", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("gave up after %s", d)
	}
}

// TestUpstreamClientNoLimits: pkg/sftp's server (the test asset) offers
// no limits, and the client starts at 32 KiB.
func TestUpstreamClientNoLimits(t *testing.T) {
	a := startAsset(t, t.TempDir())
	conn, err := gossh.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", a.port), &gossh.ClientConfig{
		User: "u", Auth: []gossh.AuthMethod{gossh.Password("pw")}, HostKeyCallback: gossh.InsecureIgnoreHostKey(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c, size, err := newUpstreamClient(conn, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if size != upstreamDefaultData {
		t.Errorf("size = %d, want %d", size, upstreamDefaultData)
	}
	if _, err := c.Getwd(); err != nil {
		t.Errorf("Getwd after the handshake: %v", err)
	}
}
