package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Platforms an asset can have.
// "database" is the older, engine-less platform; mysql and postgresql are
// database servers the bastion speaks to (IsDatabasePlatform).
var Platforms = []string{"linux", "unix", "windows", "network", "database", PlatformMySQL, PlatformPostgreSQL}

// ValidPlatform checks a platform name.
func ValidPlatform(p string) error {
	for _, ok := range Platforms {
		if p == ok {
			return nil
		}
	}
	return fmt.Errorf("unknown platform %q: want one of %s", p, strings.Join(Platforms, ", "))
}

var hostnameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,62})?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62})?)*\.?$`)

// ValidAddress checks a host name or IP address.
func ValidAddress(a string) error {
	if a == "" {
		return errors.New("required")
	}
	if net.ParseIP(a) != nil {
		return nil
	}
	if len(a) > 253 || !hostnameRE.MatchString(a) {
		return fmt.Errorf("%q is not a host name or IP address", a)
	}
	return nil
}

var labelKeyRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$`)

// ValidLabel checks a label key and value.
func ValidLabel(k, v string) error {
	if !labelKeyRE.MatchString(k) {
		return fmt.Errorf("invalid label key %q: use 1-63 of A-Z a-z 0-9 . _ / -", k)
	}
	if len(v) > 255 || strings.ContainsAny(v, ";\n\r") {
		return fmt.Errorf("invalid label value %q for %s: at most 255 characters, no ';' or newline", v, k)
	}
	return nil
}

// Asset is a machine people reach through the bastion.
type Asset struct {
	ID              int64             `json:"id" yaml:"id"`
	Name            string            `json:"name" yaml:"name"`
	OrgID           int64             `json:"org_id" yaml:"org_id"`
	Org             string            `json:"org" yaml:"org"`
	Address         string            `json:"address" yaml:"address"`
	Port            int               `json:"port" yaml:"port"`
	Platform        string            `json:"platform" yaml:"platform"`
	Node            string            `json:"node" yaml:"node"`
	Labels          map[string]string `json:"labels" yaml:"labels"`
	Comment         string            `json:"comment" yaml:"comment"`
	Active          bool              `json:"active" yaml:"active"`
	HostKey         string            `json:"host_key,omitempty" yaml:"host_key,omitempty"`
	HostKeyPinnedAt *time.Time        `json:"host_key_pinned_at,omitempty" yaml:"host_key_pinned_at,omitempty"`
	Database        *AssetDatabase    `json:"database,omitempty" yaml:"database,omitempty"` // a database asset's settings (GetAsset)
	CreatedAt       time.Time         `json:"created_at" yaml:"created_at"`
	UpdatedAt       time.Time         `json:"updated_at" yaml:"updated_at"`
}

// NewAsset is what AddAsset needs; it is also one row of an import.
type NewAsset struct {
	Name     string            `json:"name" yaml:"name"`
	Address  string            `json:"address" yaml:"address"`
	Port     int               `json:"port" yaml:"port"`
	Platform string            `json:"platform" yaml:"platform"`
	Node     string            `json:"node" yaml:"node"`
	Labels   map[string]string `json:"labels" yaml:"labels"`
	Comment  string            `json:"comment" yaml:"comment"`
	// Database is a database asset's settings (AddAsset only; nil: the defaults).
	Database *AssetDatabase `json:"-" yaml:"-"`
}

// FieldError names the field of an asset or user that is wrong.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// Normalize fills defaults and checks every field; the error is a
// *FieldError naming the first wrong field.
func (na *NewAsset) Normalize() error {
	if na.Name == "" {
		return &FieldError{"name", errors.New("required")}
	}
	if err := ValidAssetName(na.Name); err != nil {
		return &FieldError{"name", err}
	}
	if err := ValidAddress(na.Address); err != nil {
		return &FieldError{"address", err}
	}
	if na.Platform == "" {
		na.Platform = "linux"
	}
	if err := ValidPlatform(na.Platform); err != nil {
		return &FieldError{"platform", err}
	}
	if na.Port == 0 {
		na.Port = DefaultPort(na.Platform)
	}
	if na.Port < 1 || na.Port > 65535 {
		return &FieldError{"port", fmt.Errorf("%d is not a port (1-65535)", na.Port)}
	}
	if err := checkAssetDatabase(na.Platform, na.Database); err != nil {
		return err
	}
	node, err := CleanNodePath(na.Node)
	if err != nil {
		return &FieldError{"node", err}
	}
	na.Node = node
	for k, v := range na.Labels {
		if err := ValidLabel(k, v); err != nil {
			return &FieldError{"labels", err}
		}
	}
	return nil
}

