package recorder

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestFollow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "live.cast")
	w, err := Create(path, Header{Width: 80, Height: 24})
	if err != nil {
		t.Fatal(err)
	}
	var ended atomic.Bool
	var out syncBuffer
	errc := make(chan error, 1)
	go func() {
		errc <- follow(context.Background(), path, &out, ended.Load, 2*time.Millisecond)
	}()

	var want strings.Builder
	for i := 0; i < 50; i++ {
		chunk := strings.Repeat("x", i) + "€\r\n"
		want.WriteString(chunk)
		if err := w.Output([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			w.Resize(80+i, 24)
			time.Sleep(3 * time.Millisecond)
		}
	}
	// The watcher sees output while the session is still live.
	deadline := time.Now().Add(5 * time.Second)
	for out.String() != want.String() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if out.String() != want.String() {
		t.Fatalf("live: got %d bytes, want %d", len(out.String()), want.Len())
	}
	w.Output([]byte("last words"))
	want.WriteString("last words")
	w.Close()
	ended.Store(true)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if out.String() != want.String() {
		t.Errorf("after the end: got %q", out.String()[max(0, len(out.String())-40):])
	}
}

func TestFollowWholeLinesOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "live.cast")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out syncBuffer
	var ended atomic.Bool
	errc := make(chan error, 1)
	go func() { errc <- follow(context.Background(), path, &out, ended.Load, time.Millisecond) }()

	// Write the header and events a few bytes at a time, as a slow disk
	// would show them.
	data := `{"version": 2, "width": 80, "height": 24}` + "\n" +
		`[0.1, "o", "hel"]` + "\n" + `[0.2, "o", "lo \u00e9"]` + "\n" + `[0.3, "i", "secret"]` + "\n" + `[0.4, "o", "!"]`
	for i := 0; i < len(data); i += 7 {
		f.WriteString(data[i:min(i+7, len(data))])
		time.Sleep(time.Millisecond)
	}
	ended.Store(true) // the last line never got its newline: a crash
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if out.String() != "hello é" {
		t.Errorf("followed %q", out.String())
	}
}

func TestFollowStopsAndFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "live.cast")
	w, err := Create(path, Header{Width: 80, Height: 24})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Output([]byte("x"))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	var out syncBuffer
	if err := follow(ctx, path, &out, nil, time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("follow = %v, want the context's error", err)
	}
	if out.String() != "x" {
		t.Errorf("followed %q", out.String())
	}

	if err := Follow(context.Background(), filepath.Join(t.TempDir(), "nope.cast"), &out, nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Follow missing file = %v", err)
	}

	bad := filepath.Join(t.TempDir(), "bad.cast")
	os.WriteFile(bad, []byte(`{"version": 2}`+"\n"+`[1, "o", "a"]`+"\n"+`oops`+"\n"), 0o600)
	err = Follow(context.Background(), bad, &out, func() bool { return true })
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("Follow bad file = %v", err)
	}
}
