package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// RecoveryCodeCount is how many recovery codes a user gets at a time.
const RecoveryCodeCount = 10

func mfaBinding(userID int64, ref string) binding {
	return binding{table: "users", id: userID, column: "mfa_seed", ref: ref}
}

// UserMFA is a user's TOTP state, for login.
type UserMFA struct {
	UserID   int64
	Seed     Secret // the base32 TOTP secret; nil when MFA is off
	LastStep int64  // the last TOTP time step a code was accepted for
	// SeedRef identifies the secret: a new one (an MFA reset) has
	// another. An MFA grace is bound to it.
	SeedRef string
}

// GetUserMFA returns the TOTP secret of user (opened) and the last
// used time step.
func (s *Store) GetUserMFA(ctx context.Context, name string) (UserMFA, error) {
	var m UserMFA
	var seed *string
	var ref string
	err := s.db.QueryRowContext(ctx, `SELECT id, mfa_seed, mfa_seed_ref, mfa_last_step FROM users WHERE name = ?`, name).
		Scan(&m.UserID, &seed, &ref, &m.LastStep)
	m.SeedRef = ref
	if err = wrapError(err); errors.Is(err, ErrNotFound) {
		return m, fmt.Errorf("user %q: %w", name, ErrNotFound)
	} else if err != nil {
		return m, err
	}
	if seed != nil && *seed != "" {
		if m.Seed, err = s.openBound(*seed, mfaBinding(m.UserID, ref)); err != nil {
			return m, fmt.Errorf("MFA secret of %q: %w", name, err)
		}
	}
	return m, nil
}

// EnableMFA stores a (new) TOTP secret for user, sealed, with the last
// used step (0, or the step of the code that proved the enrolment), and
// replaces her recovery codes with the hashes of codes. The change is
// audited as mfa.enable, without the secret.
func (s *Store) EnableMFA(ctx context.Context, name string, seed Secret, lastStep int64, codes []string) error {
	return s.enableMFA(ctx, name, seed, lastStep, codes, false)
}

// EnrolMFA is EnableMFA for a person enrolling herself: it refuses
// with ErrConflict, changing nothing, when she has MFA already (turned
// on meanwhile by an administrator or another of her sessions), so that
// an enrolment never replaces a secret.
func (s *Store) EnrolMFA(ctx context.Context, name string, seed Secret, lastStep int64, codes []string) error {
	return s.enableMFA(ctx, name, seed, lastStep, codes, true)
}

func (s *Store) enableMFA(ctx context.Context, name string, seed Secret, lastStep int64, codes []string, onlyIfOff bool) error {
	return s.withTx(ctx, func(q querier) error {
		var id int64
		var current *string
		if err := q.QueryRowContext(ctx, `SELECT id, mfa_seed FROM users WHERE name = ?`, name).Scan(&id, &current); err != nil {
			if err = wrapError(err); errors.Is(err, ErrNotFound) {
				return fmt.Errorf("user %q: %w", name, ErrNotFound)
			}
			return err
		}
		if onlyIfOff && current != nil && *current != "" {
			return fmt.Errorf("user %q has MFA already: %w", name, ErrConflict)
		}
		sealed, ref, err := s.sealIn(ctx, q, seed, mfaBinding(id, ""))
		if err != nil {
			return err
		}
		now := formatTime(s.now())
		if _, err := q.ExecContext(ctx, `UPDATE users SET mfa_seed = ?, mfa_seed_ref = ?, mfa_last_step = ?, updated_at = ? WHERE id = ?`,
			sealed, ref, lastStep, now, id); err != nil {
			return wrapError(err)
		}
		if err := endMFAGrace(ctx, q, id); err != nil {
			return err
		}
		if err := replaceRecoveryCodes(ctx, q, id, codes, now); err != nil {
			return err
		}
		return s.recordOp(ctx, q, "user.mfa.enable", name, map[string]any{"recovery_codes": len(codes)})
	})
}

