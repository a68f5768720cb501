package storage

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jms-bastion/jms/store"
)

// memObjects is an in-memory object store whose Put fails while failPuts
// is above zero.
type memObjects struct {
	mu       sync.Mutex
	objs     map[string][]byte
	failPuts int
	puts     int
}

func newMem() *memObjects { return &memObjects{objs: map[string][]byte{}} }

func (m *memObjects) Where() string { return "mem://bucket" }

func (m *memObjects) Put(_ context.Context, key string, r io.Reader, _ map[string]string) error {
	b, err := io.ReadAll(r)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.puts++
	if m.failPuts > 0 {
		m.failPuts--
		return errors.New("mem://bucket: the object store cannot be reached")
	}
	if err != nil {
		return err
	}
	m.objs[key] = b
	return nil
}

func (m *memObjects) Get(_ context.Context, key string) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objs[key]
	if !ok {
		return nil, ErrNoObject
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (m *memObjects) List(_ context.Context, prefix string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var keys []string
	for k := range m.objs {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

func (m *memObjects) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objs, key)
	return nil
}

type fixture struct {
	st   *store.Store
	s    *Storage
	obj  *memObjects
	dir  string
	now  time.Time
	mu   sync.Mutex
	ctx  context.Context
	sess map[string]store.Session
}

func (fx *fixture) clock() time.Time {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	return fx.now
}

func (fx *fixture) advance(d time.Duration) {
	fx.mu.Lock()
	fx.now = fx.now.Add(d)
	fx.mu.Unlock()
}

func newFixture(t *testing.T, remote bool) *fixture {
	t.Helper()
	dir := t.TempDir()
	fx := &fixture{dir: dir, now: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC), ctx: context.Background(), sess: map[string]store.Session{}}
	st, err := store.Open(fx.ctx, filepath.Join(dir, "jms.db"), store.Options{Now: fx.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fx.st = st
	o := Options{DataDir: dir, RecordingsDir: filepath.Join(dir, "recordings"), Prefix: "rec/", Now: fx.clock,
		RetryBase: time.Second, RetryMax: 8 * time.Second}
	if remote {
		fx.obj = newMem()
		o.Objects = fx.obj
	}
	fx.s = New(st, o)
	return fx
}

// session makes an ended session whose recording holds content.
func (fx *fixture) session(t *testing.T, id, content string) store.Session {
	t.Helper()
	rel := filepath.Join("recordings", "2026-11-27", id+".cast")
	p := filepath.Join(fx.dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.st.StartSession(fx.ctx, store.NewSession{ID: id, User: "alice", Asset: "web1", RecordingPath: rel}); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(content))
	if err := fx.st.EndSession(fx.ctx, id, store.SessionEnd{Status: store.StatusClosed, RecordingSize: int64(len(content)),
		RecordingSHA256: hex.EncodeToString(sum[:])}); err != nil {
		t.Fatal(err)
	}
	ss, err := fx.st.GetSession(fx.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

func (fx *fixture) file(t *testing.T, id string) store.RecordingFile {
	t.Helper()
	fs, err := fx.st.RecordingFiles(fx.ctx, id)
	if err != nil || len(fs) == 0 {
		t.Fatalf("files of %s: %v %v", id, fs, err)
	}
	return fs[0]
}

// step registers and uploads what is due, once, and waits for it.
func (fx *fixture) step(t *testing.T) {
	t.Helper()
	if _, err := fx.s.RegisterEnded(fx.ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	fx.s.startDue(fx.ctx, &wg, make(chan struct{}, 8))
	wg.Wait()
}

const cast = "{\"version\":2,\"width\":80,\"height\":24}\n[0.5,\"o\",\"hello\\r\\n\"]\n"

func TestUploadRetriesWithBackoffThenStores(t *testing.T) {
	fx := newFixture(t, true)
	id := "0a0a0a0a-0000-4000-8000-000000000001"
	fx.session(t, id, cast)
	fx.obj.failPuts = 2

	fx.step(t)
	f := fx.file(t, id)
	if f.State != store.RecordingSpool || f.Attempts != 1 || !strings.Contains(f.LastError, "cannot be reached") {
		t.Fatalf("after a failed upload: %+v", f)
	}
	wait := f.NextAttemptAt.Sub(fx.clock())
	if wait <= 0 || wait > time.Second {
		t.Fatalf("first retry in %v, want within RetryBase", wait)
	}
	fx.step(t) // not due yet: nothing happens
	if fx.obj.puts != 1 {
		t.Fatalf("an upload ran before its retry was due (%d puts)", fx.obj.puts)
	}
	fx.advance(time.Second)
	fx.step(t)
	f = fx.file(t, id)
	if f.Attempts != 2 || f.NextAttemptAt.Sub(fx.clock()) <= time.Second*8/10 {
		t.Fatalf("second retry: %+v, want ~2 s away", f)
	}
	fx.advance(2 * time.Second)
	fx.step(t)
	f = fx.file(t, id)
	if f.State != store.RecordingStored || f.ObjectKey != "rec/2026/11/27/"+id+".cast.gz" {
		t.Fatalf("after the upload: %+v", f)
	}
	if _, err := os.Stat(filepath.Join(fx.dir, f.LocalPath)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the spool copy is still there: %v", err)
	}
	ss, _ := fx.st.GetSession(fx.ctx, id)
	if ss.RecordingState != store.RecordingStored {
		t.Fatalf("session's recording state %q", ss.RecordingState)
	}
	rc, err := fx.s.Open(fx.ctx, ss)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != cast {
		t.Fatalf("read back %q", b)
	}
}

func TestBackoffDoublesUpToMax(t *testing.T) {
	s := New(nil, Options{RetryBase: time.Second, RetryMax: 8 * time.Second})
	for _, tc := range []struct {
		attempts int
		max      time.Duration
	}{{0, time.Second}, {1, 2 * time.Second}, {2, 4 * time.Second}, {3, 8 * time.Second}, {10, 8 * time.Second}, {1000, 8 * time.Second}} {
		got := s.backoff(tc.attempts)
		if got > tc.max || got < tc.max*4/5 {
			t.Errorf("backoff(%d) = %v, want within [%v, %v]", tc.attempts, got, tc.max*4/5, tc.max)
		}
	}
}

func TestUploadRefusesAChangedSpoolCopy(t *testing.T) {
	fx := newFixture(t, true)
	id := "0a0a0a0a-0000-4000-8000-000000000002"
	ss := fx.session(t, id, cast)
	os.WriteFile(filepath.Join(fx.dir, ss.RecordingPath), []byte(strings.Replace(cast, "hello", "HELLO", 1)), 0o600)
	fx.step(t)
	f := fx.file(t, id)
	if f.State != store.RecordingSpool || !strings.Contains(f.LastError, "was changed") {
		t.Fatalf("%+v", f)
	}
	if fx.obj.puts != 0 || len(fx.obj.objs) != 0 {
		t.Fatalf("a changed spool copy was sent: %d puts", fx.obj.puts)
	}
	if _, err := os.Stat(filepath.Join(fx.dir, ss.RecordingPath)); err != nil {
		t.Fatalf("the changed copy must stay for inspection: %v", err)
	}
}

func TestVerifyFindsChangedTruncatedAndMissing(t *testing.T) {
	fx := newFixture(t, true)
	ids := []string{"0a0a0a0a-0000-4000-8000-000000000003", "0a0a0a0a-0000-4000-8000-000000000004",
		"0a0a0a0a-0000-4000-8000-000000000005", "0a0a0a0a-0000-4000-8000-000000000006"}
	for _, id := range ids {
		fx.session(t, id, cast)
	}
	fx.step(t)
	gz := func(s string) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.Bytes()
	}
	fx.obj.objs[fx.file(t, ids[1]).ObjectKey] = gz(strings.Replace(cast, "hello", "HELLO", 1))
	full := fx.obj.objs[fx.file(t, ids[2]).ObjectKey]
	fx.obj.objs[fx.file(t, ids[2]).ObjectKey] = full[:len(full)-12]
	delete(fx.obj.objs, fx.file(t, ids[3]).ObjectKey)
	want := []string{VerifyOK, VerifyChanged, VerifyTruncated, VerifyMissing}
	for i, id := range ids {
		ss, _ := fx.st.GetSession(fx.ctx, id)
		vs, err := fx.s.Verify(fx.ctx, ss)
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 1 || vs[0].Result != want[i] {
			t.Errorf("session %d: %+v, want %s", i, vs, want[i])
		}
	}
}

func TestVerifyLocal(t *testing.T) {
	fx := newFixture(t, false)
	id := "0a0a0a0a-0000-4000-8000-000000000007"
	ss := fx.session(t, id, cast)
	fx.step(t)
	if f := fx.file(t, id); f.State != store.RecordingLocal {
		t.Fatalf("%+v", f)
	}
	vs, _ := fx.s.Verify(fx.ctx, ss)
	if vs[0].Result != VerifyOK {
		t.Fatalf("%+v", vs)
	}
	os.WriteFile(filepath.Join(fx.dir, ss.RecordingPath), []byte(cast[:20]), 0o600)
	vs, _ = fx.s.Verify(fx.ctx, ss)
	if vs[0].Result != VerifyTruncated {
		t.Fatalf("%+v", vs)
	}
}

func TestPruneDeletesOnlyExpired(t *testing.T) {
	fx := newFixture(t, true)
	old := "0a0a0a0a-0000-4000-8000-000000000008"
	oldLocal := "0a0a0a0a-0000-4000-8000-000000000009"
	fx.session(t, old, cast)
	fx.step(t) // stored
	fx.session(t, oldLocal, cast)
	fx.s.RegisterEnded(fx.ctx) // stays in the spool
	fx.advance(48 * time.Hour)
	recent := "0a0a0a0a-0000-4000-8000-00000000000a"
	fx.session(t, recent, cast)
	fx.s.RegisterEnded(fx.ctx)
	fx.s.uploadOne(fx.ctx, fx.file(t, recent))

	dry, err := fx.s.Prune(fx.ctx, fx.clock().Add(-24*time.Hour), "test", true)
	if err != nil || len(dry) != 2 {
		t.Fatalf("dry run: %d sessions, %v", len(dry), err)
	}
	if len(fx.obj.objs) != 2 {
		t.Fatalf("the dry run deleted: %d objects", len(fx.obj.objs))
	}
	pruned, err := fx.s.Prune(store.WithActor(fx.ctx, "test"), fx.clock().Add(-24*time.Hour), "test", false)
	if err != nil || len(pruned) != 2 {
		t.Fatalf("prune: %d sessions, %v", len(pruned), err)
	}
	if len(fx.obj.objs) != 1 {
		t.Fatalf("objects left: %v", fx.obj.objs)
	}
	if _, ok := fx.obj.objs[fx.file(t, recent).ObjectKey]; !ok {
		t.Fatal("the recent recording was deleted")
	}
	for _, id := range []string{old, oldLocal} {
		ss, _ := fx.st.GetSession(fx.ctx, id)
		if ss.RecordingState != store.RecordingExpired {
			t.Errorf("%s: %q", id, ss.RecordingState)
		}
		if _, err := fx.s.Open(fx.ctx, ss); err == nil || !strings.Contains(err.Error(), "recording expired") {
			t.Errorf("open an expired recording: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(fx.dir, fx.file(t, oldLocal).LocalPath)); !errors.Is(err, os.ErrNotExist) {
		t.Error("the spooled copy of an expired recording is still there")
	}
}

func TestRegisterSkipsRecordingsNotOnThisDisk(t *testing.T) {
	fx := newFixture(t, true)
	var ids []string
	for i := 0; i < registerBatch+3; i++ {
		id := "0b0b0b0b-0000-4000-8000-" + strings.Repeat("0", 9) + strconv.Itoa(100+i)
		ss := fx.session(t, id, cast)
		if i < registerBatch+1 { // another node's: not here
			os.Remove(filepath.Join(fx.dir, ss.RecordingPath))
		}
		ids = append(ids, id)
	}
	n, err := fx.s.RegisterEnded(fx.ctx)
	if err != nil || n != 2 {
		t.Fatalf("registered %d, %v; want the 2 on this disk", n, err)
	}
	if ss, _ := fx.st.GetSession(fx.ctx, ids[0]); ss.RecordingState != "" {
		t.Fatalf("another node's session was registered here: %q", ss.RecordingState)
	}
	if ss, _ := fx.st.GetSession(fx.ctx, ids[len(ids)-1]); ss.RecordingState != store.RecordingSpool {
		t.Fatalf("a session past a full page of others' was not registered: %q", ss.RecordingState)
	}
}

func TestSpoolFull(t *testing.T) {
	fx := newFixture(t, true)
	fx.s.o.SpoolMax = int64(len(cast)) + 1
	fx.session(t, "0c0c0c0c-0000-4000-8000-000000000001", cast)
	fx.s.measureSpool()
	if err := fx.s.SpoolFull(); err != nil {
		t.Fatalf("one recording under spool_max: %v", err)
	}
	fx.session(t, "0c0c0c0c-0000-4000-8000-000000000002", cast)
	fx.s.measureSpool()
	if err := fx.s.SpoolFull(); err == nil || !strings.Contains(err.Error(), "the recording spool is full") {
		t.Fatalf("over spool_max: %v", err)
	}
}

func TestPartsOfARunningSession(t *testing.T) {
	fx := newFixture(t, true)
	fx.s.o.PartInterval = time.Minute
	id := "0d0d0d0d-0000-4000-8000-000000000001"
	rel := filepath.Join("recordings", "2026-11-27", id+".cast")
	p := filepath.Join(fx.dir, rel)
	os.MkdirAll(filepath.Dir(p), 0o700)
	line1 := "{\"version\":2,\"width\":80,\"height\":24}\n[0.5,\"o\",\"one\\r\\n\"]\n"
	os.WriteFile(p, []byte(line1+"[0.7,\"o\",\"tw"), 0o600) // an event half written
	if _, err := fx.st.StartSession(fx.ctx, store.NewSession{ID: id, User: "alice", Asset: "web1", RecordingPath: rel}); err != nil {
		t.Fatal(err)
	}
	check := func() {
		var wg sync.WaitGroup
		fx.s.checkpoint(fx.ctx, &wg, make(chan struct{}, 2))
		wg.Wait()
	}
	check()
	fx.advance(30 * time.Second)
	check()
	if n := len(fx.obj.objs); n != 0 {
		t.Fatalf("%d parts before the interval", n)
	}
	fx.advance(31 * time.Second)
	check()
	key := "rec/2026/11/27/" + id + ".cast.gz"
	if _, ok := fx.obj.objs[key+".part-00001"]; !ok || len(fx.obj.objs) != 1 {
		t.Fatalf("objects after the interval: %v", fx.obj.objs)
	}
	full := line1 + "[0.7,\"o\",\"two\\r\\n\"]\n"
	os.WriteFile(p, []byte(full), 0o600)
	fx.advance(61 * time.Second)
	check()
	if _, ok := fx.obj.objs[key+".part-00002"]; !ok {
		t.Fatalf("no second part: %v", fx.obj.objs)
	}

	// The node is lost with its spool: the parts still replay.
	os.Rename(p, p+".away")
	ss, _ := fx.st.GetSession(fx.ctx, id)
	rc, err := fx.s.Open(fx.ctx, ss)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != full {
		t.Fatalf("from the parts: %q, want %q", b, full)
	}

	// It was not lost after all: the session ends, the whole recording is
	// uploaded, and the parts go.
	os.Rename(p+".away", p)
	sum := sha256.Sum256([]byte(full))
	fx.st.EndSession(fx.ctx, id, store.SessionEnd{Status: store.StatusClosed, RecordingSize: int64(len(full)), RecordingSHA256: hex.EncodeToString(sum[:])})
	fx.step(t)
	if len(fx.obj.objs) != 1 || fx.obj.objs[key] == nil {
		t.Fatalf("objects after the whole upload: %v", fx.obj.objs)
	}
}

func TestLastLineEnd(t *testing.T) {
	for _, tc := range []struct {
		in         string
		from, want int64
	}{
		{"", 0, 0}, {"abc", 0, 0}, {"a\nb", 0, 2}, {"a\nb\n", 0, 4}, {"a\nbc", 2, 2},
		{strings.Repeat("x", 200<<10) + "\n" + strings.Repeat("y", 100<<10), 0, 200<<10 + 1},
	} {
		got, err := lastLineEnd(strings.NewReader(tc.in), tc.from, int64(len(tc.in)))
		if err != nil || got != tc.want {
			t.Errorf("lastLineEnd(%.10q…, %d) = %d, %v; want %d", tc.in, tc.from, got, err, tc.want)
		}
	}
}

// FuzzLastLineEnd: whatever a session wrote, a part ends just past a
// newline inside its range, or is empty.
func FuzzLastLineEnd(f *testing.F) {
	f.Add([]byte("a\nb"), int64(0))
	f.Add([]byte(strings.Repeat("x", 70<<10)+"\n"), int64(3))
	f.Fuzz(func(t *testing.T, b []byte, from int64) {
		if from < 0 || from > int64(len(b)) {
			return
		}
		end, err := lastLineEnd(bytes.NewReader(b), from, int64(len(b)))
		if err != nil || end < from || end > int64(len(b)) {
			t.Fatalf("lastLineEnd = %d, %v (from %d, len %d)", end, err, from, len(b))
		}
		if end > from && b[end-1] != '\n' {
			t.Fatalf("a part ends at %d, not past a newline", end)
		}
		if bytes.IndexByte(b[end:], '\n') >= 0 {
			t.Fatalf("a newline after %d was left out", end)
		}
	})
}
