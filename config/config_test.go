package config

import (
	"strings"
	"testing"
)

func TestValidateAlgorithms(t *testing.T) {
	for _, tc := range []struct {
		name    string
		set     func(*Config)
		wantErr string
	}{
		{"defaults", func(*Config) {}, ""},
		{"ciphers", func(c *Config) { c.Ciphers = []string{"chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com"} }, ""},
		{"kex", func(c *Config) { c.KeyExchanges = []string{"mlkem768x25519-sha256", "curve25519-sha256"} }, ""},
		{"macs", func(c *Config) { c.MACs = []string{"hmac-sha2-512-etm@openssh.com"} }, ""},
		{"unknown cipher", func(c *Config) { c.Ciphers = []string{"rot13"} }, `ciphers: "rot13" is not supported`},
		{"insecure cipher", func(c *Config) { c.Ciphers = []string{"aes128-cbc"} }, `ciphers: "aes128-cbc"`},
		{"insecure kex", func(c *Config) { c.KeyExchanges = []string{"diffie-hellman-group1-sha1"} }, `key_exchanges: "diffie-hellman-group1-sha1"`},
		{"insecure mac", func(c *Config) { c.MACs = []string{"hmac-sha1-96"} }, `macs: "hmac-sha1-96"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default(t.TempDir())
			tc.set(&c)
			err := c.Validate()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Validate: %v, want %q", err, tc.wantErr)
			}
		})
	}
}
