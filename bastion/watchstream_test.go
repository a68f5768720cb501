package bastion

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/jms-bastion/jms/store"
)

// readAll drains what a RemoteRecording has now.
func readAll(t *testing.T, rr *RemoteRecording) []byte {
	t.Helper()
	var out []byte
	b := make([]byte, 4096)
	for {
		n, err := rr.Read(b)
		out = append(out, b[:n]...)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// A session's recording reaches a watcher on another node through the
// store: what the holding node publishes at each poll, bounded, and the
// rest with the end once the session ends.
func TestWatchAcrossNodes(t *testing.T) {
	ctx := context.Background()
	st, _ := newClusterStore(t)
	holder := &Server{st: st, log: slog.New(slog.DiscardHandler)}
	path := filepath.Join(t.TempDir(), "s.cast")
	want := []byte(`{"version": 2, "width": 80, "height": 24}` + "\n" + `[0.1, "o", "hello"]` + "\n")
	if err := os.WriteFile(path, want, 0o600); err != nil {
		t.Fatal(err)
	}
	ss, err := st.StartSession(ctx, store.NewSession{User: "alice", Asset: "web1", Node: "a", RecordingPath: path})
	if err != nil {
		t.Fatal(err)
	}
	rr, err := OpenRemoteRecording(ctx, st, ss)
	if err != nil {
		t.Fatal(err)
	}
	rr.interval = 0
	live := map[string]*liveSession{ss.ID: {id: ss.ID, recording: path}}

	holder.publishWatches(ctx, live)
	if got := readAll(t, rr); !bytes.Equal(got, want) {
		t.Fatalf("first read %q, want %q", got, want)
	}

	// The watcher does not read: at most MaxWatchPending chunks wait.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	defer f.Close()
	var more []byte
	for i := range store.MaxWatchPending + 3 {
		line := []byte(`[0.2, "o", "line ` + string(rune('a'+i)) + `"]` + "\n")
		f.Write(line)
		more = append(more, line...)
		holder.publishWatches(ctx, live)
	}
	reqs, _ := st.WatchRequests(ctx, []string{ss.ID})
	if len(reqs) != 1 || reqs[0].Pending != store.MaxWatchPending {
		t.Fatalf("pending = %+v, want %d chunks", reqs, store.MaxWatchPending)
	}
	got := readAll(t, rr)

	// The session ends: the rest is published with the end.
	if err := st.EndSession(ctx, ss.ID, store.SessionEnd{Status: store.StatusClosed}); err != nil {
		t.Fatal(err)
	}
	if rr.Ended() {
		t.Fatal("ended before the holder completed the stream")
	}
	holder.finishWatches(ss.ID, path)
	got = append(got, readAll(t, rr)...)
	if !bytes.Equal(got, more) {
		t.Fatalf("read %q, want %q", got, more)
	}
	if !rr.Ended() {
		t.Fatal("the stream did not end")
	}
	if err := rr.Close(); err != nil {
		t.Fatal(err)
	}
	if reqs, _ := st.WatchRequests(ctx, []string{ss.ID}); len(reqs) != 0 {
		t.Fatalf("watch left behind: %+v", reqs)
	}
}

// A watch's chunks are bound to it: another watch naming its id reads
// nothing.
func TestWatchChunksAreSealed(t *testing.T) {
	ctx := context.Background()
	st, _ := newClusterStore(t)
	ss, _ := st.StartSession(ctx, store.NewSession{User: "alice", Node: "a"})
	w1, _ := st.OpenWatch(ctx, ss)
	w2, _ := st.OpenWatch(ctx, ss)
	reqs, _ := st.WatchRequests(ctx, []string{ss.ID})
	if err := st.PublishWatch(ctx, reqs[0], []byte("s3cret output"), false); err != nil {
		t.Fatal(err)
	}
	// w2 claiming w1's id reads nothing: its ref does not match.
	forged := w2
	forged.ID = w1.ID
	if _, _, err := st.ReadWatch(ctx, forged); err == nil {
		t.Fatal("a watch read another's chunks")
	}
	data, _, err := st.ReadWatch(ctx, w1)
	if err != nil || string(data) != "s3cret output" {
		t.Fatalf("read %q, %v", data, err)
	}
}
