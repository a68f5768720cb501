package database

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// otherCA writes a CA certificate that signed nothing the servers hold.
func otherCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestPostgresTLSModes runs against the test PostgreSQL, which serves
// Debian's snakeoil certificate (CN localhost, self-signed).
func TestPostgresTLSModes(t *testing.T) {
	const snakeoil = "/etc/ssl/certs/ssl-cert-snakeoil.pem"
	base := adminTarget(t, PostgreSQL)
	if _, err := os.Stat(snakeoil); err != nil {
		t.Skipf("no %s: the server's certificate is unknown", snakeoil)
	}
	tests := []struct {
		name    string
		tls     TLS
		wantErr string
	}{
		{"disable", TLS{Mode: TLSDisable}, ""},
		{"require", TLS{Mode: TLSRequire}, ""},
		{"verify-ca", TLS{Mode: TLSVerifyCA, CAFile: snakeoil}, ""},
		{"verify-full by name", TLS{Mode: TLSVerifyFull, CAFile: snakeoil, ServerName: "localhost"}, ""},
		{"verify-full wrong name", TLS{Mode: TLSVerifyFull, CAFile: snakeoil}, "127.0.0.1"},
		{"verify-ca other CA", TLS{Mode: TLSVerifyCA, CAFile: otherCA(t)}, "not signed by the asset's CA"},
		{"verify-ca missing file", TLS{Mode: TLSVerifyCA, CAFile: "/nonexistent/ca.pem"}, "reading the database CA file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := base
			tg.TLS = tt.tls
			s, err := Open(context.Background(), tg, Options{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			res := mustRun(t, s, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
			want := map[bool]string{true: "t", false: "f"}[tt.tls.Mode != TLSDisable]
			if got := res.Rows[0][0].String; got != want {
				t.Errorf("ssl = %s, want %s", got, want)
			}
		})
	}
}

func TestMySQLRequireTLSWithoutServerTLS(t *testing.T) {
	tg := adminTarget(t, MySQL)
	tg.TLS = TLS{Mode: TLSRequire}
	s, err := Open(context.Background(), tg, Options{})
	if err == nil {
		// A server with TLS: the connection must then be encrypted.
		defer s.Close()
		res := mustRun(t, s, "SHOW STATUS LIKE 'Ssl_cipher'")
		if res.Rows[0][1].String == "" {
			t.Error("TLS required but the connection is plain")
		}
		return
	}
	t.Logf("refused: %v", err)
	if !strings.Contains(err.Error(), "TLS") {
		t.Errorf("err = %v", err)
	}
}

func TestTargetValidateAndString(t *testing.T) {
	tg := Target{Engine: MySQL, Address: "db1", User: "u", Password: "s3cret", TLS: TLS{Mode: TLSVerifyCA}}
	if err := tg.Validate(); err == nil || !strings.Contains(err.Error(), "CA file") {
		t.Errorf("Validate = %v", err)
	}
	if s := tg.String(); strings.Contains(s, "s3cret") || s != "mysql://u@db1:3306/" {
		t.Errorf("String = %q", s)
	}
	if err := (Target{}).Validate(); err == nil {
		t.Error("empty target validated")
	}
}
