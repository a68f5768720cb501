package bastion

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jms-bastion/jms/recorder"
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

// outputOf returns the output events of a streamed recording, joined.
func outputOf(t *testing.T, stream []byte) string {
	t.Helper()
	r, err := recorder.NewReader(bytes.NewReader(stream))
	if err != nil {
		t.Fatalf("the stream is no recording: %v", err)
	}
	evs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("the stream: %v", err)
	}
	var out strings.Builder
	for _, ev := range evs {
		if ev.Type == recorder.TypeOutput {
			out.WriteString(ev.Data)
		}
	}
	return out.String()
}

// A session without a PTY writes its output to its raw stream file: a
// watcher on another node gets it as output events between the cast's
// lines (stdout and stderr, not stdin), as a local watch shows it.
func TestWatchAcrossNodesWithoutPTY(t *testing.T) {
	ctx := context.Background()
	st, _ := newClusterStore(t)
	holder := &Server{st: st, log: slog.New(slog.DiscardHandler)}
	path := filepath.Join(t.TempDir(), "s.cast")
	header := `{"version": 2, "width": 80, "height": 24}` + "\n"
	if err := os.WriteFile(path, []byte(header), 0o600); err != nil {
		t.Fatal(err)
	}
	raw, err := recorder.CreateRaw(recorder.RawPath(path), time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	ss, err := st.StartSession(ctx, store.NewSession{User: "alice", Asset: "web1", Node: "a", RecordingPath: path})
	if err != nil {
		t.Fatal(err)
	}
	rr, err := OpenRemoteRecording(ctx, st, ss)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	rr.interval = 0
	live := map[string]*liveSession{ss.ID: {id: ss.ID, recording: path}}
	write := func(s recorder.Stream, p string) {
		t.Helper()
		if err := raw.Write(s, []byte(p)); err != nil {
			t.Fatal(err)
		}
		if err := raw.Flush(); err != nil {
			t.Fatal(err)
		}
	}

	write(recorder.StreamStdin, "typed secret\n")
	write(recorder.StreamStdout, "total 8\n")
	write(recorder.StreamStderr, "ls: cannot open\n")
	holder.publishWatches(ctx, live)
	got := readAll(t, rr)

	// More output, a cast line (a notice) between, and one frame larger
	// than a chunk: its line is cut across chunks, the cast line after it.
	write(recorder.StreamStdout, "\xff\xfebinary\n")
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`[0.5, "o", "[jms] notice\r\n"]` + "\n")
	f.Close()
	big := strings.Repeat("x", store.MaxWatchChunk+100)
	write(recorder.StreamStdout, big)
	for range 4 {
		holder.publishWatches(ctx, live)
		got = append(got, readAll(t, rr)...)
	}
	raw.Close()
	if err := st.EndSession(ctx, ss.ID, store.SessionEnd{Status: store.StatusClosed}); err != nil {
		t.Fatal(err)
	}
	holder.finishWatches(ss.ID, path)
	got = append(got, readAll(t, rr)...)
	if !rr.Ended() {
		t.Fatal("the stream did not end")
	}

	out := outputOf(t, got)
	// As a local watch: each poll's cast lines, then its raw output;
	// invalid UTF-8 shows as U+FFFD.
	want := "total 8\nls: cannot open\n[jms] notice\r\n\uFFFDbinary\n" + big
	if out != want {
		t.Fatalf("the watcher saw %d bytes of output:\n%.200q\nwant %d:\n%.200q", len(out), out, len(want), want)
	}
	if strings.Contains(string(got), "typed secret") {
		t.Fatal("stdin reached the watcher")
	}
	holder.feeds.mu.Lock()
	defer holder.feeds.mu.Unlock()
	if len(holder.feeds.m) != 0 {
		t.Fatalf("feeds left behind: %d", len(holder.feeds.m))
	}
}
