package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/jms-bastion/jms/store"
)

// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the
// timestamp, a dot and the body under the webhook's secret;
// TimestampHeader the Unix time the post was signed at, so that a
// receiver can refuse replays.
const (
	SignatureHeader = "X-Jms-Signature"
	TimestampHeader = "X-Jms-Timestamp"
	EventHeader     = "X-Jms-Event"
)

const webhookTimeout = 15 * time.Second

var webhookClient = &http.Client{
	Timeout: webhookTimeout,
	// A redirect could carry the signed body elsewhere: refuse it.
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Sign returns the signature header's value for body at ts.
func Sign(secret []byte, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	fmt.Fprintf(mac, "%d.", ts)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Post posts body (a JSON event) to the webhook, signed when it has a
// secret. Any status but 2xx is an error.
func Post(ctx context.Context, h store.Webhook, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return &DeliveryError{StepConfig, fmt.Errorf("webhook %s: %w", h.Name, err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "jms-webhook")
	if ev := eventOf(body); ev != "" {
		req.Header.Set(EventHeader, ev)
	}
	if len(h.Secret) > 0 {
		ts := time.Now().Unix()
		req.Header.Set(TimestampHeader, strconv.FormatInt(ts, 10))
		req.Header.Set(SignatureHeader, Sign(h.Secret, ts, body))
	}
	resp, err := webhookClient.Do(req)
	if err != nil {
		return &DeliveryError{StepHTTP, fmt.Errorf("webhook %s: %w", h.Name, err)}
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	if resp.StatusCode/100 != 2 {
		return &DeliveryError{StepHTTP, fmt.Errorf("webhook %s answered %s: %q", h.Name, resp.Status, snippet)}
	}
	return nil
}
