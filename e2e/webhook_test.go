package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// hookPost is a post a test webhook received.
type hookPost struct {
	path   string
	header http.Header
	body   []byte
}

// hookServer is an httptest server that records posts; it answers fail (e.g. 503) while
// failing is set.
type hookServer struct {
	*httptest.Server
	mu      sync.Mutex
	posts   []hookPost
	failing bool
}

func newHookServer(t *testing.T) *hookServer {
	h := &hookServer{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.failing {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		h.posts = append(h.posts, hookPost{r.URL.Path, r.Header.Clone(), b})
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) received() []hookPost {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookPost(nil), h.posts...)
}

func (h *hookServer) setFailing(v bool) {
	h.mu.Lock()
	h.failing = v
	h.mu.Unlock()
}

// verifySignature checks a post the way a receiver would: HMAC-SHA256 of "timestamp.body".
func verifySignature(secret string, p hookPost) bool {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%s.", p.header.Get("X-Jms-Timestamp"))
	mac.Write(p.body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	return hmac.Equal([]byte(want), []byte(p.header.Get("X-Jms-Signature")))
}

// TestWebhookSignedPostFromServe: serve posts a queued test event to a real HTTP server, signed
// with the webhook's secret; while the endpoint answers 503 the post stays in the outbox with
// that error and is delivered once the endpoint is back.
func TestWebhookSignedPostFromServe(t *testing.T) {
	hooks := newHookServer(t)
	b := startBastion(t, BastionOptions{Config: "notify_retry: 500ms\nnotify_poll: 500ms\n"})
	b.MustRun(t, "hook-secret-5\n", "notify", "webhook", "add", "ops", "--url", hooks.URL+"/jms", "--secret-stdin")
	b.MustRun(t, "", "notify", "webhook", "add", "plain", "--url", hooks.URL+"/plain", "--events", "user.locked")

	hooks.setFailing(true)
	b.MustRun(t, "", "notify", "test", "--webhook", "ops")
	var rows []outboxRow
	if !waitEvery(60*time.Second, 250*time.Millisecond, func() bool {
		rows = outbox(t, b, "pending")
		return len(rows) == 1 && rows[0].Attempts >= 1
	}) {
		t.Fatalf("the post was not tried: %+v", rows)
	}
	if !strings.Contains(rows[0].LastError, "503") {
		t.Errorf("last error %q, want the 503", rows[0].LastError)
	}
	hooks.setFailing(false)
	if !waitEvery(60*time.Second, 250*time.Millisecond, func() bool { return len(hooks.received()) >= 1 }) {
		t.Fatalf("no post arrived; outbox: %+v", outbox(t, b, "all"))
	}
	p := hooks.received()[0]
	if !verifySignature("hook-secret-5", p) {
		t.Errorf("the signature does not verify: %q", p.header.Get("X-Jms-Signature"))
	}
	var ev struct {
		Event string         `json:"event"`
		At    time.Time      `json:"at"`
		Text  string         `json:"text"`
		Data  map[string]any `json:"data"`
	}
	if err := json.Unmarshal(p.body, &ev); err != nil || ev.Event != "test" || ev.At.IsZero() || ev.Text == "" {
		t.Errorf("event %s: %v", p.body, err)
	}
	if p.header.Get("Content-Type") != "application/json" || p.header.Get("X-Jms-Event") != "test" {
		t.Errorf("headers %v", p.header)
	}
	if !waitEvery(30*time.Second, 250*time.Millisecond, func() bool { return len(outbox(t, b, "pending,failed")) == 0 }) {
		t.Errorf("outbox not empty after delivery: %+v", outbox(t, b, "all"))
	}

	// --all-webhooks reaches the unsigned one too, without a signature header.
	b.MustRun(t, "", "notify", "test", "--all-webhooks")
	if !waitEvery(60*time.Second, 250*time.Millisecond, func() bool { return len(hooks.received()) >= 3 }) {
		t.Fatalf("posts to both webhooks did not arrive: %d", len(hooks.received()))
	}
	for _, p := range hooks.received()[1:] {
		switch p.path {
		case "/jms":
			if !verifySignature("hook-secret-5", p) {
				t.Errorf("the signed webhook's post does not verify: %v", p.header)
			}
		case "/plain":
			if p.header.Get("X-Jms-Signature") != "" || p.header.Get("X-Jms-Timestamp") != "" {
				t.Errorf("the webhook without a secret got signature headers: %v", p.header)
			}
		default:
			t.Errorf("a post to %s", p.path)
		}
	}
}
