package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestTestJobTick(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  time.Duration
		ok    bool
		log   string
	}{
		{"", 0, false, ""},
		{"200ms", 200 * time.Millisecond, true, "a test setting"},
		{"30s", 30 * time.Second, true, "a test setting"},
		{"10ms", 0, false, "ignored"},
		{"1m", 0, false, "ignored"},
		{"soon", 0, false, "ignored"},
	} {
		t.Setenv(testJobTickEnv, tc.value)
		var buf bytes.Buffer
		got, ok := testJobTick(slog.New(slog.NewTextHandler(&buf, nil)))
		if got != tc.want || ok != tc.ok || !strings.Contains(buf.String(), tc.log) || (tc.log == "" && buf.Len() > 0) {
			t.Errorf("%s=%q: %v %v, log %q", testJobTickEnv, tc.value, got, ok, buf.String())
		}
	}
}
