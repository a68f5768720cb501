package store

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

func testHostKeyLine(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := gossh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(gossh.MarshalAuthorizedKey(pk)))
}

// Two first connections racing with different keys: exactly one pins,
// the other is told which key is pinned instead.
func TestPinHostKeyFirstUseRace(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	if _, err := s.AddAsset(ctx, NewAsset{Name: "web1", Address: "10.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	const n = 8
	keys := make([]string, n)
	for i := range keys {
		keys[i] = testHostKeyLine(t)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.PinHostKey(ctx, "web1", keys[i])
		}()
	}
	close(start)
	wg.Wait()
	a, err := s.GetAsset(ctx, "web1")
	if err != nil {
		t.Fatal(err)
	}
	winners := 0
	for i, err := range errs {
		switch {
		case err == nil:
			winners++
			if keys[i] != a.HostKey {
				t.Errorf("pin %d succeeded but %q is pinned", i, a.HostKey)
			}
		case errors.Is(err, ErrHostKeyMismatch):
			var mm *HostKeyMismatchError
			if !errors.As(err, &mm) || mm.Pinned != a.HostKey {
				t.Errorf("pin %d: %v does not name the pinned key", i, err)
			}
		default:
			t.Errorf("pin %d: %v", i, err)
		}
	}
	if winners != 1 {
		t.Fatalf("%d first-use pins succeeded, want exactly 1", winners)
	}
	// The winner's key pins again without error (a later connection).
	if err := s.PinHostKey(ctx, "web1", a.HostKey+" comment"); err != nil {
		t.Fatalf("re-pin of the same key: %v", err)
	}
}

// A key an operator trusted is never overwritten by a first-use pin.
func TestPinHostKeyKeepsTrustedKey(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	if _, err := s.AddAsset(ctx, NewAsset{Name: "web1", Address: "10.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	trusted, offered := testHostKeyLine(t), testHostKeyLine(t)
	if err := s.TrustHostKey(ctx, "web1", trusted); err != nil {
		t.Fatal(err)
	}
	if err := s.PinHostKey(ctx, "web1", offered); !errors.Is(err, ErrHostKeyMismatch) {
		t.Fatalf("first-use pin over a trusted key: %v, want ErrHostKeyMismatch", err)
	}
	if a, _ := s.GetAsset(ctx, "web1"); a.HostKey != trusted {
		t.Fatalf("pinned %q, want the trusted %q", a.HostKey, trusted)
	}
	// trust still replaces a pinned key
	if err := s.TrustHostKey(ctx, "web1", offered); err != nil {
		t.Fatal(err)
	}
	if a, _ := s.GetAsset(ctx, "web1"); a.HostKey != offered {
		t.Fatalf("trust did not replace the pin: %q", a.HostKey)
	}
	if err := s.PinHostKey(ctx, "nope", offered); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown asset: %v", err)
	}
}
