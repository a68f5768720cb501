// Package config holds the one configuration of jms: defaults, then
// jms.yaml in the data directory, then JMS_* environment variables, then
// command-line flags, then Validate.
package config

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"gopkg.in/yaml.v3"
)

// FileName is the config file's name in the data directory.
const FileName = "jms.yaml"

// Config is every setting of jms. Each field's yaml name, upper-cased
// with a JMS_ prefix, is its environment variable (listen → JMS_LISTEN).
type Config struct {
	// DataDir holds jms.db, secret.key, the host key and recordings.
	DataDir string `yaml:"-"`

	// Database is where the store lives: empty for the SQLite file
	// jms.db in the data directory (the default), or a PostgreSQL URL
	// (postgres://jms@db1/jms?sslmode=verify-full) for a cluster. Its
	// password belongs in a passfile (PGPASSFILE), not here.
	Database string `yaml:"database"`

	// Listen is the bastion's SSH address.
	Listen string `yaml:"listen"`
	// NodeName names this server among the nodes of a cluster (jmsctl
	// server list, the node of each session); the host name when empty.
	NodeName string `yaml:"node_name"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level"`

	// HostKeyPolicy is "tofu" (pin an asset's key at first connect) or
	// "require" (refuse until `jmsctl asset trust`).
	HostKeyPolicy string `yaml:"host_key_policy"`
	// ConnectTimeout bounds dialing an asset.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// Keepalive is the interval of keepalives to assets and clients;
	// three unanswered in a row end a client's connection.
	Keepalive time.Duration `yaml:"keepalive"`

	// Ciphers, KeyExchanges and MACs are the bastion's SSH algorithms,
	// in order of preference; empty means the built-in safe set.
	Ciphers      []string `yaml:"ciphers"`
	KeyExchanges []string `yaml:"key_exchanges"`
	MACs         []string `yaml:"macs"`

	// PreAuthTimeout bounds the time from TCP accept to authenticated.
	PreAuthTimeout time.Duration `yaml:"pre_auth_timeout"`
	// MaxUnauthPerSource and MaxUnauth cap connections not yet
	// authenticated, per source address and overall.
	MaxUnauthPerSource int `yaml:"max_unauth_per_source"`
	MaxUnauth          int `yaml:"max_unauth"`
	// MaxChannels caps open channels per connection.
	MaxChannels int `yaml:"max_channels"`
	// MaxConnectionsPerUser caps one person's logged-in connections on
	// this server; 0 never.
	MaxConnectionsPerUser int `yaml:"max_connections_per_user"`

	// ReuseConnections lets one person's concurrent sessions to the same
	// asset as the same account share one SSH connection to it, each on a
	// channel of its own (as OpenSSH's ControlMaster); false gives each
	// session a connection of its own.
	ReuseConnections bool `yaml:"reuse_connections"`

	// RecordInput records what users type (it can hold passwords).
	RecordInput bool `yaml:"record_input"`
	// RecordingFailure is "close" (end the session when the recording
	// cannot be written) or "continue".
	RecordingFailure string `yaml:"recording_failure"`

	// RecordingStorage is where finished recordings are kept: "local"
	// (the default: they stay in recordings/) or "s3://bucket/prefix"
	// (recordings/ is a spool, drained to that S3-compatible bucket).
	RecordingStorage string `yaml:"recording_storage"`
	// S3Endpoint is the object store's host[:port], or a URL whose
	// http:// scheme turns TLS off; empty means AWS S3 (s3.amazonaws.com).
	S3Endpoint string `yaml:"s3_endpoint"`
	// S3Region is the bucket's region (us-east-1 when empty).
	S3Region string `yaml:"s3_region"`
	// S3Addressing is "auto", "path" (http://host/bucket/key) or
	// "virtual" (http://bucket.host/key).
	S3Addressing string `yaml:"s3_addressing"`
	// S3CredentialsFile is an AWS shared credentials file read after the
	// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY environment and before the
	// instance's role; S3Profile picks its profile (default "default").
	// Keys are never written in jms.yaml.
	S3CredentialsFile string `yaml:"s3_credentials_file"`
	S3Profile         string `yaml:"s3_profile"`
	// UploadConcurrency bounds the uploads running at once.
	UploadConcurrency int `yaml:"upload_concurrency"`
	// UploadPartInterval and UploadPartSize upload a running session's
	// recording in parts: what it recorded since the last part, once that
	// is this old or this big (e.g. "16MiB"); 0 turns each off.
	UploadPartInterval time.Duration `yaml:"upload_part_interval"`
	UploadPartSize     string        `yaml:"upload_part_size"`
	// SpoolMax bounds the spool (recordings/, e.g. "20GiB"); when it is
	// full, new sessions follow RecordingFailure. Empty: no bound.
	SpoolMax string `yaml:"spool_max"`
	// RecordingRetention deletes recordings of sessions that ended longer
	// ago (e.g. "180d"); empty keeps them for ever.
	RecordingRetention string `yaml:"recording_retention"`

	// ReviewTimeout is how long a command held for review waits for an
	// admin's decision before it is dropped.
	ReviewTimeout time.Duration `yaml:"review_timeout"`

	// SQLMaxRows is how many rows of a result the SQL console and one-shot
	// statements show (the rest are counted, not shown; the audit keeps
	// the count only).
	SQLMaxRows int `yaml:"sql_max_rows"`

	// PasswordMinLength is the password policy's minimum length.
	PasswordMinLength int `yaml:"password_min_length"`
	// PasswordMaxAge makes passwords expire; 0 never.
	PasswordMaxAge time.Duration `yaml:"password_max_age"`

	// IdleTimeout ends sessions without input, and logged-in
	// connections without a channel; 0 never.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MaxSessionDuration ends sessions that last longer; 0 never.
	MaxSessionDuration time.Duration `yaml:"max_session_duration"`
	// Banner is shown above the menu.
	Banner string `yaml:"banner"`

	// MFA is "optional" or "required" (users without TOTP enrol at login).
	MFA string `yaml:"mfa"`
	// MFARoles require MFA of these roles even when MFA is optional.
	MFARoles []string `yaml:"mfa_roles"`
	// MFAGrace lets a TOTP code typed at login serve the same user's
	// new connections from the same address (scp after ssh, rsync,
	// Ansible) for this long after its use: they still need their
	// password or key, not the code. 0 (the default) turns it off.
	MFAGrace time.Duration `yaml:"mfa_grace"`
	// LockoutThreshold failed logins of one name from one source address
	// within LockoutWindow lock that name from that address for
	// LockoutDuration; 0 turns lockout off.
	LockoutThreshold int           `yaml:"lockout_threshold"`
	LockoutWindow    time.Duration `yaml:"lockout_window"`
	LockoutDuration  time.Duration `yaml:"lockout_duration"`
	// LockoutUserThreshold failed logins of one user from all addresses
	// within LockoutWindow lock the user everywhere; 0 never.
	LockoutUserThreshold int `yaml:"lockout_user_threshold"`
	// ThrottleNames distinct names failing from one address within
	// LockoutWindow refuse that address for LockoutDuration; 0 never.
	ThrottleNames int `yaml:"throttle_names"`
	// ThrottleFailures refused logins of any method (wrong passwords,
	// refused keys, invalid names, locked names) from one address within
	// LockoutWindow refuse that address for LockoutDuration; 0 never.
	// An IPv6 address counts as its /64 here and in every lockout.
	ThrottleFailures int `yaml:"throttle_failures"`

	// --- notifications (notify) ---
	// NotifyLanguage is the language of mails: en or zh-CN.
	NotifyLanguage string `yaml:"notify_language"`
	// NotifyRetry is the wait before the first retry of a mail or webhook
	// post that failed; it doubles at each attempt, up to an hour.
	NotifyRetry time.Duration `yaml:"notify_retry"`
	// NotifyMaxAttempts attempts at a message make it failed.
	NotifyMaxAttempts int `yaml:"notify_max_attempts"`
	// NotifyPoll is how often serve looks for messages queued by other
	// processes (jmsctl on the command line, other nodes).
	NotifyPoll time.Duration `yaml:"notify_poll"`
	// NotifyPublicAddress is how people reach the bastion
	// ("bastion.example.com:2222"), for the lines mails tell them to type.
	NotifyPublicAddress string `yaml:"notify_public_address"`
	// NotifyDigest is the period of digest mails (notify rule mode digest).
	NotifyDigest time.Duration `yaml:"notify_digest"`
	// InviteTTL is how long an invitation's one-time password works.
	InviteTTL time.Duration `yaml:"invite_ttl"`
	// --- end notifications ---
	// TrustedProxies are the addresses and CIDR ranges of the TCP load
	// balancers whose PROXY protocol (v1 or v2) header names the client;
	// empty (the default) turns the PROXY protocol off. A header from
	// any other address is refused and audited.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// ProxyProtocol is "required" (a trusted proxy must send a header:
	// a connection from it without one is refused) or "optional" (a
	// trusted address may also connect directly, as itself).
	ProxyProtocol string `yaml:"proxy_protocol"`
	// DrainTimeout is how long SIGTERM lets the sessions of a draining
	// server run before it ends them; a second SIGTERM or SIGINT ends
	// them at once.
	DrainTimeout time.Duration `yaml:"drain_timeout"`
	// MetricsListen is the address of the Prometheus metrics and health
	// endpoints (/metrics, /healthz, /readyz); empty (the default) off.
	MetricsListen string `yaml:"metrics_listen"`
}

