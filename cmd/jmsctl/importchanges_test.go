package main

import (
	"strings"
	"testing"
	"unicode"

	"github.com/jms-bastion/jms/store"
)

func TestChangeText(t *testing.T) {
	tests := []struct {
		name    string
		changes map[string]store.FieldChange
		want    string
	}{
		{"none", nil, ""},
		{"fields in order", map[string]store.FieldChange{"labels": {From: "env=prod", To: "env=staging"}, "address": {From: "10.0.0.5", To: "10.0.0.6"}},
			": address 10.0.0.5 -> 10.0.0.6, labels env=prod -> env=staging"},
		{"empty values", map[string]store.FieldChange{"comment": {From: "", To: "x"}}, ": comment (none) -> x"},
		{"control characters", map[string]store.FieldChange{"comment": {From: "a", To: "\x1b]0;pwned\x07\nb"}}, `: comment a -> \x1b]0;pwned\x07 b`},
	}
	for _, tt := range tests {
		if got := changeText(tt.changes); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

// FuzzChangeText: values from an import file never reach the terminal
// raw; the summary stays on one line.
func FuzzChangeText(f *testing.F) {
	f.Add("comment", "a", "\x1b[2J\r\nb")
	f.Add("labels", "env=prod", "env=\u009b31m")
	f.Fuzz(func(t *testing.T, field, from, to string) {
		got := changeText(map[string]store.FieldChange{field: {From: from, To: to}})
		if strings.ContainsFunc(got, func(r rune) bool { return unicode.IsControl(r) }) {
			t.Fatalf("control character in %q", got)
		}
	})
}
