package e2e

// A real S3-compatible object store for the recording tests: versitygw, an S3 gateway over a
// local folder, started on a free loopback port.

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Server is a versitygw subprocess serving the folders of Root as buckets.
type S3Server struct {
	Root           string
	Addr           string // 127.0.0.1:PORT
	Access, Secret string

	t      testing.TB
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	log    *syncBuffer
}

// requireVersitygw skips the test when versitygw is not installed (fails it under JMS_E2E=1).
func requireVersitygw(t testing.TB) {
	t.Helper()
	if testing.Short() && !e2eRequired() {
		t.Skip("e2e: skipped with -short (set JMS_E2E=1 to run)")
	}
	if _, err := exec.LookPath("versitygw"); err == nil {
		return
	}
	msg := "e2e: missing versitygw (install versitygw: go install github.com/versity/versitygw/cmd/versitygw@latest, and put ~/go/bin on PATH)"
	if e2eRequired() {
		t.Fatal(msg + "; JMS_E2E is set, so this is a failure")
	}
	t.Skip(msg + "; set JMS_E2E=1 to make this a failure")
}

// startS3 starts versitygw with a fresh root and the bucket named, and stops it when the test
// ends.
func startS3(t testing.TB, bucket string) *S3Server {
	t.Helper()
	requireVersitygw(t)
	s := &S3Server{Root: filepath.Join(t.TempDir(), "s3"), Addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		Access: "jmsak" + randomToken(6), Secret: "jmssk" + randomToken(16), t: t, log: &syncBuffer{}}
	if err := os.MkdirAll(s.Root, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("versitygw log (%s):\n%s", s.Addr, s.log.String())
		}
	})
	s.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.client().MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket %s: %v", bucket, err)
	}
	return s
}

func (s *S3Server) client() *minio.Client {
	c, err := minio.New(s.Addr, &minio.Options{Creds: credentials.NewStaticV4(s.Access, s.Secret, ""), BucketLookup: minio.BucketLookupPath})
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// Start starts (or restarts) the gateway on the same address and root, and waits until it
// answers.
func (s *S3Server) Start() {
	s.t.Helper()
	cmd := exec.Command("versitygw", "--access", s.Access, "--secret", s.Secret, "--port", s.Addr, "--quiet", "posix", s.Root)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("starting versitygw: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	ok := waitUntil(30*time.Second, func() bool {
		select {
		case <-exited:
			return true
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := s.client().ListBuckets(ctx)
		return err == nil
	})
	select {
	case <-exited:
		s.t.Fatalf("versitygw exited:\n%s", s.log.String())
	default:
	}
	if !ok {
		s.t.Fatalf("versitygw on %s did not answer within 30 s:\n%s", s.Addr, s.log.String())
	}
}

// Stop stops the gateway; safe to call twice.
func (s *S3Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd != nil {
		stopProcess(cmd, exited, 10*time.Second)
	}
}

// Objects returns the keys in bucket under prefix.
func (s *S3Server) Objects(t testing.TB, bucket, prefix string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var keys []string
	for o := range s.client().ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list s3://%s/%s: %v", bucket, prefix, o.Err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}

// Put replaces an object's content.
func (s *S3Server) Put(t testing.TB, bucket, key string, data []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.client().PutObject(ctx, bucket, key, strings.NewReader(string(data)), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("put s3://%s/%s: %v", bucket, key, err)
	}
}

// GetGunzip returns an object's content, gunzipped.
func (s *S3Server) GetGunzip(t testing.TB, bucket, key string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o, err := s.client().GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("get s3://%s/%s: %v", bucket, key, err)
	}
	defer o.Close()
	zr, err := gzip.NewReader(o)
	if err != nil {
		return ""
	}
	b, _ := io.ReadAll(zr)
	return string(b)
}

// JmsConfig is the jms.yaml lines that send recordings to bucket/prefix on this gateway.
func (s *S3Server) JmsConfig(bucket, prefix string) string {
	return fmt.Sprintf("recording_storage: s3://%s/%s\ns3_endpoint: http://%s\ns3_addressing: path\n", bucket, prefix, s.Addr)
}

// Env is the credentials' environment for jmsctl.
func (s *S3Server) Env() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + s.Access, "AWS_SECRET_ACCESS_KEY=" + s.Secret}
}