// ReservedAssetName is the target name that runs jmsctl over SSH
// (`ssh admin@bastion jmsctl ...`): no asset may have it.
const ReservedAssetName = "jmsctl"

// ValidAssetName checks an asset name: a name (ValidName) other than the
// reserved "jmsctl".
func ValidAssetName(name string) error {
	if err := ValidName("asset", name); err != nil {
		return err
	}
	if name == ReservedAssetName {
		return fmt.Errorf("asset name %q is reserved: 'ssh USER@bastion %s ...' runs the admin commands", name, name)
	}
	return nil
}

const assetColumns = `a.id, a.name, a.org_id, COALESCE(o.name, ''), a.address, a.port, a.platform, COALESCE(n.path, ''), a.comment, a.active,
	a.host_key, a.host_key_pinned_at, a.created_at, a.updated_at`

const assetFrom = ` FROM assets a LEFT JOIN nodes n ON n.id = a.node_id LEFT JOIN orgs o ON o.id = a.org_id`

func scanAsset(sc interface{ Scan(...any) error }) (Asset, error) {
	var a Asset
	var pinned sql.NullString
	var created, updated string
	err := sc.Scan(&a.ID, &a.Name, &a.OrgID, &a.Org, &a.Address, &a.Port, &a.Platform, &a.Node, &a.Comment, &a.Active,
		&a.HostKey, &pinned, &created, &updated)
	if err != nil {
		return a, wrapError(err)
	}
	a.HostKeyPinnedAt = parseNullTime(pinned)
	a.CreatedAt, a.UpdatedAt = parseTime(created), parseTime(updated)
	a.Labels = map[string]string{}
	return a, nil
}

// AddAsset adds one asset, making its node as needed.
func (s *Store) AddAsset(ctx context.Context, na NewAsset) (Asset, error) {
	if err := na.Normalize(); err != nil {
		return Asset{}, err
	}
	err := s.withTx(ctx, func(q querier) error {
		if _, err := s.insertAsset(ctx, q, na, formatTime(s.now())); err != nil {
			return err
		}
		return s.recordOp(ctx, q, "asset.add", na.Name, na)
	})
	if err != nil {
		return Asset{}, err
	}
	return s.GetAsset(ctx, na.Name)
}

