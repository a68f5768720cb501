package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// KeySize is the size of a secret key: AES-256.
const KeySize = 32

// Envelope versions. Every sealed value reads "<version>:<key id>:<base64>",
// and the version is part of the associated data, so it cannot be changed.
//
//   - v1 binds a value to its table, row id and column. Row ids are reused
//     (INTEGER PRIMARY KEY without AUTOINCREMENT), so a value from a removed
//     row could open in a new row that took its id. v1 values are still
//     opened; a rekey re-seals them as v2.
//   - v2 binds it also to a random ref made at each seal and kept in the
//     row beside it, which no other row ever has.
const (
	envelopeV1      = "v1"
	envelopeVersion = "v2" // what Seal writes
)

// ErrWrongKey means a sealed value could not be opened with the loaded
// key: the key is not the one it was sealed with, or the value was
// tampered with or copied from another row.
var ErrWrongKey = errors.New("cannot open sealed secret")

// Secret is a clear-text secret in memory. Its String and GoString
// redact it so that it cannot leak through fmt or a log line.
type Secret []byte

func (Secret) String() string   { return "[redacted]" }
func (Secret) GoString() string { return "store.Secret([redacted])" }

// MarshalText redacts too, for JSON and YAML encoders.
func (Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// Key is a secret key with its id (the first 8 bytes of its SHA-256, in
// hex), which sealed envelopes carry so that a wrong key is named.
type Key struct {
	ID     string
	Source string // where it came from, for error messages
	aead   cipher.AEAD
}

// NewKey makes a Key from 32 raw bytes.
func NewKey(raw []byte, source string) (*Key, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("secret key from %s: want %d bytes, have %d", source, KeySize, len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(raw)
	return &Key{ID: hex.EncodeToString(sum[:8]), Source: source, aead: aead}, nil
}

// GenerateKeyBytes returns 32 random bytes for a new key.
func GenerateKeyBytes() ([]byte, error) {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("generate secret key: %w", err)
	}
	return b, nil
}

// Sealer seals with its primary key and opens with any of its keys.
// Secrets are sealed with AES-256-GCM, bound by associated data to the
// row and column they belong to.
type Sealer struct {
	primary *Key
	keys    map[string]*Key
}

// NewSealer returns a sealer that seals with primary and also opens
// values sealed under any of others (a rekey in progress).
func NewSealer(primary *Key, others ...*Key) *Sealer {
	s := &Sealer{primary: primary, keys: map[string]*Key{primary.ID: primary}}
	for _, k := range others {
		if k != nil {
			if _, ok := s.keys[k.ID]; !ok {
				s.keys[k.ID] = k
			}
		}
	}
	return s
}

// KeyInfo names a key a sealer holds.
type KeyInfo struct {
	ID     string
	Source string
}

// Keys lists the keys the sealer holds, the primary first.
func (s *Sealer) Keys() []KeyInfo {
	if s == nil {
		return nil
	}
	out := []KeyInfo{{s.primary.ID, s.primary.Source}}
	for id, k := range s.keys {
		if id != s.primary.ID {
			out = append(out, KeyInfo{id, k.Source})
		}
	}
	sort.Slice(out[1:], func(i, j int) bool { return out[1+i].ID < out[1+j].ID })
	return out
}

// withPrimary returns a sealer that holds the keys of s and of more and
// seals with the key whose id is primary, or false when none has it.
func (s *Sealer) withPrimary(primary string, more *Sealer) (*Sealer, bool) {
	all := map[string]*Key{}
	for _, from := range []*Sealer{s, more} {
		if from != nil {
			for id, k := range from.keys {
				all[id] = k
			}
		}
	}
	p, ok := all[primary]
	if !ok {
		return nil, false
	}
	return &Sealer{primary: p, keys: all}, true
}

// Has reports whether the sealer holds the key with this id.
func (s *Sealer) Has(keyID string) bool {
	if s == nil {
		return false
	}
	_, ok := s.keys[keyID]
	return ok
}

// KeyID is the id of the key new values are sealed with.
func (s *Sealer) KeyID() string { return s.primary.ID }

// Source says where the primary key came from.
func (s *Sealer) Source() string { return s.primary.Source }

// Seal encrypts plain into a current-version envelope, bound to aad (e.g.
// "accounts:12:secret:<ref>").
func (s *Sealer) Seal(plain Secret, aad string) (string, error) {
	if s == nil {
		return "", ErrNoKey
	}
	nonce := make([]byte, s.primary.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal secret: %w", err)
	}
	ct := s.primary.aead.Seal(nonce, nonce, plain, additional(envelopeVersion, s.primary.ID, aad))
	return envelopeVersion + ":" + s.primary.ID + ":" + base64.RawStdEncoding.EncodeToString(ct), nil
}

// Open decrypts an envelope made by Seal with the same aad; the
// envelope's version is bound too.
func (s *Sealer) Open(envelope, aad string) (Secret, error) {
	if s == nil {
		return nil, ErrNoKey
	}
	parts := strings.SplitN(envelope, ":", 3)
	if len(parts) != 3 || (parts[0] != envelopeVersion && parts[0] != envelopeV1) {
		return nil, fmt.Errorf("%w: not a sealed value (unknown envelope format)", ErrWrongKey)
	}
	k, ok := s.keys[parts[1]]
	if !ok {
		return nil, fmt.Errorf("%w: it was sealed with key %s, but the key from %s is %s",
			ErrWrongKey, parts[1], s.primary.Source, s.primary.ID)
	}
	ct, err := base64.RawStdEncoding.DecodeString(parts[2])
	if err != nil || len(ct) < k.aead.NonceSize() {
		return nil, fmt.Errorf("%w: the sealed value is damaged", ErrWrongKey)
	}
	nonce, body := ct[:k.aead.NonceSize()], ct[k.aead.NonceSize():]
	plain, err := k.aead.Open(nil, nonce, body, additional(parts[0], k.ID, aad))
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed (tampered, or copied from another row) with key %s from %s",
			ErrWrongKey, k.ID, k.Source)
	}
	return Secret(plain), nil
}

// SealedKeyID returns the key id an envelope names, "" if none.
func SealedKeyID(envelope string) string {
	parts := strings.SplitN(envelope, ":", 3)
	if len(parts) != 3 {
		return ""
	}
	return parts[1]
}

// EnvelopeVersion returns the version an envelope names ("v1", "v2"),
// "" if none.
func EnvelopeVersion(envelope string) string {
	v, _, ok := strings.Cut(envelope, ":")
	if !ok {
		return ""
	}
	return v
}

func additional(version, keyID, aad string) []byte {
	return []byte("jms/" + version + "/" + keyID + "/" + aad)
}

// binding says where a sealed value lives: its table, row id and column,
// and (from v2) the random ref stored beside it in the row.
type binding struct {
	table  string
	id     int64
	column string
	ref    string
}

// aad returns the associated data of the binding for an envelope version.
func (b binding) aad(version string) string {
	if version == envelopeV1 {
		return fmt.Sprintf("%s:%d:%s", b.table, b.id, b.column)
	}
	return fmt.Sprintf("%s:%d:%s:%s", b.table, b.id, b.column, b.ref)
}

// newSealRef returns a fresh random ref for a v2 binding.
func newSealRef() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("seal secret: %w", err)
	}
	return hex.EncodeToString(b), nil
}
