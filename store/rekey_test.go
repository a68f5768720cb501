package store

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

func testPrivateKey(t *testing.T) []byte {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block)
}

// openDataDir opens dir/jms.db with the key files of dir.
func openDataDir(t *testing.T, dir string) *Store {
	t.Helper()
	sealer, err := LoadSealer(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), testDatabase(t, dir), Options{Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func checkSecrets(t *testing.T, s *Store, want map[int64]string) {
	t.Helper()
	for id, plain := range want {
		_, sec, err := s.AccountSecret(context.Background(), id)
		if err != nil || string(sec) != plain {
			t.Fatalf("account %d: %v", id, err)
		}
	}
}

func TestAccountSecretNeverInClear(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	if _, err := s.AddAsset(ctx, NewAsset{Name: "web1", Address: "10.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	const pw = "hunter2-correct-horse"
	acc, err := s.AddAccount(ctx, NewAccount{Asset: "web1", Username: "root", SecretKind: SecretPassword, Secret: Secret(pw)})
	if err != nil {
		t.Fatal(err)
	}
	key := testPrivateKey(t)
	acc2, err := s.AddAccount(ctx, NewAccount{Asset: "web1", Username: "deploy", SecretKind: SecretKey, Secret: Secret(key)})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{acc.ID, acc2.ID} {
		var raw string
		if err := s.db.QueryRowContext(ctx, `SELECT secret FROM accounts WHERE id = ?`, id).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(raw, pw) || strings.Contains(raw, "PRIVATE KEY") || !strings.HasPrefix(raw, "v2:") {
			t.Fatalf("secret column in clear: %q", raw)
		}
	}
	// nor anywhere else in the database file, audit included
	if testEngine != SQLite {
		return // PostgreSQL's files are the server's
	}
	s.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	var path string
	s.db.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&path)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(pw)) || bytes.Contains(b, key[40:80]) {
		t.Fatal("the database file holds a secret in clear")
	}
}

func TestRekeyDataDir(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	raw1, _ := GenerateKeyBytes()
	if err := WriteKeyFile(filepath.Join(dir, KeyFileName), raw1); err != nil {
		t.Fatal(err)
	}
	s := openDataDir(t, dir)
	if _, err := s.AddAsset(ctx, NewAsset{Name: "web1", Address: "10.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	want := map[int64]string{}
	for _, u := range []string{"root", "admin"} {
		acc, err := s.AddAccount(ctx, NewAccount{Asset: "web1", Username: u, SecretKind: SecretPassword, Secret: Secret("pw-" + u)})
		if err != nil {
			t.Fatal(err)
		}
		want[acc.ID] = "pw-" + u
	}
	k1 := s.Sealer().KeyID()

	// An interrupted rekey: secret.key.new written and the transaction
	// committed, but the rename never happened.
	raw2, _ := GenerateKeyBytes()
	if err := WriteKeyFile(filepath.Join(dir, newKeyFileName), raw2); err != nil {
		t.Fatal(err)
	}
	k2, _ := NewKey(raw2, "k2")
	k1key, _ := NewKey(raw1, "k1")
	if _, err := s.Rekey(ctx, NewSealer(k2, k1key)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openDataDir(t, dir)
	checkSecrets(t, s, want) // readable through secret.key.new
	if s.Sealer().KeyID() != k1 {
		t.Fatal("secret.key is still the primary until the rename")
	}

	// A rekey now resumes with secret.key.new and finishes.
	res, err := s.RekeyDataDir(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || res.NewKeyID != k2.ID || res.Resealed != 2 {
		t.Fatalf("result %+v", res)
	}
	if _, err := os.Stat(filepath.Join(dir, newKeyFileName)); !os.IsNotExist(err) {
		t.Fatalf("secret.key.new left behind: %v", err)
	}
	checkSecrets(t, s, want)
	s.Close()

	// A fresh rekey, then the old key alone cannot open anything.
	s = openDataDir(t, dir)
	defer s.Close()
	checkSecrets(t, s, want)
	res, err = s.RekeyDataDir(ctx, dir)
	if err != nil || res.Resumed || res.OldKeyID != k2.ID || res.NewKeyID == k2.ID {
		t.Fatalf("rekey %+v %v", res, err)
	}
	checkSecrets(t, s, want)
	fi, err := os.Stat(filepath.Join(dir, KeyFileName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v %v", fi.Mode(), err)
	}
	s2 := openDataDir(t, dir)
	defer s2.Close()
	checkSecrets(t, s2, want)
	old, _ := Open(ctx, testDatabase(t, dir), Options{Sealer: NewSealer(k2)})
	defer old.Close()
	for id := range want {
		if _, _, err := old.AccountSecret(ctx, id); err == nil {
			t.Fatal("the old key still opens a secret")
		}
	}
}

func TestRekeyRefusesEnvKey(t *testing.T) {
	raw, _ := GenerateKeyBytes()
	k, _ := NewKey(raw, KeySourceEnv)
	s, err := Open(context.Background(), testDatabase(t, t.TempDir()), Options{Sealer: NewSealer(k)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.RekeyDataDir(context.Background(), t.TempDir()); err == nil || !strings.Contains(err.Error(), KeySourceEnv) {
		t.Fatalf("got %v", err)
	}
}