// insertAsset inserts a normalised asset and its labels.
func (s *Store) insertAsset(ctx context.Context, q querier, na NewAsset, now string) (int64, error) {
	var node any
	if na.Node != "" {
		id, err := s.ensureNode(ctx, q, na.Node, now)
		if err != nil {
			return 0, err
		}
		node = id
	}
	org, err := s.writeOrg()
	if err != nil {
		return 0, err
	}
	var id int64
	err = q.QueryRowContext(ctx, `INSERT INTO assets (org_id, name, address, port, platform, node_id, comment, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, org, na.Name, na.Address, na.Port, na.Platform, node, na.Comment, now, now).Scan(&id)
	if err != nil {
		return 0, nameTaken(err, "asset", na.Name)
	}
	if na.Database != nil {
		if err := s.putAssetDatabase(ctx, q, id, *na.Database); err != nil {
			return 0, err
		}
	}
	return id, insertLabels(ctx, q, id, na.Labels)
}

func insertLabels(ctx context.Context, q querier, assetID int64, labels map[string]string) error {
	for _, k := range sortedKeys(labels) {
		if _, err := q.ExecContext(ctx, `INSERT INTO asset_labels (asset_id, key, value) VALUES (?, ?, ?)`, assetID, k, labels[k]); err != nil {
			return wrapError(err)
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// GetAsset returns the asset called name.
func (s *Store) GetAsset(ctx context.Context, name string) (Asset, error) {
	a, err := scanAsset(s.db.QueryRowContext(ctx, `SELECT `+assetColumns+assetFrom+` WHERE a.name = ? AND `+s.orgCond("a"), name))
	if errors.Is(err, ErrNotFound) {
		return a, fmt.Errorf("asset %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return a, err
	}
	if err := s.fillDatabase(ctx, &a); err != nil {
		return a, err
	}
	return a, s.fillLabels(ctx, []*Asset{&a})
}

// GetAssetByID returns the asset with this id.
func (s *Store) GetAssetByID(ctx context.Context, id int64) (Asset, error) {
	a, err := scanAsset(s.db.QueryRowContext(ctx, `SELECT `+assetColumns+assetFrom+` WHERE a.id = ? AND `+s.orgCond("a"), id))
	if errors.Is(err, ErrNotFound) {
		return a, fmt.Errorf("asset #%d: %w", id, ErrNotFound)
	}
	if err != nil {
		return a, err
	}
	if err := s.fillDatabase(ctx, &a); err != nil {
		return a, err
	}
	return a, s.fillLabels(ctx, []*Asset{&a})
}

func (s *Store) fillLabels(ctx context.Context, assets []*Asset) error {
	if len(assets) == 0 {
		return nil
	}
	byID := make(map[int64]*Asset, len(assets))
	for _, a := range assets {
		byID[a.ID] = a
	}
	query := `SELECT asset_id, key, value FROM asset_labels`
	var args []any
	if len(assets) == 1 {
		query += ` WHERE asset_id = ?`
		args = append(args, assets[0].ID)
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return wrapError(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var k, v string
		if err := rows.Scan(&id, &k, &v); err != nil {
			return wrapError(err)
		}
		if a, ok := byID[id]; ok {
			a.Labels[k] = v
		}
	}
	return wrapError(rows.Err())
}

// AssetQuery narrows ListAssets. Zero fields match everything.
type AssetQuery struct {
	Node   string            // this node and its descendants
	Labels map[string]string // every label must match
	Search string            // a word in name, address, comment, node or labels
}

// ListAssets returns the assets that match aq, sorted by name.
func (s *Store) ListAssets(ctx context.Context, aq AssetQuery) ([]Asset, error) {
	query := `SELECT ` + assetColumns + assetFrom + ` WHERE ` + s.orgCond("a")
	var args []any
	if aq.Node != "" {
		node, err := CleanNodePath(aq.Node)
		if err != nil {
			return nil, err
		}
		if node != "" {
			query += ` AND (n.path = ? OR n.path LIKE ? ESCAPE '\')`
			args = append(args, node, likeEscape(node)+"/%")
		}
	}
	for _, k := range sortedKeys(aq.Labels) {
		query += ` AND EXISTS (SELECT 1 FROM asset_labels l WHERE l.asset_id = a.id AND l.key = ? AND l.value = ?)`
		args = append(args, k, aq.Labels[k])
	}
	rows, err := s.db.QueryContext(ctx, query+` ORDER BY a.name, a.org_id`, args...)
	if err != nil {
		return nil, wrapError(err)
	}
	var out []Asset
	for rows.Next() {
		a, err := scanAsset(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrapError(err)
	}
	ptrs := make([]*Asset, len(out))
	for i := range out {
		ptrs[i] = &out[i]
	}
	if err := s.fillLabels(ctx, ptrs); err != nil {
		return nil, err
	}
	if aq.Search != "" {
		w := strings.ToLower(aq.Search)
		kept := out[:0]
		for _, a := range out {
			if a.Matches(w) {
				kept = append(kept, a)
			}
		}
		out = kept
	}
	return out, nil
}

// Matches reports whether the lower-case word w occurs in the asset's
// name, address, node, comment or labels.
func (a Asset) Matches(w string) bool {
	if strings.Contains(strings.ToLower(a.Name), w) || strings.Contains(strings.ToLower(a.Address), w) ||
		strings.Contains(strings.ToLower(a.Comment), w) || strings.Contains(strings.ToLower(a.Node), w) {
		return true
	}
	for k, v := range a.Labels {
		if strings.Contains(strings.ToLower(k+"="+v), w) {
			return true
		}
	}
	return false
}

// AssetUpdate holds the fields to change; nil ones stay.
type AssetUpdate struct {
	Address      *string
	Port         *int
	Platform     *string
	Node         *string
	Comment      *string
	Active       *bool
	SetLabels    map[string]string
	RemoveLabels []string
}

// UpdateAsset changes an asset.
func (s *Store) UpdateAsset(ctx context.Context, name string, au AssetUpdate) error {
	if _, err := s.writeOrg(); err != nil {
		return err
	}
	cur, err := s.GetAsset(ctx, name)
	if err != nil {
		return err
	}
	na := NewAsset{Name: cur.Name, Address: cur.Address, Port: cur.Port, Platform: cur.Platform, Node: cur.Node,
		Comment: cur.Comment, Labels: cur.Labels}
	if au.Address != nil {
		na.Address = *au.Address
	}
	if au.Port != nil {
		na.Port = *au.Port
		if na.Port == 0 {
			return &FieldError{"port", errors.New("0 is not a port (1-65535)")}
		}
	}
	if au.Platform != nil {
		na.Platform = *au.Platform
	}
	if au.Node != nil {
		na.Node = *au.Node
	}
	if au.Comment != nil {
		na.Comment = *au.Comment
	}
	for k, v := range au.SetLabels {
		na.Labels[k] = v
	}
	for _, k := range au.RemoveLabels {
		delete(na.Labels, k)
	}
	if err := na.Normalize(); err != nil {
		return err
	}
	active := cur.Active
	if au.Active != nil {
		active = *au.Active
	}
	return s.withTx(ctx, func(q querier) error {
		if err := s.updateAsset(ctx, q, cur.ID, na, active, formatTime(s.now())); err != nil {
			return err
		}
		return s.recordOp(ctx, q, "asset.set", name, map[string]any{"asset": na, "active": active})
	})
}

func (s *Store) updateAsset(ctx context.Context, q querier, id int64, na NewAsset, active bool, now string) error {
	var node any
	if na.Node != "" {
		nid, err := s.ensureNode(ctx, q, na.Node, now)
		if err != nil {
			return err
		}
		node = nid
	}
	if _, err := q.ExecContext(ctx, `UPDATE assets SET address = ?, port = ?, platform = ?, node_id = ?, comment = ?,
		active = ?, updated_at = ? WHERE id = ? AND `+s.orgCond("assets"), na.Address, na.Port, na.Platform, node, na.Comment, active, now, id); err != nil {
		return wrapError(err)
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM asset_labels WHERE asset_id = ?`, id); err != nil {
		return wrapError(err)
	}
	return insertLabels(ctx, q, id, na.Labels)
}

// RemoveAsset deletes the assets called names, all or none, in one
// transaction.
func (s *Store) RemoveAsset(ctx context.Context, names ...string) error {
	return s.removeNamed(ctx, "asset", "assets", "asset.rm", names)
}

// ErrHostKeyMismatch is returned by PinHostKey when the asset already
// has a different key pinned: another connection pinned first, or an
// operator trusted a key meanwhile.
var ErrHostKeyMismatch = errors.New("a different host key is pinned")

// HostKeyMismatchError says which key is pinned instead.
type HostKeyMismatchError struct {
	Asset  string
	Pinned string // the pinned authorized_keys line
}

func (e *HostKeyMismatchError) Error() string {
	return fmt.Sprintf("asset %q: %v", e.Asset, ErrHostKeyMismatch)
}

func (e *HostKeyMismatchError) Is(target error) bool { return target == ErrHostKeyMismatch }

// PinHostKey pins an asset's host key at first use: it records key (an
// authorized_keys line) only if no key is pinned yet, in one statement,
// so that two first connections cannot both win and a key trusted by an
// operator is never overwritten. When a key is pinned already, it
// returns nil if it is key and a *HostKeyMismatchError otherwise.
func (s *Store) PinHostKey(ctx context.Context, name, key string) error {
	if _, err := s.writeOrg(); err != nil {
		return err
	}
	return s.withTx(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE assets SET host_key = ?, host_key_pinned_at = ? WHERE name = ? AND host_key = '' AND `+s.orgCond("assets"),
			key, formatTime(s.now()), name)
		if err != nil {
			return wrapError(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return wrapError(err)
		} else if n == 1 {
			return s.recordOp(ctx, q, "asset.trust", name, map[string]any{"host_key": hostKeyFingerprint(key), "first_use": true})
		}
		var pinned string
		if err := q.QueryRowContext(ctx, `SELECT host_key FROM assets WHERE name = ? AND `+s.orgCond("assets"), name).Scan(&pinned); err != nil {
			if err = wrapError(err); errors.Is(err, ErrNotFound) {
				return fmt.Errorf("asset %q: %w", name, ErrNotFound)
			}
			return err
		}
		if sameHostKey(pinned, key) {
			return nil
		}
		return &HostKeyMismatchError{Asset: name, Pinned: pinned}
	})
}