// Default returns the built-in defaults for dataDir.
func Default(dataDir string) Config {
	return Config{
		DataDir:            dataDir,
		Listen:             ":2222",
		LogLevel:           "info",
		HostKeyPolicy:      "tofu",
		ConnectTimeout:     10 * time.Second,
		Keepalive:          30 * time.Second,
		ReuseConnections:   true,
		PreAuthTimeout:     30 * time.Second,
		MaxUnauthPerSource: 200,
		MaxUnauth:          1000,
		MaxChannels:        32,
		// Room for 100 parallel Ansible forks through the bastion.
		MaxConnectionsPerUser: 200,
		RecordingFailure:      "close",
		RecordingStorage:      "local",
		S3Addressing:          "auto",
		UploadConcurrency:     2,
		UploadPartInterval:    5 * time.Minute,
		UploadPartSize:        "16MiB",
		ReviewTimeout:         5 * time.Minute,
		SQLMaxRows:            10000,
		PasswordMinLength:     8,
		IdleTimeout:           30 * time.Minute,
		MFA:                   "optional",
		LockoutThreshold:      5,
		LockoutWindow:         10 * time.Minute,
		LockoutDuration:       30 * time.Minute,
		// Four times the per-source threshold: one attacker cannot
		// lock a person out from everywhere by guessing from one place.
		LockoutUserThreshold: 20,
		ThrottleNames:        20,
		ThrottleFailures:     100,
		// notifications
		NotifyLanguage:    "en",
		NotifyRetry:       30 * time.Second,
		NotifyMaxAttempts: 10,
		NotifyPoll:        10 * time.Second,
		InviteTTL:         72 * time.Hour,
		NotifyDigest:      time.Hour,
		ProxyProtocol:     "required",
		DrainTimeout:      time.Hour,
	}
}

