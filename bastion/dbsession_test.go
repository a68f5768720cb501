package bastion

import (
	"testing"

	"github.com/jms-bastion/jms/bastion/database"
)

func TestExecFormat(t *testing.T) {
	for _, tt := range []struct {
		cmd, input string
		f          database.Format
	}{
		{"SELECT 1", "SELECT 1", database.TSV},
		{"  --json SELECT 1 ", "SELECT 1", database.JSON},
		{"--json\tSELECT 1", "SELECT 1", database.JSON},
		{"--tsv SELECT 1", "SELECT 1", database.TSV},
		{"--jsonx SELECT 1", "--jsonx SELECT 1", database.TSV},
		{"-- comment\nSELECT 1", "-- comment\nSELECT 1", database.TSV},
	} {
		f, input := execFormat(tt.cmd)
		if f != tt.f || input != tt.input {
			t.Errorf("%q: got %v %q, want %v %q", tt.cmd, f, input, tt.f, tt.input)
		}
	}
}
