package config

import (
	"strings"
	"testing"
	"time"
)

func TestObjectStorage(t *testing.T) {
	for _, tc := range []struct {
		in             string
		remote         bool
		bucket, prefix string
		err            string
	}{
		{in: "", remote: false},
		{in: "local", remote: false},
		{in: "s3://audit-rec", remote: true, bucket: "audit-rec"},
		{in: "s3://audit-rec/jms/prod/", remote: true, bucket: "audit-rec", prefix: "jms/prod"},
		{in: "s3://b/p", err: "bucket"},
		{in: "s3://Audit/p", err: "bucket"},
		{in: "s3://-audit/p", err: "bucket"},
		{in: "s3://audit-rec/a/../b", err: "prefix"},
		{in: "s3://audit-rec/a//b", err: "prefix"},
		{in: "s3://key:secret@audit-rec/p", err: "want local"},
		{in: "https://audit-rec/p", err: "want local"},
		{in: "/var/rec", err: "want local"},
	} {
		loc, remote, err := Config{RecordingStorage: tc.in}.ObjectStorage()
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want one about %s", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || remote != tc.remote || loc.Bucket != tc.bucket || loc.Prefix != tc.prefix {
			t.Errorf("%q: %+v %v %v", tc.in, loc, remote, err)
		}
	}
}

func TestParseAge(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"180d", 180 * 24 * time.Hour, true}, {"26w", 26 * 7 * 24 * time.Hour, true}, {"36h", 36 * time.Hour, true},
		{"1500ms", 1500 * time.Millisecond, true}, {"0d", 0, false}, {"-1d", 0, false}, {"d", 0, false},
		{"10x", 0, false}, {"99999999d", 0, false}, {"", 0, false},
	} {
		got, err := ParseAge(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseAge(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func TestRecordingSettingsValidate(t *testing.T) {
	c := Default(t.TempDir())
	c.SpoolMax, c.RecordingRetention, c.UploadConcurrency, c.S3Addressing, c.UploadPartSize = "lots", "10x", 0, "dns", "big"
	err := c.Validate()
	for _, want := range []string{"spool_max", "recording_retention", "upload_concurrency", "s3_addressing", "upload_part_size"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v; want it to name %s", err, want)
		}
	}
	c = Default(t.TempDir())
	c.SpoolMax, c.RecordingRetention, c.RecordingStorage = "20GiB", "180d", "s3://audit-rec/jms"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.SpoolMaxBytes(); n != 20<<30 {
		t.Fatalf("spool_max 20GiB = %d", n)
	}
}
