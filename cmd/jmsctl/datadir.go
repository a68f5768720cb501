package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/config"
	"github.com/jms-bastion/jms/store"
)

// initResult says what initDataDir made.
type initResult struct {
	Admin           string
	GeneratedSecret store.Secret // the admin password, when it was generated
	HostKey         string       // SHA256 fingerprint of the bastion's host key
	Joined          string       // the shared database this node joined, its admin made before
}

// isInitialised reports whether the data directory was made: it holds
// the database, or (the database being elsewhere) the host key.
func isInitialised(cfg config.Config) bool {
	_, err := os.Stat(initMarker(cfg))
	return err == nil
}

func initMarker(cfg config.Config) string {
	if cfg.EmbeddedDB() {
		return cfg.DBPath()
	}
	return cfg.HostKeyPath()
}

// initDataDir makes the data directory: the secret key (unless
// envKey provides one), the host key, the database and the first admin.
// It refuses an initialised directory and changes nothing then; on a
// failure half-way it removes what it made.
func initDataDir(ctx context.Context, cfg config.Config, envKey, admin string, password store.Secret, minLen int) (res initResult, err error) {
	if isInitialised(cfg) {
		return res, fmt.Errorf("%s is already initialised (%s exists); nothing changed", cfg.DataDir, filepath.Base(initMarker(cfg)))
	}
	if err := store.ValidName("user", admin); err != nil {
		return res, err
	}
	if password == nil {
		if password, err = store.GeneratePassword(20); err != nil {
			return res, err
		}
		res.GeneratedSecret = password
	} else if err := (store.PasswordPolicy{MinLength: minLen}).Check(password); err != nil {
		return res, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return res, fmt.Errorf("make data dir: %w", err)
	}
	var made []string
	defer func() {
		if err != nil {
			for i := len(made) - 1; i >= 0; i-- {
				os.Remove(made[i])
			}
		}
	}()
	if envKey == "" {
		if _, err := os.Stat(cfg.KeyPath()); errors.Is(err, os.ErrNotExist) {
			raw, err := store.GenerateKeyBytes()
			if err != nil {
				return res, err
			}
			if err := store.WriteKeyFile(cfg.KeyPath(), raw); err != nil {
				return res, err
			}
			made = append(made, cfg.KeyPath())
		}
	}
	sealer, err := store.LoadSealer(cfg.DataDir, envKey)
	if err != nil {
		return res, err
	}
	if _, err := os.Stat(cfg.HostKeyPath()); errors.Is(err, os.ErrNotExist) {
		if err := writeHostKey(cfg.HostKeyPath()); err != nil {
			return res, err
		}
		made = append(made, cfg.HostKeyPath(), cfg.HostKeyPath()+".pub")
	}
	if res.HostKey, err = hostKeyFingerprint(cfg.HostKeyPath()); err != nil {
		return res, err
	}
	if err := os.MkdirAll(cfg.RecordingsDir(), 0o700); err != nil {
		return res, fmt.Errorf("make recordings dir: %w", err)
	}
	hash, err := store.HashPassword(password, store.DefaultArgon2)
	if err != nil {
		return res, err
	}
	if cfg.EmbeddedDB() {
		made = append(made, cfg.DBPath(), cfg.DBPath()+"-wal", cfg.DBPath()+"-shm")
	}
	s, err := store.Open(ctx, cfg.StoreLocation(), store.Options{Sealer: sealer})
	if err != nil {
		return res, err
	}
	defer s.Close()
	if !cfg.EmbeddedDB() {
		if joined, err := joinDatabase(ctx, s, cfg, slices.Contains(made, cfg.KeyPath())); joined || err != nil {
			res.Joined = s.Location().String()
			return res, err
		}
	}
	if _, err := s.AddUser(ctx, store.NewUser{Name: admin, Role: store.RoleAdmin, PasswordHash: hash,
		Comment: "first admin, made by jmsctl init"}); err != nil {
		return res, err
	}
	res.Admin = admin
	return res, nil
}

// joinDatabase reports whether the shared database of a new node's data
// directory already holds people: the node then joins it, its first
// admin made long ago. A node that made its own secret key cannot join
// (the key would open nothing): it fails, and its files are removed.
func joinDatabase(ctx context.Context, s *store.Store, cfg config.Config, madeKey bool) (bool, error) {
	users, err := s.ListUsers(ctx)
	if err != nil || len(users) == 0 {
		return false, err
	}
	if madeKey {
		return true, fmt.Errorf("database %s already holds jms data, sealed with the cluster's key: copy secret.key from a node into %s (or set %s) and run this again; nothing changed",
			s.Location(), cfg.DataDir, store.KeySourceEnv)
	}
	return true, nil
}

// writeHostKey writes a new ed25519 host key in OpenSSH format (0600)
// and its .pub.
func writeHostKey(path string) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generate host key: %w", err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "jms host key")
	if err != nil {
		return fmt.Errorf("generate host key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write host key: %w", err)
	}
	if err := pem.Encode(f, block); err != nil {
		f.Close()
		return fmt.Errorf("write host key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write host key %s: %w", path, err)
	}
	spub, err := gossh.NewPublicKey(pub)
	if err != nil {
		return err
	}
	return os.WriteFile(path+".pub", gossh.MarshalAuthorizedKey(spub), 0o644)
}

func hostKeyFingerprint(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("host key: %w", err)
	}
	signer, err := gossh.ParsePrivateKey(b)
	if err != nil {
		return "", fmt.Errorf("host key %s: %w", path, err)
	}
	return gossh.FingerprintSHA256(signer.PublicKey()), nil
}

// readSecret reads one secret line from r (a password on stdin): the
// line ending is dropped, nothing else is trimmed.
func readSecret(r io.Reader, what string) (store.Secret, error) {
	br := bufio.NewReader(io.LimitReader(r, 64<<10))
	line, err := br.ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s from stdin: %w", what, err)
	}
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
	}
	if len(line) == 0 {
		return nil, fmt.Errorf("no %s on stdin", what)
	}
	return store.Secret(line), nil
}

// readSecretAll reads a whole secret (a private key) from r.
func readSecretAll(r io.Reader, what string) (store.Secret, error) {
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read %s from stdin: %w", what, err)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("no %s on stdin", what)
	}
	return store.Secret(b), nil
}
