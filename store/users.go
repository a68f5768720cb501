package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// Roles a person can have.
const (
	RoleUser    = "user"
	RoleAuditor = "auditor"
	RoleAdmin   = "admin"
)

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ValidName checks a user, group, asset, grant or filter name.
func ValidName(kind, name string) error {
	if !nameRE.MatchString(name) {
		if lower := strings.ToLower(name); lower != name && nameRE.MatchString(lower) {
			return fmt.Errorf("invalid %s name %q: names are lower case (a-z 0-9 . _ -), try %q", kind, name, lower)
		}
		return fmt.Errorf("invalid %s name %q: use 1-64 of a-z 0-9 . _ -, starting with a letter or digit", kind, name)
	}
	return nil
}

// ReservedResetLogin is the login name that starts a self-service
// password reset over SSH: no person may have it.
const ReservedResetLogin = "reset"

// ValidRole checks a role name.
func ValidRole(role string) error {
	switch role {
	case RoleUser, RoleAuditor, RoleAdmin:
		return nil
	}
	return fmt.Errorf("invalid role %q: want user, auditor or admin", role)
}

// User is a person who logs in to the bastion.
type User struct {
	ID                 int64      `json:"id" yaml:"id"`
	Name               string     `json:"name" yaml:"name"`
	Email              string     `json:"email" yaml:"email"`
	Role               string     `json:"role" yaml:"role"`
	Disabled           bool       `json:"disabled" yaml:"disabled"`
	HasPassword        bool       `json:"has_password" yaml:"has_password"`
	MustChangePassword bool       `json:"must_change_password" yaml:"must_change_password"`
	PasswordChangedAt  *time.Time `json:"password_changed_at,omitempty" yaml:"password_changed_at,omitempty"`
	LockedUntil        *time.Time `json:"locked_until,omitempty" yaml:"locked_until,omitempty"`
	MFAEnabled         bool       `json:"mfa_enabled" yaml:"mfa_enabled"`
	Groups             []string   `json:"groups" yaml:"groups"`
	// OrgRole is her role in the organization of the view that listed
	// her (ListUsers in one organization's view); "" otherwise.
	OrgRole   string    `json:"org_role,omitempty" yaml:"org_role,omitempty"`
	Keys      int       `json:"keys" yaml:"keys"`
	Comment   string    `json:"comment" yaml:"comment"`
	CreatedAt time.Time `json:"created_at" yaml:"created_at"`
	UpdatedAt time.Time `json:"updated_at" yaml:"updated_at"`
}

// Locked reports whether the user is locked out at now.
func (u User) Locked(now time.Time) bool { return u.LockedUntil != nil && now.Before(*u.LockedUntil) }

// NewUser is what AddUser needs. PasswordHash is a PHC string from
// HashPassword, or empty for a user who logs in by key only.
type NewUser struct {
	Name               string
	Email              string
	Role               string
	PasswordHash       string
	MustChangePassword bool
	Comment            string
	Keys               []string // authorized_keys lines
}

const userColumns = `u.id, u.name, u.email, u.role, u.disabled, u.password_hash <> '', u.must_change_password,
	u.password_changed_at, u.locked_until, u.mfa_seed IS NOT NULL, u.comment, u.created_at, u.updated_at,
	(SELECT COUNT(*) FROM user_keys k WHERE k.user_id = u.id)`

// scanUser scans userColumns and then the extra columns into extra.
func scanUser(sc interface{ Scan(...any) error }, extra ...any) (User, error) {
	var u User
	var changed, locked sql.NullString
	var created, updated string
	err := sc.Scan(append([]any{&u.ID, &u.Name, &u.Email, &u.Role, &u.Disabled, &u.HasPassword, &u.MustChangePassword,
		&changed, &locked, &u.MFAEnabled, &u.Comment, &created, &updated, &u.Keys}, extra...)...)
	if err != nil {
		return u, wrapError(err)
	}
	u.PasswordChangedAt, u.LockedUntil = parseNullTime(changed), parseNullTime(locked)
	u.CreatedAt, u.UpdatedAt = parseTime(created), parseTime(updated)
	u.Groups = []string{}
	return u, nil
}

