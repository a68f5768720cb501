package database

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jms-bastion/jms/bastion/database/sqlsplit"
)

// Engine is the database server's kind, as the asset platform names it.
type Engine string

// The engines. MySQL covers MariaDB.
const (
	MySQL      Engine = "mysql"
	PostgreSQL Engine = "postgresql"
)

// ParseEngine reads an engine name (mysql, mariadb, postgresql, postgres).
func ParseEngine(s string) (Engine, error) {
	d, err := sqlsplit.ParseDialect(s)
	if err != nil {
		return "", fmt.Errorf("unknown database engine %q (want mysql or postgresql)", s)
	}
	return engineOf(d), nil
}

func engineOf(d sqlsplit.Dialect) Engine {
	if d == sqlsplit.PostgreSQL {
		return PostgreSQL
	}
	return MySQL
}

// Dialect is the SQL dialect the engine speaks.
func (e Engine) Dialect() sqlsplit.Dialect {
	if e == PostgreSQL {
		return sqlsplit.PostgreSQL
	}
	return sqlsplit.MySQL
}

// DefaultPort is the engine's usual port.
func (e Engine) DefaultPort() int {
	if e == PostgreSQL {
		return 5432
	}
	return 3306
}

// TLSMode is how the bastion protects its connection to the database.
type TLSMode string

// The TLS modes. disable: plain TCP. require: TLS, the certificate not
// checked. verify-ca: TLS, the certificate chained to the CA file. verify-full:
// verify-ca and the certificate names the address (or ServerName).
const (
	TLSDisable    TLSMode = "disable"
	TLSRequire    TLSMode = "require"
	TLSVerifyCA   TLSMode = "verify-ca"
	TLSVerifyFull TLSMode = "verify-full"
)

// ParseTLSMode reads a TLS mode; the empty string is disable.
func ParseTLSMode(s string) (TLSMode, error) {
	switch m := TLSMode(strings.ToLower(strings.TrimSpace(s))); m {
	case "":
		return TLSDisable, nil
	case TLSDisable, TLSRequire, TLSVerifyCA, TLSVerifyFull:
		return m, nil
	}
	return "", fmt.Errorf("unknown TLS mode %q (want disable, require, verify-ca or verify-full)", s)
}

// TLS is the asset's TLS settings.
type TLS struct {
	Mode       TLSMode
	CAFile     string // PEM, for verify-ca and verify-full
	ServerName string // for verify-full when the address is not the certificate's name
}

// Target is one database account on one asset: everything needed to log
// in. Password is a secret: String and LogValue leave it out.
type Target struct {
	Engine   Engine
	Address  string
	Port     int // 0: the engine's default
	User     string
	Password string
	Database string // optional: the database (schema) to start in
	TLS      TLS
	// ConnectTimeout bounds the dial and login; 0 is 10 seconds.
	ConnectTimeout time.Duration
}

// defaultConnectTimeout is a Target's ConnectTimeout when none is set.
const defaultConnectTimeout = 10 * time.Second

// Validate reports what is missing or wrong in t.
func (t Target) Validate() error {
	var errs []error
	if t.Engine != MySQL && t.Engine != PostgreSQL {
		errs = append(errs, fmt.Errorf("unknown database engine %q (want mysql or postgresql)", t.Engine))
	}
	if t.Address == "" {
		errs = append(errs, errors.New("the database address is empty"))
	}
	if t.Port < 0 || t.Port > 65535 {
		errs = append(errs, fmt.Errorf("database port %d is out of range", t.Port))
	}
	if t.User == "" {
		errs = append(errs, errors.New("the database account's user name is empty"))
	}
	if _, err := ParseTLSMode(string(t.TLS.Mode)); err != nil {
		errs = append(errs, err)
	}
	if (t.TLS.Mode == TLSVerifyCA || t.TLS.Mode == TLSVerifyFull) && t.TLS.CAFile == "" {
		errs = append(errs, fmt.Errorf("TLS mode %s needs a CA file", t.TLS.Mode))
	}
	return errors.Join(errs...)
}

// HostPort is the address and port to dial.
func (t Target) HostPort() string {
	p := t.Port
	if p == 0 {
		p = t.Engine.DefaultPort()
	}
	return net.JoinHostPort(t.Address, strconv.Itoa(p))
}

func (t Target) connectTimeout() time.Duration {
	if t.ConnectTimeout > 0 {
		return t.ConnectTimeout
	}
	return defaultConnectTimeout
}

// String names the target without its password: mysql://user@host:port/db.
func (t Target) String() string {
	return fmt.Sprintf("%s://%s@%s/%s", t.Engine, t.User, t.HostPort(), t.Database)
}

// LogValue keeps the password out of logs.
func (t Target) LogValue() slog.Value {
	return slog.StringValue(t.String())
}

// TLSConfig builds the client TLS configuration for the target's mode;
// nil for disable.
func (t Target) TLSConfig() (*tls.Config, error) { return t.tlsConfig() }

// tlsConfig builds the client TLS configuration for the target's mode; nil
// for disable.
func (t Target) tlsConfig() (*tls.Config, error) {
	mode, err := ParseTLSMode(string(t.TLS.Mode))
	if err != nil {
		return nil, err
	}
	switch mode {
	case TLSDisable:
		return nil, nil
	case TLSRequire:
		return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, nil //nolint:gosec // require: encrypted, not authenticated, as libpq's sslmode=require
	}
	pool, err := loadCA(t.TLS.CAFile)
	if err != nil {
		return nil, err
	}
	if mode == TLSVerifyFull {
		name := t.TLS.ServerName
		if name == "" {
			name = t.Address
		}
		return &tls.Config{RootCAs: pool, ServerName: name, MinVersion: tls.VersionTLS12}, nil
	}
	return &tls.Config{
		InsecureSkipVerify: true, //nolint:gosec // verify-ca: the chain is checked below, the name is not
		MinVersion:         tls.VersionTLS12,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			return verifyChain(raw, pool)
		},
	}, nil
}

func loadCA(file string) (*x509.CertPool, error) {
	if file == "" {
		return nil, errors.New("TLS verification needs a CA file")
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading the database CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("the database CA file %s holds no PEM certificate", file)
	}
	return pool, nil
}

// verifyChain checks that the server's certificate chains to pool,
// whatever name it carries.
func verifyChain(raw [][]byte, pool *x509.CertPool) error {
	if len(raw) == 0 {
		return errors.New("the database server sent no TLS certificate")
	}
	certs := make([]*x509.Certificate, len(raw))
	for i, r := range raw {
		c, err := x509.ParseCertificate(r)
		if err != nil {
			return fmt.Errorf("the database server's TLS certificate is unreadable: %w", err)
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter}); err != nil {
		return fmt.Errorf("the database server's TLS certificate is not signed by the asset's CA: %w", err)
	}
	return nil
}