// TrustHostKey pins key as an asset's host key whatever was pinned
// before: an operator's `asset trust --key`, audited as such.
func (s *Store) TrustHostKey(ctx context.Context, name, key string) error {
	if _, err := s.writeOrg(); err != nil {
		return err
	}
	return s.withTx(ctx, func(q querier) error {
		if err := execOne(ctx, q, "asset", name, `UPDATE assets SET host_key = ?, host_key_pinned_at = ? WHERE name = ? AND `+s.orgCond("assets"),
			key, formatTime(s.now()), name); err != nil {
			return err
		}
		return s.recordOp(ctx, q, "asset.trust", name, map[string]any{"host_key": hostKeyFingerprint(key)})
	})
}

// hostKeyFingerprint returns the SHA256 fingerprint of an
// authorized_keys line, "" when it does not parse.
func hostKeyFingerprint(line string) string {
	if pk, err := ParseAuthorizedKey(line); err == nil {
		return pk.fingerprint
	}
	return ""
}

// sameHostKey reports whether two authorized_keys lines hold the same
// key, whatever their comments.
func sameHostKey(a, b string) bool {
	fa, fb := hostKeyFingerprint(a), hostKeyFingerprint(b)
	if fa == "" || fb == "" {
		return strings.TrimSpace(a) == strings.TrimSpace(b)
	}
	return fa == fb
}