// AddUser adds a person, with her keys, in one transaction. In one
// organization's view she becomes a member of it as a user; in the
// all-orgs view, of none.
func (s *Store) AddUser(ctx context.Context, nu NewUser) (User, error) {
	if err := ValidName("user", nu.Name); err != nil {
		return User{}, err
	}
	if nu.Name == ReservedResetLogin {
		return User{}, fmt.Errorf("user name %q is reserved: 'ssh %s@bastion' starts a self-service password reset", nu.Name, nu.Name)
	}
	if nu.Role == "" {
		nu.Role = RoleUser
	}
	if err := ValidRole(nu.Role); err != nil {
		return User{}, err
	}
	keys := make([]parsedKey, 0, len(nu.Keys))
	for _, line := range nu.Keys {
		k, err := ParseAuthorizedKey(line)
		if err != nil {
			return User{}, err
		}
		keys = append(keys, k)
	}
	now := formatTime(s.now())
	err := s.withTx(ctx, func(q querier) error {
		var changed any
		if nu.PasswordHash != "" {
			changed = now
		}
		var id int64
		err := q.QueryRowContext(ctx, `INSERT INTO users (name, email, role, password_hash, password_changed_at,
			must_change_password, comment, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			nu.Name, nu.Email, nu.Role, nu.PasswordHash, changed, nu.MustChangePassword, nu.Comment, now, now).Scan(&id)
		if err != nil {
			return nameTaken(err, "user", nu.Name)
		}
		for _, k := range keys {
			if err := insertKey(ctx, q, id, k, now); err != nil {
				return err
			}
		}
		if org, one := s.ScopeOrg(); one {
			if _, err := q.ExecContext(ctx, `INSERT INTO org_members (org_id, user_id, role, created_at) VALUES (?, ?, ?, ?)`,
				org, id, RoleOrgUser, now); err != nil {
				return wrapError(err)
			}
		}
		return s.recordOp(ctx, q, "user.add", nu.Name, map[string]any{
			"role": nu.Role, "email": nu.Email, "password": nu.PasswordHash != "", "keys": len(keys)})
	})
	if err != nil {
		return User{}, err
	}
	return s.GetUser(ctx, nu.Name)
}

// GetUser returns the user called name.
func (s *Store) GetUser(ctx context.Context, name string) (User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users u WHERE u.name = ?`, name))
	if errors.Is(err, ErrNotFound) {
		return u, fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return u, err
	}
	u.Groups, err = s.userGroups(ctx, u.ID)
	return u, err
}

// userGroups names the groups of the scope that the user is in.
func (s *Store) userGroups(ctx context.Context, userID int64) ([]string, error) {
	return queryNames(ctx, s.db, `SELECT g.name FROM groups g JOIN group_members m ON m.group_id = g.id
		WHERE m.user_id = ? AND `+s.orgCond("g")+` ORDER BY g.name`, userID)
}

// ListUsers returns the people sorted by name, with their groups: in one
// organization's view its members (with their role there, OrgRole) and
// their groups there; in the all-orgs view everyone and every group.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	cols, from := userColumns+`, ''`, ` FROM users u`
	if org, one := s.ScopeOrg(); one {
		cols, from = userColumns+`, om.role`, ` FROM users u JOIN org_members om ON om.user_id = u.id AND om.org_id = `+strconv.FormatInt(org, 10)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+cols+from+` ORDER BY u.name`)
	if err != nil {
		return nil, wrapError(err)
	}
	var out []User
	byID := map[int64]int{}
	for rows.Next() {
		var role string
		u, err := scanUser(rows, &role)
		if err != nil {
			rows.Close()
			return nil, err
		}
		u.OrgRole = role
		byID[u.ID] = len(out)
		out = append(out, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrapError(err)
	}
	grows, err := s.db.QueryContext(ctx, `SELECT m.user_id, g.name FROM group_members m JOIN groups g ON g.id = m.group_id
		WHERE `+s.orgCond("g")+` ORDER BY g.name`)
	if err != nil {
		return nil, wrapError(err)
	}
	defer grows.Close()
	for grows.Next() {
		var id int64
		var g string
		if err := grows.Scan(&id, &g); err != nil {
			return nil, wrapError(err)
		}
		if i, ok := byID[id]; ok {
			out[i].Groups = append(out[i].Groups, g)
		}
	}
	return out, wrapError(grows.Err())
}

// RemoveUser deletes the users called names, all or none, in one
// transaction.
func (s *Store) RemoveUser(ctx context.Context, names ...string) error {
	return s.removeNamed(ctx, "user", "users", "user.rm", names)
}

// SetUserDisabled disables or enables a user.
func (s *Store) SetUserDisabled(ctx context.Context, name string, disabled bool) error {
	return s.withTx(ctx, func(q querier) error {
		if err := execOne(ctx, q, "user", name, `UPDATE users SET disabled = ?, updated_at = ? WHERE name = ?`,
			disabled, formatTime(s.now()), name); err != nil {
			return err
		}
		action := "user.enable"
		if disabled {
			action = "user.disable"
			if err := endMFAGraceOf(ctx, q, name); err != nil {
				return err
			}
		}
		return s.recordOp(ctx, q, action, name, nil)
	})
}

// LockUser locks a user out until the given time.
func (s *Store) LockUser(ctx context.Context, name string, until time.Time, reason string) error {
	return s.withTx(ctx, func(q querier) error {
		if err := execOne(ctx, q, "user", name, `UPDATE users SET locked_until = ?, updated_at = ? WHERE name = ?`,
			formatTime(until), formatTime(s.now()), name); err != nil {
			return err
		}
		if err := endMFAGraceOf(ctx, q, name); err != nil {
			return err
		}
		return s.recordOp(ctx, q, "user.lock", name, map[string]any{"until": until.UTC(), "reason": reason})
	})
}

// UnlockUser lifts a lockout.
func (s *Store) UnlockUser(ctx context.Context, name string) error {
	return s.withTx(ctx, func(q querier) error {
		if err := execOne(ctx, q, "user", name, `UPDATE users SET locked_until = NULL, updated_at = ? WHERE name = ?`,
			formatTime(s.now()), name); err != nil {
			return err
		}
		return s.recordOp(ctx, q, "user.unlock", name, nil)
	})
}

// UserUpdate holds the fields to change; nil ones stay.
type UserUpdate struct {
	Email   *string
	Role    *string
	Comment *string
}

// UpdateUser changes a user's email, role or comment.
func (s *Store) UpdateUser(ctx context.Context, name string, uu UserUpdate) error {
	if uu.Role != nil {
		if err := ValidRole(*uu.Role); err != nil {
			return err
		}
	}
	return s.withTx(ctx, func(q querier) error {
		detail := map[string]any{}
		set := []string{"updated_at = ?"}
		args := []any{formatTime(s.now())}
		if uu.Email != nil {
			set, args, detail["email"] = append(set, "email = ?"), append(args, *uu.Email), *uu.Email
		}
		if uu.Role != nil {
			set, args, detail["role"] = append(set, "role = ?"), append(args, *uu.Role), *uu.Role
		}
		if uu.Comment != nil {
			set, args, detail["comment"] = append(set, "comment = ?"), append(args, *uu.Comment), *uu.Comment
		}
		args = append(args, name)
		if err := execOne(ctx, q, "user", name, `UPDATE users SET `+strings.Join(set, ", ")+` WHERE name = ?`, args...); err != nil {
			return err
		}
		return s.recordOp(ctx, q, "user.set", name, detail)
	})
}

// SetPasswordHash stores a new password hash (from HashPassword).
// mustChange makes the user set a new one at her next login.
func (s *Store) SetPasswordHash(ctx context.Context, name, hash string, mustChange bool) error {
	return s.withTx(ctx, func(q querier) error {
		now := formatTime(s.now())
		if err := execOne(ctx, q, "user", name, `UPDATE users SET password_hash = ?, password_changed_at = ?,
			must_change_password = ?, invite_expires_at = NULL, updated_at = ? WHERE name = ?`, hash, now, mustChange, now, name); err != nil {
			return err
		}
		return s.recordOp(ctx, q, "user.passwd", name, map[string]any{"must_change": mustChange})
	})
}

// RehashPassword replaces a hash after a login found it weaker than
// the current parameters. It is not an operator change and is not
// audited as one.
func (s *Store) RehashPassword(ctx context.Context, name, oldHash, newHash string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE name = ? AND password_hash = ?`, newHash, name, oldHash)
	return wrapError(err)
}

// PasswordHash returns a user with her stored password hash, for login:
// "" when she has none, or when it is an invitation's one-time password
// whose time is over (see InviteUser).
func (s *Store) PasswordHash(ctx context.Context, name string) (User, string, error) {
	u, err := s.GetUser(ctx, name)
	if err != nil {
		return u, "", err
	}
	var h string
	var invite sql.NullString
	err = s.db.QueryRowContext(ctx, `SELECT password_hash, invite_expires_at FROM users WHERE id = ?`, u.ID).Scan(&h, &invite)
	if exp := parseNullTime(invite); exp != nil && u.MustChangePassword && !s.now().Before(*exp) {
		h = ""
	}
	return u, h, wrapError(err)
}

// execOne runs a statement that must change exactly one row of kind.
func execOne(ctx context.Context, q querier, kind, name, query string, args ...any) error {
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return wrapError(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrapError(err)
	}
	if n == 0 {
		return fmt.Errorf("%s %q: %w", kind, name, ErrNotFound)
	}
	return nil
}

// UserKey is an SSH public key a user logs in with.
type UserKey struct {
	ID          int64      `json:"id" yaml:"id"`
	User        string     `json:"user" yaml:"user"`
	Fingerprint string     `json:"fingerprint" yaml:"fingerprint"`
	Type        string     `json:"type" yaml:"type"`
	Comment     string     `json:"comment" yaml:"comment"`
	PublicKey   string     `json:"public_key" yaml:"public_key"`
	CreatedAt   time.Time  `json:"created_at" yaml:"created_at"`
	LastUsedAt  *time.Time `json:"last_used_at,omitempty" yaml:"last_used_at,omitempty"`
}

type parsedKey struct {
	key         gossh.PublicKey
	fingerprint string
	comment     string
}

// ParseAuthorizedKey parses one OpenSSH public key line.
func ParseAuthorizedKey(line string) (parsedKey, error) {
	pk, comment, _, _, err := gossh.ParseAuthorizedKey([]byte(strings.TrimSpace(line)))
	if err != nil {
		return parsedKey{}, fmt.Errorf("not an OpenSSH public key: %w", err)
	}
	return parsedKey{key: pk, fingerprint: gossh.FingerprintSHA256(pk), comment: comment}, nil
}

func insertKey(ctx context.Context, q querier, userID int64, k parsedKey, now string) error {
	line := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(k.key)))
	_, err := q.ExecContext(ctx, `INSERT INTO user_keys (user_id, fingerprint, public_key, comment, created_at)
		VALUES (?, ?, ?, ?, ?)`, userID, k.fingerprint, line, k.comment, now)
	if err = wrapError(err); isTaken(err) {
		return conflict(err, "key %s is already registered (a key belongs to one user)", k.fingerprint)
	}
	return err
}

// AddUserKey registers an authorized_keys line for a user.
func (s *Store) AddUserKey(ctx context.Context, user, line string) (UserKey, error) {
	k, err := ParseAuthorizedKey(line)
	if err != nil {
		return UserKey{}, err
	}
	err = s.withTx(ctx, func(q querier) error {
		var id int64
		if err := q.QueryRowContext(ctx, `SELECT id FROM users WHERE name = ?`, user).Scan(&id); err != nil {
			if err = wrapError(err); errors.Is(err, ErrNotFound) {
				return fmt.Errorf("user %q: %w", user, ErrNotFound)
			}
			return err
		}
		if err := insertKey(ctx, q, id, k, formatTime(s.now())); err != nil {
			return err
		}
		return s.recordOp(ctx, q, "user.key.add", user, map[string]any{"fingerprint": k.fingerprint})
	})
	if err != nil {
		return UserKey{}, err
	}
	keys, err := s.ListUserKeys(ctx, user)
	if err != nil {
		return UserKey{}, err
	}
	for _, uk := range keys {
		if uk.Fingerprint == k.fingerprint {
			return uk, nil
		}
	}
	return UserKey{}, ErrNotFound
}

// ListUserKeys lists a user's keys; all users' keys when user is "".
func (s *Store) ListUserKeys(ctx context.Context, user string) ([]UserKey, error) {
	query := `SELECT k.id, u.name, k.fingerprint, k.public_key, k.comment, k.created_at, k.last_used_at
		FROM user_keys k JOIN users u ON u.id = k.user_id`
	var args []any
	if user != "" {
		if _, err := s.GetUser(ctx, user); err != nil {
			return nil, err
		}
		query += ` WHERE u.name = ?`
		args = append(args, user)
	}
	rows, err := s.db.QueryContext(ctx, query+` ORDER BY u.name, k.id`, args...)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	var out []UserKey
	for rows.Next() {
		var k UserKey
		var created string
		var used sql.NullString
		if err := rows.Scan(&k.ID, &k.User, &k.Fingerprint, &k.PublicKey, &k.Comment, &created, &used); err != nil {
			return nil, wrapError(err)
		}
		k.Type, _, _ = strings.Cut(k.PublicKey, " ")
		k.CreatedAt, k.LastUsedAt = parseTime(created), parseNullTime(used)
		out = append(out, k)
	}
	return out, wrapError(rows.Err())
}

// RemoveUserKey removes a user's key named by fingerprint (SHA256:…),
// id, or comment.
func (s *Store) RemoveUserKey(ctx context.Context, user, which string) error {
	return s.withTx(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM user_keys WHERE user_id = (SELECT id FROM users WHERE name = ?)
			AND (fingerprint = ? OR CAST(id AS TEXT) = ? OR (comment = ? AND comment <> ''))`, user, which, which, which)
		if err != nil {
			return wrapError(err)
		}
		n, _ := res.RowsAffected()
		switch {
		case n == 0:
			return fmt.Errorf("key %q of user %q: %w", which, user, ErrNotFound)
		case n > 1:
			return conflict(nil, "key %q of user %q names %d keys; use the fingerprint", which, user, n)
		}
		return s.recordOp(ctx, q, "user.key.rm", user, map[string]any{"key": which})
	})
}

// UserKeyOwner returns the name of the user who owns the key with this
// SHA256 fingerprint.
func (s *Store) UserKeyOwner(ctx context.Context, fingerprint string) (string, error) {
	var name string
	err := s.db.QueryRowContext(ctx, `SELECT u.name FROM user_keys k JOIN users u ON u.id = k.user_id
		WHERE k.fingerprint = ?`, fingerprint).Scan(&name)
	return name, wrapError(err)
}

// TouchUserKey records that a key was just used to log in.
func (s *Store) TouchUserKey(ctx context.Context, fingerprint string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE user_keys SET last_used_at = ? WHERE fingerprint = ?`, formatTime(s.now()), fingerprint)
	return wrapError(err)
}
