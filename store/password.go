package store

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the argon2id cost parameters.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	KeyLen  uint32
	SaltLen uint32
}

// DefaultArgon2 is RFC 9106's second recommended option (64 MiB, t=3,
// p=4), measured at well under 250 ms per hash on a 2-core machine.
var DefaultArgon2 = Argon2Params{Memory: 64 * 1024, Time: 3, Threads: 4, KeyLen: 32, SaltLen: 16}

// ErrPasswordMismatch is returned by VerifyPassword for a wrong password.
var ErrPasswordMismatch = errors.New("wrong password")

// HashPassword returns an argon2id PHC string for password.
func HashPassword(password Secret, p Argon2Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	sum := argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(sum)), nil
}

// VerifyPassword checks password against a PHC string in constant time.
// needsRehash reports whether the stored parameters are weaker than want.
func VerifyPassword(password Secret, phc string, want Argon2Params) (needsRehash bool, err error) {
	p, salt, sum, err := parsePHC(phc)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, uint32(len(sum)))
	if subtle.ConstantTimeCompare(got, sum) != 1 {
		return false, ErrPasswordMismatch
	}
	weaker := p.Memory < want.Memory || p.Time < want.Time || p.Threads < want.Threads || uint32(len(sum)) < want.KeyLen
	return weaker, nil
}

func parsePHC(phc string) (Argon2Params, []byte, []byte, error) {
	var p Argon2Params
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, errors.New("password hash: not an argon2id PHC string")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, errors.New("password hash: unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, fmt.Errorf("password hash: bad parameters: %w", err)
	}
	if p.Memory == 0 || p.Time == 0 || p.Threads == 0 || p.Memory > 4*1024*1024 || p.Time > 100 {
		return p, nil, nil, errors.New("password hash: parameters out of range")
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return p, nil, nil, fmt.Errorf("password hash: salt: %w", err)
	}
	sum, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(sum) < 16 {
		return p, nil, nil, errors.New("password hash: bad digest")
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(sum))
	return p, salt, sum, nil
}

// PasswordPolicy is what a new password must satisfy.
type PasswordPolicy struct {
	MinLength int // in characters; 8 when zero
}

// Check returns an error saying what is wrong with password, or nil.
func (pp PasswordPolicy) Check(password Secret) error {
	min := pp.MinLength
	if min <= 0 {
		min = 8
	}
	if !utf8.Valid(password) {
		return errors.New("password is not valid UTF-8")
	}
	if n := utf8.RuneCount(password); n < min {
		return fmt.Errorf("password too short: %d characters, the policy wants at least %d", n, min)
	}
	if len(password) > 1024 {
		return errors.New("password too long: at most 1024 bytes")
	}
	return nil
}

// GeneratePassword returns a random password of n characters from an
// alphabet without look-alikes.
func GeneratePassword(n int) (Secret, error) {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, n)
	r := make([]byte, n)
	if _, err := rand.Read(r); err != nil {
		return nil, err
	}
	for i := range b {
		// 256 % 57 bias is negligible for a one-time password; reject
		// anyway to keep it uniform.
		for r[i] >= byte(256-256%len(alphabet)) {
			one := make([]byte, 1)
			if _, err := rand.Read(one); err != nil {
				return nil, err
			}
			r[i] = one[0]
		}
		b[i] = alphabet[int(r[i])%len(alphabet)]
	}
	return Secret(b), nil
}
