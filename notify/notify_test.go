package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jms-bastion/jms/store"
)

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{
		{0, 30 * time.Second}, {1, time.Minute}, {2, 2 * time.Minute}, {6, 32 * time.Minute}, {7, time.Hour}, {50, time.Hour},
	} {
		if got := Backoff(30*time.Second, tc.n); got != tc.want {
			t.Errorf("Backoff(30s, %d) = %s, want %s", tc.n, got, tc.want)
		}
	}
}

func TestTemplates(t *testing.T) {
	data := map[string]any{"To": "a@example.com", "At": "now", "Actor": "<script>x</script>"}
	en, err := Templates{Language: "en"}.Render("test", "a@example.com", data)
	if err != nil {
		t.Fatal(err)
	}
	if en.Subject != "jms test message\n" && en.Subject != "jms test message" {
		t.Errorf("subject %q", en.Subject)
	}
	if !strings.Contains(en.Text, "<script>x</script>") {
		t.Errorf("the text part is escaped: %q", en.Text)
	}
	if strings.Contains(en.HTML, "<script>") || !strings.Contains(en.HTML, "&lt;script&gt;") {
		t.Errorf("the HTML part is not escaped: %q", en.HTML)
	}
	zh, err := Templates{Language: "zh-CN"}.Render("test", "a@example.com", data)
	if err != nil || !strings.Contains(zh.Subject, "测试邮件") {
		t.Errorf("zh-CN: %v %q", err, zh.Subject)
	}

	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "en"), 0o755); err != nil {
		t.Fatal(err)
	}
	override := `{{define "subject"}}Custom {{.To}}{{end}}{{define "text"}}hello{{end}}`
	if err := os.WriteFile(filepath.Join(dir, "en", "test.tmpl"), []byte(override), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Templates{Dir: dir, Language: "zh-CN"}.Render("test", "a@example.com", data)
	if err != nil || !strings.Contains(got.Subject, "测试邮件") {
		t.Errorf("a zh-CN mail took the English override: %v %q", err, got.Subject)
	}
	got, err = Templates{Dir: dir}.Render("test", "a@example.com", data)
	if err != nil || got.Subject != "Custom a@example.com" || got.HTML != "" {
		t.Errorf("override: %v %+v", err, got)
	}
	for _, bad := range []string{"../etc/passwd", "Test", ""} {
		if _, err := (Templates{Dir: dir}).Render(bad, "a@example.com", data); err == nil {
			t.Errorf("template %q rendered", bad)
		}
	}
	if _, err := (Templates{}).Render("test", "a@example.com", map[string]any{}); err == nil {
		t.Error("a template with missing data rendered")
	}
}

func TestSign(t *testing.T) {
	// Fixed vector: echo -n '1700000000.{"event":"test"}' | openssl dgst -sha256 -hmac s3cret
	got := Sign([]byte("s3cret"), 1700000000, []byte(`{"event":"test"}`))
	if want := "sha256=1c5b24400e91c3c2a54a5fc594c52fc115eb8e1d8d6b200dc40d90fa6ef6e273"; got != want {
		t.Fatalf("signature %q, want %q", got, want)
	}
	if got == Sign([]byte("other"), 1700000000, []byte(`{"event":"test"}`)) ||
		got == Sign([]byte("s3cret"), 1700000001, []byte(`{"event":"test"}`)) {
		t.Error("the signature does not depend on the secret and the timestamp")
	}
}

// fakeOutbox is an in-memory OutboxStore.
type fakeOutbox struct {
	mu     sync.Mutex
	msgs   []store.OutboxMessage
	sent   []int64
	failed map[int64]string
	retry  map[int64]time.Time
	hook   store.Webhook
}