// likeEscape escapes LIKE's wildcards (node segments may hold "_").
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// CountAssets returns how many assets the scope holds.
func (s *Store) CountAssets(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM assets a WHERE `+s.orgCond("a")).Scan(&n)
	return n, wrapError(err)
}

// UnpinHostKey forgets an asset's pinned host key, so that the next
// connection pins the key the asset then offers. It returns the key
// that was pinned ("" if none).
func (s *Store) UnpinHostKey(ctx context.Context, name string) (string, error) {
	if _, err := s.writeOrg(); err != nil {
		return "", err
	}
	var old string
	err := s.withTx(ctx, func(q querier) error {
		if err := q.QueryRowContext(ctx, `SELECT host_key FROM assets WHERE name = ? AND `+s.orgCond("assets"), name).Scan(&old); err != nil {
			if err = wrapError(err); errors.Is(err, ErrNotFound) {
				return fmt.Errorf("asset %q: %w", name, ErrNotFound)
			}
			return err
		}
		if _, err := q.ExecContext(ctx, `UPDATE assets SET host_key = '', host_key_pinned_at = NULL WHERE name = ? AND `+s.orgCond("assets"), name); err != nil {
			return wrapError(err)
		}
		fp := ""
		if pk, err := ParseAuthorizedKey(old); err == nil {
			fp = pk.fingerprint
		}
		return s.recordOp(ctx, q, "asset.untrust", name, map[string]any{"old_host_key": fp})
	})
	return old, err
}
