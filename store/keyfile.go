package store

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Key files in the data directory.
const (
	KeyFileName    = "secret.key"
	newKeyFileName = "secret.key.new" // a rekey in progress
	oldKeyFileName = "secret.key.old" // the key before the last rekey
)

// KeySourceEnv names the environment variable that overrides the key file.
const KeySourceEnv = "JMS_SECRET_KEY"

// LoadSealer loads the secret key: from envValue (the value of
// JMS_SECRET_KEY: 32 bytes in base64 or hex) when it is not empty,
// otherwise from dataDir/secret.key, which must be mode 0600 or
// stricter. A secret.key.new left by an interrupted rekey and the
// secret.key.old the last rekey kept are loaded as further keys, to open
// (never to seal), so that nothing becomes unreadable.
func LoadSealer(dataDir, envValue string) (*Sealer, error) {
	if envValue != "" {
		raw, err := decodeKey(strings.TrimSpace(envValue))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", KeySourceEnv, err)
		}
		k, err := NewKey(raw, KeySourceEnv)
		if err != nil {
			return nil, err
		}
		return NewSealer(k), nil
	}
	// A rekey running meanwhile makes secret.key.new, then secret.key.old
	// (a copy of secret.key), then renames secret.key.new over secret.key.
	// Read in this order, the files yield both keys at any point of it.
	var others []*Key
	optional := func(name string) error {
		k, err := readKeyFile(filepath.Join(dataDir, name))
		if err == nil {
			others = append(others, k)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	if err := optional(newKeyFileName); err != nil {
		return nil, err
	}
	k, err := readKeyFile(filepath.Join(dataDir, KeyFileName))
	if err != nil {
		return nil, err
	}
	if err := optional(oldKeyFileName); err != nil {
		return nil, err
	}
	return NewSealer(k, others...), nil
}

func readKeyFile(path string) (*Key, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("secret key %s does not exist (run 'jmsctl init', or set %s): %w", path, KeySourceEnv, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("secret key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secret key %s has mode %04o: it must be readable by its owner only (chmod 600 %s)", path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	raw := b
	if len(b) != KeySize {
		raw, err = decodeKey(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("secret key %s: %w", path, err)
		}
	}
	return NewKey(raw, path)
}

func decodeKey(s string) ([]byte, error) {
	if b, err := hex.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == KeySize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("not a %d-byte key in hex or base64", KeySize)
}

// WriteKeyFile writes a new key file (mode 0600) that must not exist yet.
// The file appears whole or not at all, so that a process reloading the
// keys at that moment never reads half a key.
func WriteKeyFile(path string, raw []byte) error {
	if err := writeNewFileAtomic(path, []byte(base64.StdEncoding.EncodeToString(raw)+"\n")); err != nil {
		return fmt.Errorf("write secret key: %w", err)
	}
	return nil
}

// writeNewFileAtomic writes content to a temporary file (0600), syncs it
// and links it to path, which must not exist yet.
func writeNewFileAtomic(path string, content []byte) error {
	tmp := path + ".tmp"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if _, err := f.Write(content); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.Link(tmp, path); err != nil {
		return err
	}
	return nil
}
