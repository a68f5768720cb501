package config

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
)

// S3Location is a parsed recording_storage of the form s3://bucket/prefix.
type S3Location struct {
	Bucket string
	Prefix string // without leading or trailing slash; may be empty
}

// ObjectStorage returns where recordings go when recording_storage names
// an S3 bucket, and false when they stay local.
func (c Config) ObjectStorage() (S3Location, bool, error) {
	v := strings.TrimSpace(c.RecordingStorage)
	if v == "" || v == "local" {
		return S3Location{}, false, nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return S3Location{}, false, fmt.Errorf("recording_storage %q: want local or s3://bucket/prefix", v)
	}
	if !validBucket(u.Host) {
		return S3Location{}, false, fmt.Errorf("recording_storage %q: bucket %q: want 3 to 63 of a-z, 0-9, . and -, starting and ending with a letter or digit", v, u.Host)
	}
	prefix := strings.Trim(u.Path, "/")
	if strings.Contains(prefix, "//") || strings.Contains("/"+prefix+"/", "/../") || strings.Contains("/"+prefix+"/", "/./") {
		return S3Location{}, false, fmt.Errorf("recording_storage %q: the prefix must not hold empty, . or .. parts", v)
	}
	return S3Location{Bucket: u.Host, Prefix: prefix}, true, nil
}

// validBucket applies S3's rules for bucket names.
func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 {
		return false
	}
	for i, r := range b {
		alnum := r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
		if !alnum && ((r != '.' && r != '-') || i == 0 || i == len(b)-1) {
			return false
		}
	}
	return true
}

// SpoolMaxBytes is spool_max in bytes; 0 means no bound.
func (c Config) SpoolMaxBytes() (int64, error) {
	v := strings.TrimSpace(c.SpoolMax)
	if v == "" || v == "0" {
		return 0, nil
	}
	n, err := humanize.ParseBytes(v)
	if err != nil || n > 1<<62 {
		return 0, fmt.Errorf("spool_max %q: want a size such as 20GiB or 500MB", v)
	}
	return int64(n), nil
}

// PartSizeBytes is upload_part_size in bytes; 0 turns it off.
func (c Config) PartSizeBytes() (int64, error) {
	v := strings.TrimSpace(c.UploadPartSize)
	if v == "" || v == "0" {
		return 0, nil
	}
	n, err := humanize.ParseBytes(v)
	if err != nil || n > 1<<40 {
		return 0, fmt.Errorf("upload_part_size %q: want a size such as 16MiB", v)
	}
	return int64(n), nil
}

// Retention is recording_retention; 0 keeps recordings for ever.
func (c Config) Retention() (time.Duration, error) {
	v := strings.TrimSpace(c.RecordingRetention)
	if v == "" || v == "0" {
		return 0, nil
	}
	d, err := ParseAge(v)
	if err != nil {
		return 0, fmt.Errorf("recording_retention %q: %w", v, err)
	}
	return d, nil
}

// ParseAge reads an age such as 180d, 26w, 36h or 90m (a number of days
// or weeks, or a Go duration); it must be positive.
func ParseAge(v string) (time.Duration, error) {
	unit := time.Duration(0)
	switch {
	case strings.HasSuffix(v, "d"):
		unit = 24 * time.Hour
	case strings.HasSuffix(v, "w"):
		unit = 7 * 24 * time.Hour
	}
	var d time.Duration
	if unit != 0 {
		n, err := strconv.Atoi(v[:len(v)-1])
		if err != nil || n > 100*366 {
			return 0, errors.New("want a number of days (180d) or weeks (26w), or a duration (36h)")
		}
		d = time.Duration(n) * unit
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return 0, errors.New("want a number of days (180d) or weeks (26w), or a duration (36h)")
		}
	}
	if d <= 0 {
		return 0, errors.New("must be positive")
	}
	return d, nil
}

func (c Config) validateRecordingStorage() []error {
	var errs []error
	if _, _, err := c.ObjectStorage(); err != nil {
		errs = append(errs, err)
	}
	switch c.S3Addressing {
	case "auto", "path", "virtual":
	default:
		errs = append(errs, fmt.Errorf("s3_addressing %q: want one of auto, path, virtual", c.S3Addressing))
	}
	if c.UploadConcurrency < 1 || c.UploadConcurrency > 64 {
		errs = append(errs, fmt.Errorf("upload_concurrency %d: want 1 to 64", c.UploadConcurrency))
	}
	if _, err := c.SpoolMaxBytes(); err != nil {
		errs = append(errs, err)
	}
	if _, err := c.PartSizeBytes(); err != nil {
		errs = append(errs, err)
	}
	if c.UploadPartInterval < 0 {
		errs = append(errs, fmt.Errorf("upload_part_interval must not be negative, is %s (0 turns it off)", c.UploadPartInterval))
	}
	if _, err := c.Retention(); err != nil {
		errs = append(errs, err)
	}
	return errs
}
