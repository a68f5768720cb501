package store

import (
	"context"
	"path/filepath"
	"testing"
)

// A server keeps its store open while `jmsctl secret rekey` runs in
// another process: it must still open secrets afterwards.
func TestRekeyByAnotherProcessReloadsKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	raw, _ := GenerateKeyBytes()
	if err := WriteKeyFile(filepath.Join(dir, KeyFileName), raw); err != nil {
		t.Fatal(err)
	}
	open := func() *Store {
		sealer, err := LoadSealer(dir, "")
		if err != nil {
			t.Fatal(err)
		}
		s, err := Open(ctx, testDatabase(t, dir), Options{
			Sealer:       sealer,
			ReloadSealer: func() (*Sealer, error) { return LoadSealer(dir, "") },
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	server := open()
	if _, err := server.AddAsset(ctx, NewAsset{Name: "web1", Address: "10.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	acc, err := server.AddAccount(ctx, NewAccount{Asset: "web1", Username: "root", SecretKind: SecretPassword, Secret: Secret("s3cret-pw")})
	if err != nil {
		t.Fatal(err)
	}
	cli := open()
	if _, err := cli.RekeyDataDir(ctx, dir); err != nil {
		t.Fatal(err)
	}
	_, sec, err := server.AccountSecret(ctx, acc.ID)
	if err != nil {
		t.Fatalf("after a rekey by another process: %v", err)
	}
	if string(sec) != "s3cret-pw" {
		t.Fatalf("got %q", sec)
	}
	if server.Sealer().KeyID() != cli.Sealer().KeyID() {
		t.Fatal("the server did not take the new key")
	}
}
