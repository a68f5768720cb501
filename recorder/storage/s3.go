package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/jms-bastion/jms/config"
)

// partSize is the size of the parts of a multipart upload: the memory an
// upload holds at once (S3's minimum part).
const partSize = 5 << 20

// S3 is an S3-compatible bucket (AWS S3, MinIO, versitygw, Ceph RGW…)
// reached with minio-go.
type S3 struct {
	c        *minio.Client
	bucket   string
	endpoint string
}

// NewS3 returns the bucket that cfg's recording_storage names, with
// credentials from the environment (AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY), then s3_credentials_file (or the AWS shared
// files), then the instance's IAM role.
func NewS3(cfg config.Config, loc config.S3Location) (*S3, error) {
	host, secure, err := endpoint(cfg.S3Endpoint)
	if err != nil {
		return nil, err
	}
	lookup := minio.BucketLookupAuto
	switch cfg.S3Addressing {
	case "path":
		lookup = minio.BucketLookupPath
	case "virtual":
		lookup = minio.BucketLookupDNS
	}
	region := cfg.S3Region
	if region == "" {
		region = "us-east-1"
	}
	creds := credentials.NewChainCredentials([]credentials.Provider{
		&credentials.EnvAWS{},
		&credentials.FileAWSCredentials{Filename: cfg.S3CredentialsFile, Profile: cfg.S3Profile},
		&credentials.IAM{},
	})
	c, err := minio.New(host, &minio.Options{Creds: creds, Secure: secure, Region: region, BucketLookup: lookup,
		// The uploader retries with its own backoff; the client retries a
		// little, for a dropped connection.
		MaxRetries: 3})
	if err != nil {
		return nil, fmt.Errorf("s3_endpoint %q: %w", cfg.S3Endpoint, err)
	}
	return &S3{c: c, bucket: loc.Bucket, endpoint: host}, nil
}

// endpoint splits s3_endpoint into host:port and whether to use TLS.
func endpoint(v string) (host string, secure bool, err error) {
	if v == "" {
		return "s3.amazonaws.com", true, nil
	}
	if !strings.Contains(v, "://") {
		return v, true, nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
		return "", false, fmt.Errorf("s3_endpoint %q: want host:port, https://host:port or http://host:port", v)
	}
	return u.Host, u.Scheme == "https", nil
}

// Where names the bucket for messages.
func (s *S3) Where() string { return "s3://" + s.bucket }

// Put uploads r as key, streamed in parts of partSize.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, meta map[string]string) error {
	_, err := s.c.PutObject(ctx, s.bucket, key, r, -1, minio.PutObjectOptions{
		UserMetadata: meta, ContentType: "application/gzip", PartSize: partSize, NumThreads: 1})
	return s.explain(err, key)
}

// Get opens key for reading.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	o, err := s.c.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.explain(err, key)
	}
	// GetObject is lazy: Stat makes the request, so that a missing
	// object or a refused key is an error here, not at the first read.
	if _, err := o.Stat(); err != nil {
		o.Close()
		return nil, s.explain(err, key)
	}
	return readerExplained{o, s, key}, nil
}

// Delete removes key; a key already gone is not an error.
func (s *S3) Delete(ctx context.Context, key string) error {
	err := s.c.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
	if err != nil && errors.Is(s.explain(err, key), ErrNoObject) {
		return nil
	}
	return s.explain(err, key)
}

// List returns the keys that begin with prefix, in order.
func (s *S3) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	for o := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, s.explain(o.Err, prefix)
		}
		keys = append(keys, o.Key)
	}
	sort.Strings(keys)
	return keys, nil
}

// Check reports whether the bucket can be reached with the credentials.
func (s *S3) Check(ctx context.Context) error {
	ok, err := s.c.BucketExists(ctx, s.bucket)
	if err != nil {
		return s.explain(err, "")
	}
	if !ok {
		return fmt.Errorf("%s at %s: no such bucket", s.Where(), s.endpoint)
	}
	return nil
}

type readerExplained struct {
	*minio.Object
	s   *S3
	key string
}

func (r readerExplained) Read(b []byte) (int, error) {
	n, err := r.Object.Read(b)
	if err != nil && err != io.EOF {
		err = r.s.explain(err, r.key)
	}
	return n, err
}

// explain turns an S3 error into one line naming the bucket, the object
// and what to do.
func (s *S3) explain(err error, key string) error {
	if err == nil {
		return nil
	}
	where := s.Where()
	if key != "" {
		where += "/" + key
	}
	var ne net.Error
	var ue *url.Error
	if errors.As(err, &ne) || errors.As(err, &ue) {
		return fmt.Errorf("%s: the object store at %s cannot be reached: %w", where, s.endpoint, err)
	}
	resp := minio.ToErrorResponse(err)
	if resp.StatusCode == http.StatusForbidden {
		resp.Code = "AccessDenied"
	}
	switch resp.Code {
	case "NoSuchKey", "NotFound":
		return fmt.Errorf("%s: %w", where, ErrNoObject)
	case "NoSuchBucket":
		return fmt.Errorf("%s at %s: no such bucket", s.Where(), s.endpoint)
	case "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken", "ExpiredToken",
		"XAdminUserNotFound": // versitygw's answer to an unknown access key
		return fmt.Errorf("%s at %s: access refused (%s): check the credentials (AWS_ACCESS_KEY_ID, s3_credentials_file) and the bucket's policy",
			s.Where(), s.endpoint, resp.Code)
	case "":
		return fmt.Errorf("%s: %w", where, err)
	}
	return fmt.Errorf("%s: %s (%s)", where, resp.Message, resp.Code)
}
