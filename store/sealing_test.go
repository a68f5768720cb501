package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// sealV1 makes an envelope as jms did before migration 0003: bound to the
// table, row id and column only.
func sealV1(t *testing.T, k *Key, plain, aad string) string {
	t.Helper()
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		t.Fatal(err)
	}
	ct := k.aead.Seal(nonce, nonce, []byte(plain), []byte("jms/v1/"+k.ID+"/"+aad))
	return "v1:" + k.ID + ":" + base64.RawStdEncoding.EncodeToString(ct)
}

func newKeyDir(t *testing.T) (string, *Key) {
	t.Helper()
	dir := t.TempDir()
	raw, _ := GenerateKeyBytes()
	if err := WriteKeyFile(filepath.Join(dir, KeyFileName), raw); err != nil {
		t.Fatal(err)
	}
	k, _ := NewKey(raw, "test")
	return dir, k
}

// openServer opens dir's store the way `jmsctl serve` does: reloading
// the key files when a rekey by another process changed the key.
func openServer(t *testing.T, dir string) *Store {
	t.Helper()
	sealer, err := LoadSealer(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), testDatabase(t, dir), Options{
		Sealer:       sealer,
		ReloadSealer: func() (*Sealer, error) { return LoadSealer(dir, "") },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Issue 10 item 4: a server that keeps running through a rekey by the
// CLI must seal what it seals afterwards (an MFA enrolment, an account)
// with the new key, so that nothing is lost once only the new key is left.
func TestServerSealsWithNewKeyAfterRekeyByCLI(t *testing.T) {
	ctx := context.Background()
	dir, _ := newKeyDir(t)
	server := openServer(t, dir)
	if _, err := server.AddUser(ctx, NewUser{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := server.AddAsset(ctx, NewAsset{Name: "web1", Address: "10.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	cli := openServer(t, dir)
	res, err := cli.RekeyDataDir(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	// The server has opened no new-key envelope: it still holds the old key.
	if err := server.EnableMFA(ctx, "alice", Secret("JBSWY3DPEHPK3PXP"), 0, nil); err != nil {
		t.Fatal(err)
	}
	acc, err := server.AddAccount(ctx, NewAccount{Asset: "web1", Username: "root", SecretKind: SecretPassword, Secret: Secret("pw")})
	if err != nil {
		t.Fatal(err)
	}
	if err := server.SetAccountSecret(ctx, "web1", "root", SecretPassword, Secret("pw2")); err != nil {
		t.Fatal(err)
	}
	uses, err := cli.KeyUsage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(uses) == 0 || uses[0].KeyID != res.NewKeyID || !uses[0].Current || uses[0].Envelopes != 2 {
		t.Fatalf("key usage %+v: want both values under the new key %s", uses, res.NewKeyID)
	}
	// The old key goes for good: the new key alone opens everything.
	if err := os.Remove(filepath.Join(dir, oldKeyFileName)); err != nil {
		t.Fatal(err)
	}
	fresh := openDataDir(t, dir)
	defer fresh.Close()
	if m, err := fresh.GetUserMFA(ctx, "alice"); err != nil || string(m.Seed) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("MFA seed sealed by the server after the rekey: %q %v", m.Seed, err)
	}
	if _, sec, err := fresh.AccountSecret(ctx, acc.ID); err != nil || string(sec) != "pw2" {
		t.Fatalf("account secret sealed by the server after the rekey: %q %v", sec, err)
	}
}

// A seal with a key the database does not name is refused with a clear
// error, never written.
func TestSealRefusesKeyTheDatabaseDoesNotName(t *testing.T) {
	ctx := context.Background()
	dir, _ := newKeyDir(t)
	s := openDataDir(t, dir)
	if _, err := s.AddUser(ctx, NewUser{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	if err := s.EnableMFA(ctx, "alice", Secret("JBSWY3DPEHPK3PXP"), 0, nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	raw, _ := GenerateKeyBytes()
	other, _ := NewKey(raw, KeySourceEnv)
	s2, err := Open(ctx, testDatabase(t, dir), Options{Sealer: NewSealer(other)})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	err = s2.EnableMFA(ctx, "alice", Secret("NEWSEEDNEWSEED"), 0, nil)
	if !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), other.ID) {
		t.Fatalf("seal with a key the database does not name: %v", err)
	}
	if _, err := s2.GetUserMFA(ctx, "alice"); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("open with the wrong key: %v", err)
	}
}

// Issue 10 item 18: an envelope from a removed row must not open in a new
// row that reused its id.
func TestSealedValueDoesNotOpenInRowThatReusedItsID(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	for _, a := range []string{"prod", "test"} {
		if _, err := s.AddAsset(ctx, NewAsset{Name: a, Address: "10.0.0.1"}); err != nil {
			t.Fatal(err)
		}
	}
	old, err := s.AddAccount(ctx, NewAccount{Asset: "prod", Username: "root", SecretKind: SecretPassword, Secret: Secret("prod-root-pw")})
	if err != nil {
		t.Fatal(err)
	}
	var env string
	if err := s.db.QueryRowContext(ctx, `SELECT secret FROM accounts WHERE id = ?`, old.ID).Scan(&env); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveAccount(ctx, "prod", "root"); err != nil {
		t.Fatal(err)
	}
	reused, err := s.AddAccount(ctx, NewAccount{Asset: "test", Username: "guest", SecretKind: SecretPassword, Secret: Secret("guest-pw")})
	if err != nil {
		t.Fatal(err)
	}
	if reused.ID != old.ID {
		t.Skipf("SQLite did not reuse id %d (got %d)", old.ID, reused.ID)
	}
	// The old envelope, pasted back from a backup into the new row.
	if _, err := s.db.ExecContext(ctx, `UPDATE accounts SET secret = ? WHERE id = ?`, env, reused.ID); err != nil {
		t.Fatal(err)
	}
	if _, sec, err := s.AccountSecret(ctx, reused.ID); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("a removed row's secret opened in the row that reused its id: %q %v", sec, err)
	}
}

// Concurrent secret changes and rekeys: every value stays readable with
// the last key alone (SetAccountSecret used to seal outside its
// transaction, with whatever key it held then).
func TestSetAccountSecretDuringRekeys(t *testing.T) {
	ctx := context.Background()
	dir, _ := newKeyDir(t)
	server := openServer(t, dir)
	if _, err := server.AddAsset(ctx, NewAsset{Name: "web1", Address: "10.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	acc, err := server.AddAccount(ctx, NewAccount{Asset: "web1", Username: "root", SecretKind: SecretPassword, Secret: Secret("pw-0")})
	if err != nil {
		t.Fatal(err)
	}
	cli := openServer(t, dir)
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	rekeyed := make(chan struct{})
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-rekeyed: // one last change after the last rekey
				if err := server.SetAccountSecret(ctx, "web1", "root", SecretPassword, Secret("pw-x")); err != nil {
					errc <- err
				}
				return
			default:
			}
			if err := server.SetAccountSecret(ctx, "web1", "root", SecretPassword, Secret("pw-x")); err != nil {
				errc <- err
				return
			}
			// A breath between writes: SQLite's busy handler is not fair,
			// and a writer that takes the lock again at once starved the
			// rekey past its 10 s busy timeout on a loaded machine.
			time.Sleep(200 * time.Microsecond)
		}
	}()
	go func() {
		defer wg.Done()
		defer close(rekeyed)
		for range 3 {
			if _, err := cli.RekeyDataDir(ctx, dir); err != nil {
				errc <- err
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, oldKeyFileName))
	fresh := openDataDir(t, dir)
	defer fresh.Close()
	if _, sec, err := fresh.AccountSecret(ctx, acc.ID); err != nil || string(sec) != "pw-x" {
		t.Fatalf("after concurrent rekeys: %q %v", sec, err)
	}
}

// A database made before migration 0003, with v1 envelopes, opens after
// the upgrade; a rekey re-seals its values as v2.
func TestV1DatabaseOpensAfterUpgrade(t *testing.T) {
	ctx := context.Background()
	dir, k := newKeyDir(t)
	path := testDatabase(t, dir)
	makeSchema2Database(t, path)
	raw := rawTestDB(t, path)
	now := "2026-01-01T00:00:00.000000Z"
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO users (id, name, mfa_seed, created_at, updated_at) VALUES (3, 'alice', ?, ?, ?)`,
			[]any{sealV1(t, k, "JBSWY3DPEHPK3PXP", "users:3:mfa_seed"), now, now}},
		{`INSERT INTO assets (id, name, address, created_at, updated_at) VALUES (1, 'web1', '10.0.0.1', ?, ?)`, []any{now, now}},
		{`INSERT INTO accounts (id, asset_id, username, secret_kind, secret, created_at, updated_at) VALUES (7, 1, 'root', 'password', ?, ?, ?)`,
			[]any{sealV1(t, k, "old-root-pw", "accounts:7:secret"), now, now}},
	} {
		if _, err := raw.ExecContext(ctx, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	s := openServer(t, dir)
	if v, _ := s.SchemaVersion(ctx); v < 3 {
		t.Fatalf("schema version %d after upgrade", v)
	}
	check := func(s *Store) {
		t.Helper()
		if _, sec, err := s.AccountSecret(ctx, 7); err != nil || string(sec) != "old-root-pw" {
			t.Fatalf("v1 account secret: %q %v", sec, err)
		}
		if m, err := s.GetUserMFA(ctx, "alice"); err != nil || string(m.Seed) != "JBSWY3DPEHPK3PXP" {
			t.Fatalf("v1 MFA seed: %q %v", m.Seed, err)
		}
	}
	check(s)
	uses, err := s.KeyUsage(ctx)
	if err != nil || len(uses) != 1 || uses[0].KeyID != k.ID || uses[0].Envelopes != 2 || uses[0].V1 != 2 {
		t.Fatalf("key usage before rekey: %+v %v", uses, err)
	}
	// A wrong key is a clear error, never garbage.
	wrongRaw, _ := GenerateKeyBytes()
	wrong, _ := NewKey(wrongRaw, "wrong")
	ws, err := Open(ctx, path, Options{Sealer: NewSealer(wrong)})
	if err != nil {
		t.Fatal(err)
	}
	if _, sec, err := ws.AccountSecret(ctx, 7); !errors.Is(err, ErrWrongKey) || sec != nil {
		t.Fatalf("wrong key: %q %v", sec, err)
	}
	ws.Close()

	if _, err := s.RekeyDataDir(ctx, dir); err != nil {
		t.Fatal(err)
	}
	check(s)
	uses, _ = s.KeyUsage(ctx)
	for _, u := range uses {
		if u.V1 != 0 || (u.Envelopes > 0 && !u.Current) {
			t.Fatalf("after rekey: %+v", uses)
		}
	}
	check(openServer(t, dir))
}

// makeSchema2Database makes a database at schema version 2, as jms made
// it before migration 0003.
func makeSchema2Database(t *testing.T, path string) {
	t.Helper()
	ms, err := migrations(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	db := rawTestDB(t, path)
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.version > 2 {
			break
		}
		if _, err := db.ExecContext(context.Background(), db.d.migrationSQL(m.sql)); err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		if _, err := db.ExecContext(context.Background(), `INSERT INTO schema_migrations VALUES (?, ?, '2026-01-01T00:00:00.000000Z')`, m.version, m.name); err != nil {
			t.Fatal(err)
		}
	}
	if testEngine == SQLite {
		if err := os.Chmod(path, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// secret.key.old keeps opening what a process that did not see the
// rekey sealed under the old key; the next rekey re-seals it and only
// then replaces secret.key.old.
func TestOldKeyKeptUntilNothingNamesIt(t *testing.T) {
	ctx := context.Background()
	dir, k1 := newKeyDir(t)
	s := openServer(t, dir)
	if _, err := s.AddAsset(ctx, NewAsset{Name: "web1", Address: "10.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	acc, err := s.AddAccount(ctx, NewAccount{Asset: "web1", Username: "root", SecretKind: SecretPassword, Secret: Secret("pw")})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.RekeyDataDir(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	old, err := readKeyFile(filepath.Join(dir, oldKeyFileName))
	if err != nil || old.ID != k1.ID {
		t.Fatalf("secret.key.old: %v %v, want key %s", old, err, k1.ID)
	}
	// An older jmsctl, unaware of the rekey, seals under the old key.
	b := accountBinding(acc.ID, "")
	env := sealV1(t, k1, "pw-old-binary", b.aad(envelopeV1))
	if _, err := s.db.ExecContext(ctx, `UPDATE accounts SET secret = ?, secret_ref = '' WHERE id = ?`, env, acc.ID); err != nil {
		t.Fatal(err)
	}
	fresh := openDataDir(t, dir)
	if _, sec, err := fresh.AccountSecret(ctx, acc.ID); err != nil || string(sec) != "pw-old-binary" {
		t.Fatalf("value under the old key: %q %v", sec, err)
	}
	uses, _ := fresh.KeyUsage(ctx)
	found := false
	for _, u := range uses {
		if u.KeyID == k1.ID {
			found = u.Envelopes == 1 && !u.Current && strings.HasSuffix(u.Source, oldKeyFileName)
		}
	}
	if !found {
		t.Fatalf("key usage does not show the old key in use: %+v", uses)
	}
	fresh.Close()
	res2, err := s.RekeyDataDir(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	old, err = readKeyFile(filepath.Join(dir, oldKeyFileName))
	if err != nil || old.ID != res.NewKeyID || res2.OldKeyID != res.NewKeyID {
		t.Fatalf("secret.key.old after a second rekey: %v %v", old, err)
	}
	if _, sec, err := openDataDir(t, dir).AccountSecret(ctx, acc.ID); err != nil || string(sec) != "pw-old-binary" {
		t.Fatalf("after the second rekey: %q %v", sec, err)
	}
}

// Open never panics and never returns a value with an error.
func FuzzSealerOpen(f *testing.F) {
	raw := make([]byte, KeySize)
	k, _ := NewKey(raw, "fuzz")
	s := NewSealer(k)
	env, _ := s.Seal(Secret("hunter2"), "accounts:1:secret:ab")
	f.Add(env, "accounts:1:secret:ab")
	f.Add(env, "accounts:1:secret")
	f.Add("v1"+env[2:], "accounts:1:secret:ab")
	f.Add("v1:"+k.ID+":", "accounts:1:secret")
	f.Add("v2:"+k.ID+":AAAA", "")
	f.Add("v3:x:y", "a")
	f.Fuzz(func(t *testing.T, envelope, aad string) {
		plain, err := s.Open(envelope, aad)
		if err != nil && plain != nil {
			t.Fatalf("Open returned %q with %v", plain, err)
		}
		if err != nil && !errors.Is(err, ErrWrongKey) {
			t.Fatalf("Open error %v is not ErrWrongKey", err)
		}
		if err == nil && (string(plain) != "hunter2" || aad != "accounts:1:secret:ab" || !strings.HasPrefix(envelope, "v2:"+k.ID+":")) {
			t.Fatalf("Open accepted a forged envelope %q for %q", envelope, aad)
		}
	})
}

// In a database that records no current key yet (made before 0003), a
// process with a wrong key cannot make its key the current one.
func TestWrongKeyCannotBecomeCurrentInUpgradedDatabase(t *testing.T) {
	ctx := context.Background()
	dir, k := newKeyDir(t)
	path := testDatabase(t, dir)
	makeSchema2Database(t, path)
	raw := rawTestDB(t, path)
	now := "2026-01-01T00:00:00.000000Z"
	if _, err := raw.ExecContext(ctx, `INSERT INTO users (id, name, mfa_seed, created_at, updated_at) VALUES (1, 'alice', ?, ?, ?), (2, 'bob', NULL, ?, ?)`,
		sealV1(t, k, "JBSWY3DPEHPK3PXP", "users:1:mfa_seed"), now, now, now, now); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	wrongRaw, _ := GenerateKeyBytes()
	wrong, _ := NewKey(wrongRaw, KeySourceEnv)
	ws, err := Open(ctx, path, Options{Sealer: NewSealer(wrong)})
	if err != nil {
		t.Fatal(err)
	}
	if err := ws.EnableMFA(ctx, "bob", Secret("SEEDSEEDSEED"), 0, nil); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("seal with a wrong key in an upgraded database: %v", err)
	}
	ws.Close()
	s := openServer(t, dir)
	if err := s.EnableMFA(ctx, "bob", Secret("SEEDSEEDSEED"), 0, nil); err != nil {
		t.Fatalf("seal with the right key: %v", err)
	}
}