func (f *fakeOutbox) ClaimOutbox(ctx context.Context, lease time.Duration, limit int) ([]store.OutboxMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.msgs
	f.msgs = nil
	return out, nil
}
func (f *fakeOutbox) OutboxSent(ctx context.Context, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, id)
	return nil
}
func (f *fakeOutbox) OutboxFailed(ctx context.Context, id int64, e string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed[id], f.retry[id] = e, at
	return nil
}
func (f *fakeOutbox) GetMailSettings(ctx context.Context) (store.MailSettings, error) {
	return store.MailSettings{Host: "h", Port: 25}, nil
}
func (f *fakeOutbox) GetWebhook(ctx context.Context, name string) (store.Webhook, error) {
	if name != f.hook.Name {
		return store.Webhook{}, store.ErrNotFound
	}
	return f.hook, nil
}
func (f *fakeOutbox) Now() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

func TestWorkerDeliversAndBacksOff(t *testing.T) {
	var mu sync.Mutex
	var posted []*http.Request
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		posted, bodies = append(posted, r), append(bodies, string(b))
		mu.Unlock()
	}))
	defer srv.Close()
	mail, _ := json.Marshal(Mail{To: "a@example.com", Subject: "s", Text: "t"})
	f := &fakeOutbox{failed: map[int64]string{}, retry: map[int64]time.Time{},
		hook: store.Webhook{Name: "ops", URL: srv.URL, Secret: store.Secret("k")},
		msgs: []store.OutboxMessage{
			{ID: 1, Channel: store.ChannelMail, Recipient: "a@example.com", Payload: bytes.Clone(mail)},
			{ID: 2, Channel: store.ChannelMail, Recipient: "b@example.com", Payload: bytes.Replace(mail, []byte("a@"), []byte("b@"), 1), Attempts: 2},
			{ID: 3, Channel: store.ChannelWebhook, Recipient: "ops", Payload: []byte(`{"event":"test"}`)},
			{ID: 4, Channel: store.ChannelWebhook, Recipient: "gone", Payload: []byte(`{}`), Attempts: 9},
		}}
	w := NewWorker(f, WorkerConfig{RetryBase: time.Second, MaxAttempts: 10}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.sendMail = func(ctx context.Context, s store.MailSettings, m Mail) (string, error) {
		if m.To == "b@example.com" {
			return "", &DeliveryError{StepTCP, errors.New("connection refused")}
		}
		return "250 ok", nil
	}
	w.drainOnce(context.Background())
	if len(f.sent) != 2 || f.sent[0] != 1 || f.sent[1] != 3 {
		t.Errorf("sent %v, want [1 3]", f.sent)
	}
	if got := f.retry[2]; !got.Equal(f.Now().Add(4 * time.Second)) {
		t.Errorf("retry of the 3rd attempt at %s, want +4s", got)
	}
	if !strings.HasPrefix(f.failed[2], "TCP: ") {
		t.Errorf("last error %q", f.failed[2])
	}
	if !f.retry[4].IsZero() {
		t.Errorf("the 10th attempt is retried at %s, want given up", f.retry[4])
	}
	if len(posted) != 1 {
		t.Fatalf("%d posts", len(posted))
	}
	ts, _ := strconv.ParseInt(posted[0].Header.Get(TimestampHeader), 10, 64)
	if sig := posted[0].Header.Get(SignatureHeader); sig != Sign([]byte("k"), ts, []byte(bodies[0])) {
		t.Errorf("signature %q does not verify", sig)
	}
	if posted[0].Header.Get(EventHeader) != "test" {
		t.Errorf("event header %q", posted[0].Header.Get(EventHeader))
	}
}

func TestPostRefusesRedirectsAndNon2xx(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "https://elsewhere.example/", http.StatusFound)
			return
		}
		http.Error(w, "nope", http.StatusBadGateway)
	}))
	defer srv.Close()
	for _, path := range []string{"/redirect", "/fail"} {
		err := Post(context.Background(), store.Webhook{Name: "x", URL: srv.URL + path}, []byte(`{}`))
		var de *DeliveryError
		if !errors.As(err, &de) || de.Step != StepHTTP {
			t.Errorf("%s: %v", path, err)
		}
	}
}