// DisableMFA removes a user's TOTP secret and recovery codes.
func (s *Store) DisableMFA(ctx context.Context, name string) error {
	return s.withTx(ctx, func(q querier) error {
		if err := execOne(ctx, q, "user", name, `UPDATE users SET mfa_seed = NULL, mfa_seed_ref = '', mfa_last_step = 0, updated_at = ?
			WHERE name = ?`, formatTime(s.now()), name); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM mfa_recovery_codes WHERE user_id = (SELECT id FROM users WHERE name = ?)`, name); err != nil {
			return wrapError(err)
		}
		if err := endMFAGraceOf(ctx, q, name); err != nil {
			return err
		}
		return s.recordOp(ctx, q, "user.mfa.disable", name, nil)
	})
}

// SetRecoveryCodes replaces a user's recovery codes (MFA must be on).
func (s *Store) SetRecoveryCodes(ctx context.Context, name string, codes []string) error {
	return s.withTx(ctx, func(q querier) error {
		var id int64
		var seed *string
		if err := q.QueryRowContext(ctx, `SELECT id, mfa_seed FROM users WHERE name = ?`, name).Scan(&id, &seed); err != nil {
			if err = wrapError(err); errors.Is(err, ErrNotFound) {
				return fmt.Errorf("user %q: %w", name, ErrNotFound)
			}
			return err
		}
		if seed == nil {
			return fmt.Errorf("user %q has no MFA: run 'jmsctl user mfa enable %s' first", name, name)
		}
		if err := replaceRecoveryCodes(ctx, q, id, codes, formatTime(s.now())); err != nil {
			return err
		}
		return s.recordOp(ctx, q, "user.mfa.recovery", name, map[string]any{"recovery_codes": len(codes)})
	})
}

func replaceRecoveryCodes(ctx context.Context, q querier, userID int64, codes []string, now string) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM mfa_recovery_codes WHERE user_id = ?`, userID); err != nil {
		return wrapError(err)
	}
	for _, c := range codes {
		if _, err := q.ExecContext(ctx, `INSERT INTO mfa_recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?)`,
			userID, hashRecoveryCode(c), now); err != nil {
			return wrapError(err)
		}
	}
	return nil
}

// UseMFAStep records that a TOTP code of time step was accepted for
// the user, unless a code of this step or a later one already was: it
// reports false for a replayed code. The check and the update are one
// statement, so two logins racing with one code cannot both win.
func (s *Store) UseMFAStep(ctx context.Context, userID, step int64) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE users SET mfa_last_step = ? WHERE id = ? AND mfa_last_step < ? AND mfa_seed IS NOT NULL`,
		step, userID, step)
	if err != nil {
		return false, wrapError(err)
	}
	n, err := res.RowsAffected()
	return n == 1, wrapError(err)
}

// StartMFAGrace records that a TOTP code of the user's secret seedRef
// was accepted at from source (an address): until grace after at, her
// new connections from that very address may skip the OTP prompt once
// their first factor succeeded (MFAGraceValid). A later code restarts
// the window; nothing else extends it.
func (s *Store) StartMFAGrace(ctx context.Context, userID int64, source, seedRef string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO mfa_grace (user_id, source, seed_ref, used_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, source) DO UPDATE SET seed_ref = excluded.seed_ref, used_at = excluded.used_at`,
		userID, source, seedRef, formatTime(at))
	return wrapError(err)
}

// MFAGraceValid reports whether the user may skip the OTP prompt from
// source at now: a code of her current secret was accepted from that
// address less than grace ago, she is neither disabled nor locked, and
// no grace was ended since (an MFA reset, a disable or a lock end it).
// grace <= 0 is never valid.
func (s *Store) MFAGraceValid(ctx context.Context, userID int64, source string, now time.Time, grace time.Duration) (bool, error) {
	if grace <= 0 || source == "" {
		return false, nil
	}
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM mfa_grace g JOIN users u ON u.id = g.user_id
		WHERE g.user_id = ? AND g.source = ? AND g.used_at > ? AND g.used_at <= ?
		AND u.mfa_seed IS NOT NULL AND u.mfa_seed_ref = g.seed_ref AND g.seed_ref <> ''
		AND NOT u.disabled AND (u.locked_until IS NULL OR u.locked_until <= ?)`,
		userID, source, formatTime(now.Add(-grace)), formatTime(now), formatTime(now)).Scan(&n)
	return n > 0, wrapError(err)
}

// endMFAGrace ends every MFA grace of the user with id.
func endMFAGrace(ctx context.Context, q querier, id int64) error {
	_, err := q.ExecContext(ctx, `DELETE FROM mfa_grace WHERE user_id = ?`, id)
	return wrapError(err)
}

// endMFAGraceOf ends every MFA grace of the user called name.
func endMFAGraceOf(ctx context.Context, q querier, name string) error {
	_, err := q.ExecContext(ctx, `DELETE FROM mfa_grace WHERE user_id = (SELECT id FROM users WHERE name = ?)`, name)
	return wrapError(err)
}

// UseRecoveryCode spends one of the user's recovery codes: it reports
// false when code is not one of hers or was used already.
func (s *Store) UseRecoveryCode(ctx context.Context, userID int64, code string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE mfa_recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`,
		formatTime(s.now()), userID, hashRecoveryCode(code))
	if err != nil {
		return false, wrapError(err)
	}
	n, err := res.RowsAffected()
	return n == 1, wrapError(err)
}

// RecoveryCodesLeft counts a user's unused recovery codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, name string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM mfa_recovery_codes c JOIN users u ON u.id = c.user_id
		WHERE u.name = ? AND c.used_at IS NULL`, name).Scan(&n)
	return n, wrapError(err)
}

// GenerateRecoveryCodes returns RecoveryCodeCount random codes of the
// form xxxxx-xxxxx (about 57 bits each).
func GenerateRecoveryCodes() ([]string, error) {
	out := make([]string, 0, RecoveryCodeCount)
	for range RecoveryCodeCount {
		p, err := GeneratePassword(10)
		if err != nil {
			return nil, fmt.Errorf("recovery codes: %w", err)
		}
		out = append(out, strings.ToLower(string(p[:5])+"-"+string(p[5:])))
	}
	return out, nil
}

// NormalizeRecoveryCode folds what a person typed into the stored form:
// lower case, without spaces; the dash is optional.
func NormalizeRecoveryCode(code string) string {
	c := strings.ToLower(strings.Join(strings.Fields(code), ""))
	if len(c) == 10 && !strings.Contains(c, "-") {
		c = c[:5] + "-" + c[5:]
	}
	return c
}

func hashRecoveryCode(code string) string {
	sum := sha256.Sum256([]byte(NormalizeRecoveryCode(code)))
	return hex.EncodeToString(sum[:])
}