// Load returns the defaults overlaid with dataDir/jms.yaml (if it exists)
// and then with JMS_* variables from environ (os.Environ's form). Flags
// are the caller's to apply, and Validate comes last.
func Load(dataDir string, environ []string) (Config, error) {
	c := Default(dataDir)
	path := filepath.Join(dataDir, FileName)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, fmt.Errorf("config %s: %w", path, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return c, fmt.Errorf("config: %w", err)
	}
	if err := c.applyEnv(environ); err != nil {
		return c, err
	}
	return c, nil
}

func (c *Config) applyEnv(environ []string) error {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "JMS_") {
			env[k] = v
		}
	}
	rv := reflect.ValueOf(c).Elem()
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		tag := rt.Field(i).Tag.Get("yaml")
		if tag == "" || tag == "-" {
			continue
		}
		name := "JMS_" + strings.ToUpper(tag)
		v, ok := env[name]
		if !ok {
			continue
		}
		if err := setField(rv.Field(i), v); err != nil {
			return fmt.Errorf("%s=%q: %w", name, v, err)
		}
	}
	return nil
}

var durationType = reflect.TypeOf(time.Duration(0))

func setField(f reflect.Value, v string) error {
	switch {
	case f.Type() == durationType:
		d, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		f.SetInt(int64(d))
	case f.Kind() == reflect.String:
		f.SetString(v)
	case f.Kind() == reflect.Int:
		n, err := strconv.Atoi(v)
		if err != nil {
			return err
		}
		f.SetInt(int64(n))
	case f.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return err
		}
		f.SetBool(b)
	case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
		var parts []string
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		f.Set(reflect.ValueOf(parts))
	default:
		return fmt.Errorf("unsupported setting type %s", f.Type())
	}
	return nil
}

