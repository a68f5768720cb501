package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// The database platforms: an asset with one of them is a database server
// (MySQL and MariaDB, or PostgreSQL) whose accounts are database users.
const (
	PlatformMySQL      = "mysql"
	PlatformPostgreSQL = "postgresql"
)

// IsDatabasePlatform reports whether assets of platform p are database
// servers the bastion speaks to (not the older, engine-less "database").
func IsDatabasePlatform(p string) bool {
	return p == PlatformMySQL || p == PlatformPostgreSQL
}

// DefaultPort is the usual port of an asset of platform p: 3306 for
// mysql, 5432 for postgresql, 22 for the rest.
func DefaultPort(p string) int {
	switch p {
	case PlatformMySQL:
		return 3306
	case PlatformPostgreSQL:
		return 5432
	}
	return 22
}

// TLS modes of a database asset: how the bastion protects its connection
// to the server.
var DatabaseTLSModes = []string{"disable", "require", "verify-ca", "verify-full"}

// AssetDatabase is a database asset's settings.
type AssetDatabase struct {
	Database  string `json:"database" yaml:"database"`       // the database a session starts in; "" for the account's default
	TLSMode   string `json:"tls_mode" yaml:"tls_mode"`       // disable, require, verify-ca or verify-full
	TLSCAFile string `json:"tls_ca_file" yaml:"tls_ca_file"` // PEM, for verify-ca and verify-full
}

// Check fills the default TLS mode and checks the settings.
func (d *AssetDatabase) Check() error {
	d.TLSMode = strings.ToLower(strings.TrimSpace(d.TLSMode))
	if d.TLSMode == "" {
		d.TLSMode = "disable"
	}
	if !slices.Contains(DatabaseTLSModes, d.TLSMode) {
		return &FieldError{"tls", fmt.Errorf("unknown TLS mode %q: want %s", d.TLSMode, strings.Join(DatabaseTLSModes, ", "))}
	}
	if strings.ContainsAny(d.Database, "\x00\n\r") || len(d.Database) > 128 {
		return &FieldError{"database", fmt.Errorf("%q is not a database name", d.Database)}
	}
	verifies := d.TLSMode == "verify-ca" || d.TLSMode == "verify-full"
	switch {
	case verifies && d.TLSCAFile == "":
		return &FieldError{"tls-ca", fmt.Errorf("TLS mode %s needs the CA file (--tls-ca FILE)", d.TLSMode)}
	case !verifies && d.TLSCAFile != "":
		return &FieldError{"tls-ca", fmt.Errorf("a CA file is only read with TLS mode verify-ca or verify-full, not %s", d.TLSMode)}
	case d.TLSCAFile != "" && !filepath.IsAbs(d.TLSCAFile):
		return &FieldError{"tls-ca", fmt.Errorf("%q: give the CA file's absolute path (the bastion reads it)", d.TLSCAFile)}
	}
	return nil
}

// checkAssetDatabase checks the database settings of a new or changed
// asset of platform: only a database platform has them.
func checkAssetDatabase(platform string, d *AssetDatabase) error {
	if d == nil {
		return nil
	}
	if !IsDatabasePlatform(platform) {
		return &FieldError{"platform", fmt.Errorf("database settings need platform mysql or postgresql, not %s", platform)}
	}
	return d.Check()
}

// GetAssetDatabase returns the database settings of the asset with this
// id (the defaults when none were set).
func (s *Store) GetAssetDatabase(ctx context.Context, assetID int64) (AssetDatabase, error) {
	d := AssetDatabase{TLSMode: "disable"}
	err := s.db.QueryRowContext(ctx, `SELECT d.database_name, d.tls_mode, d.tls_ca_file FROM asset_databases d
		JOIN assets a ON a.id = d.asset_id WHERE d.asset_id = ? AND `+s.orgCond("a"), assetID).
		Scan(&d.Database, &d.TLSMode, &d.TLSCAFile)
	if errors.Is(err, sql.ErrNoRows) {
		return d, nil
	}
	return d, wrapError(err)
}

// SetAssetDatabase sets the database settings of the asset called name,
// which must have a database platform.
func (s *Store) SetAssetDatabase(ctx context.Context, name string, d AssetDatabase) error {
	if _, err := s.writeOrg(); err != nil {
		return err
	}
	a, err := s.GetAsset(ctx, name)
	if err != nil {
		return err
	}
	if err := checkAssetDatabase(a.Platform, &d); err != nil {
		return err
	}
	return s.withTx(ctx, func(q querier) error {
		if err := s.putAssetDatabase(ctx, q, a.ID, d); err != nil {
			return err
		}
		return s.recordOp(ctx, q, "asset.database", name, d)
	})
}

// putAssetDatabase writes the settings of an asset of the view's org.
func (s *Store) putAssetDatabase(ctx context.Context, q querier, assetID int64, d AssetDatabase) error {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM assets a WHERE a.id = ? AND `+s.orgCond("a"), assetID).Scan(&n); err != nil {
		return wrapError(err)
	}
	if n == 0 {
		return fmt.Errorf("asset #%d: %w", assetID, ErrNotFound)
	}
	_, err := q.ExecContext(ctx, `INSERT INTO asset_databases (asset_id, database_name, tls_mode, tls_ca_file) VALUES (?, ?, ?, ?)
		ON CONFLICT (asset_id) DO UPDATE SET database_name = excluded.database_name, tls_mode = excluded.tls_mode,
		tls_ca_file = excluded.tls_ca_file`, assetID, d.Database, d.TLSMode, d.TLSCAFile)
	return wrapError(err)
}

// fillDatabase sets a database asset's Database settings.
func (s *Store) fillDatabase(ctx context.Context, a *Asset) error {
	if !IsDatabasePlatform(a.Platform) {
		return nil
	}
	d, err := s.GetAssetDatabase(ctx, a.ID)
	if err != nil {
		return err
	}
	a.Database = &d
	return nil
}

// checkDatabaseSecret refuses a key for an account on a database asset:
// database users log in with passwords.
func checkDatabaseSecret(platform, asset, kind string) error {
	if IsDatabasePlatform(platform) && kind == SecretKey {
		return fmt.Errorf("asset %s is a %s database: its accounts are database users with passwords (--password-stdin), not keys", asset, platform)
	}
	return nil
}
