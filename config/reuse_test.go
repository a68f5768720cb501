package config

import (
	"os"
	"path/filepath"
	"testing"
)

// reuse_connections is on unless jms.yaml or JMS_REUSE_CONNECTIONS turns
// it off.
func TestReuseConnections(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		env  []string
		want bool
	}{
		{"default", "", nil, true},
		{"off in jms.yaml", "reuse_connections: false\n", nil, false},
		{"off in the environment", "", []string{"JMS_REUSE_CONNECTIONS=false"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.yaml != "" {
				if err := os.WriteFile(filepath.Join(dir, FileName), []byte(tc.yaml), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			c, err := Load(dir, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if c.ReuseConnections != tc.want {
				t.Fatalf("reuse_connections %v, want %v", c.ReuseConnections, tc.want)
			}
		})
	}
}