// Validate checks the settings and says what is wrong.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen %q: %w", c.Listen, err))
	}
	oneOf := func(name, v string, allowed ...string) {
		for _, a := range allowed {
			if v == a {
				return
			}
		}
		errs = append(errs, fmt.Errorf("%s %q: want one of %s", name, v, strings.Join(allowed, ", ")))
	}
	if err := checkDatabase(c.Database); err != nil {
		errs = append(errs, err)
	}
	oneOf("log_level", c.LogLevel, "debug", "info", "warn", "error")
	oneOf("host_key_policy", c.HostKeyPolicy, "tofu", "require")
	oneOf("recording_failure", c.RecordingFailure, "close", "continue")
	oneOf("mfa", c.MFA, "optional", "required")
	oneOf("proxy_protocol", c.ProxyProtocol, "required", "optional")
	for _, p := range c.TrustedProxies {
		if _, err := ParseTrustedProxy(p); err != nil {
			errs = append(errs, err)
		}
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			errs = append(errs, fmt.Errorf("metrics_listen %q: %w", c.MetricsListen, err))
		}
	}
	errs = append(errs, c.validateRecordingStorage()...)
	positive := func(name string, d time.Duration) {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, is %s", name, d))
		}
	}
	positive("connect_timeout", c.ConnectTimeout)
	positive("pre_auth_timeout", c.PreAuthTimeout)
	positive("review_timeout", c.ReviewTimeout)
	positive("drain_timeout", c.DrainTimeout)
	if c.SQLMaxRows < 1 {
		errs = append(errs, fmt.Errorf("sql_max_rows must be at least 1, is %d", c.SQLMaxRows))
	}
	if c.MaxUnauthPerSource < 1 || c.MaxUnauth < 1 || c.MaxChannels < 1 {
		errs = append(errs, errors.New("max_unauth_per_source, max_unauth and max_channels must be at least 1"))
	}
	if c.PasswordMinLength < 1 {
		errs = append(errs, errors.New("password_min_length must be at least 1"))
	}
	if c.LockoutThreshold < 0 || c.LockoutUserThreshold < 0 || c.ThrottleNames < 0 || c.ThrottleFailures < 0 || c.MaxConnectionsPerUser < 0 {
		errs = append(errs, errors.New("lockout_threshold, lockout_user_threshold, throttle_names, throttle_failures and max_connections_per_user must not be negative (0 turns each off)"))
	}
	if c.LockoutThreshold > 0 || c.LockoutUserThreshold > 0 || c.ThrottleNames > 0 || c.ThrottleFailures > 0 {
		positive("lockout_window", c.LockoutWindow)
		positive("lockout_duration", c.LockoutDuration)
	}
	if c.MFAGrace < 0 {
		errs = append(errs, fmt.Errorf("mfa_grace must not be negative, is %s (0 turns it off)", c.MFAGrace))
	}
	for _, r := range c.MFARoles {
		oneOf("mfa_roles", r, "user", "auditor", "admin")
	}
	supported := gossh.SupportedAlgorithms()
	known := func(name string, got, allowed []string) {
		for _, g := range got {
			if !slices.Contains(allowed, g) {
				errs = append(errs, fmt.Errorf("%s: %q is not supported (want some of %s)", name, g, strings.Join(allowed, ", ")))
			}
		}
	}
	known("ciphers", c.Ciphers, supported.Ciphers)
	known("key_exchanges", c.KeyExchanges, supported.KeyExchanges)
	known("macs", c.MACs, supported.MACs)
	// notifications
	oneOf("notify_language", c.NotifyLanguage, "en", "zh-CN")
	positive("notify_retry", c.NotifyRetry)
	positive("notify_poll", c.NotifyPoll)
	positive("invite_ttl", c.InviteTTL)
	positive("notify_digest", c.NotifyDigest)
	if c.NotifyMaxAttempts < 1 {
		errs = append(errs, errors.New("notify_max_attempts must be at least 1"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid configuration: %w", err)
	}
	return nil
}

// Node returns the node name: NodeName, or the host name.
func (c Config) Node() (string, error) {
	if c.NodeName != "" {
		return c.NodeName, nil
	}
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "", fmt.Errorf("node name: the host name is unknown (%v): set node_name", err)
	}
	if i := strings.IndexByte(h, '.'); i > 0 {
		h = h[:i]
	}
	return h, nil
}

// checkDatabase checks the kind of a database location; the store reads
// the rest. It never quotes a URL, which may hold a password.
func checkDatabase(db string) error {
	scheme, _, ok := strings.Cut(db, "://")
	if db == "" || !ok {
		return nil
	}
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql", "sqlite":
		return nil
	}
	return fmt.Errorf("database: unknown kind %q (want postgres://…, sqlite://PATH or empty for jms.db in the data directory)", scheme)
}

// StoreLocation is where the store lives: the database URL, or the
// SQLite file of the data directory.
func (c Config) StoreLocation() string {
	if c.Database != "" {
		return c.Database
	}
	return c.DBPath()
}

// EmbeddedDB reports whether the store is the SQLite file of the data
// directory (no database setting).
func (c Config) EmbeddedDB() bool { return c.Database == "" }

// ParseTrustedProxy parses one entry of trusted_proxies: an address
// (10.0.0.5, a /32 or /128) or a CIDR range (10.0.0.0/24).
func ParseTrustedProxy(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("trusted_proxies %q: want an address or a CIDR range such as 10.0.0.0/24", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Paths of the data directory.
func (c Config) DBPath() string        { return filepath.Join(c.DataDir, "jms.db") }
func (c Config) HostKeyPath() string   { return filepath.Join(c.DataDir, "ssh_host_ed25519_key") }
func (c Config) RecordingsDir() string { return filepath.Join(c.DataDir, "recordings") }
func (c Config) KeyPath() string       { return filepath.Join(c.DataDir, "secret.key") }

// TemplatesDir holds mail templates that override the built-in ones.
func (c Config) TemplatesDir() string { return filepath.Join(c.DataDir, "templates") }
