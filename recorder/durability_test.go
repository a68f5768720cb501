package recorder

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Creating a recording syncs its day folder (and the recordings folder
// when the day folder is new), so that a crash cannot lose the file's
// name while the session row points at it.
func TestCreateSyncsDayFolder(t *testing.T) {
	root := t.TempDir()
	var synced []string
	opts := Options{syncDir: func(dir string) error { synced = append(synced, dir); return syncDirectory(dir) }}
	day := filepath.Join(root, "2026-11-30")
	w, err := CreateWith(filepath.Join(day, "a.cast"), Header{Width: 80, Height: 24}, opts)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if !slices.Contains(synced, day) || !slices.Contains(synced, root) {
		t.Fatalf("synced %v, want the day folder %s and its parent %s", synced, day, root)
	}
	synced = nil
	w, err = CreateWith(filepath.Join(day, "b.cast"), Header{Width: 80, Height: 24}, opts)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if !slices.Equal(synced, []string{day}) {
		t.Fatalf("second file in an existing day folder synced %v, want [%s]", synced, day)
	}
}

func TestDigest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.cast")
	w, err := Create(path, Header{Width: 80, Height: 24})
	if err != nil {
		t.Fatal(err)
	}
	w.Output([]byte("hello"))
	w.Close()
	size, sum, err := Digest(path)
	if err != nil || size != w.Size() || sum != w.SHA256() {
		t.Fatalf("Digest = %d %s %v, writer says %d %s", size, sum, err, w.Size(), w.SHA256())
	}
	// A file a crash cut mid-line is digested as it is.
	if err := os.WriteFile(path, []byte(`{"version":2}`+"\n"+`[0.1, "o", "he`), 0o600); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	want := sha256.Sum256(b)
	if size, sum, err := Digest(path); err != nil || size != int64(len(b)) || sum != hex.EncodeToString(want[:]) {
		t.Fatalf("Digest of a cut file = %d %s %v", size, sum, err)
	}
	if _, _, err := Digest(filepath.Join(t.TempDir(), "none.cast")); err == nil {
		t.Fatal("Digest of a missing file succeeded")
	}
}
