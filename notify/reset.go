package notify

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"time"

	"github.com/jms-bastion/jms/store"
)

// ResetStore is what a Resetter needs of the store.
type ResetStore interface {
	GetRecipient(ctx context.Context, name string) (store.Recipient, error)
	ResetRequestsSince(ctx context.Context, user, source string, since time.Time) (int, int, error)
	AddResetRequest(ctx context.Context, r store.ResetRequest) error
	UseResetCode(ctx context.Context, user string, code store.Secret) (bool, error)
}

// Reset rate limits: codes mailed per user, and requests per source
// address, per ResetWindow.
const (
	ResetWindow       = time.Hour
	ResetCodesPerUser = 3
	ResetPerSource    = 10
)

// Resetter mails password reset codes and checks them. It answers the
// same whether or not the user or her address exists: Request returns
// nothing, and the bastion does not wait for it.
type Resetter struct {
	st        ResetStore
	templates Templates
	wake      func()
	now       func() time.Time
	logger    *slog.Logger
}

// NewResetter returns a resetter over st; wake is the Worker's Wake.
func NewResetter(st ResetStore, t Templates, wake func(), logger *slog.Logger) *Resetter {
	if wake == nil {
		wake = func() {}
	}
	return &Resetter{st: st, templates: t, wake: wake, now: time.Now, logger: logger}
}

// Request records a reset request for user from source and, when she
// exists with an address and the limits allow, mails her a code.
func (r *Resetter) Request(ctx context.Context, user, source string) {
	if err := r.request(ctx, user, store.SourceKey(source)); err != nil {
		r.logger.Error("password reset request", "user", user, "source", source, "err", err)
	}
}

func (r *Resetter) request(ctx context.Context, user, source string) error {
	req := store.ResetRequest{User: user, Source: source}
	byUser, bySource, err := r.st.ResetRequestsSince(ctx, user, source, r.now().Add(-ResetWindow))
	if err != nil {
		return err
	}
	rcpt, err := r.st.GetRecipient(ctx, user)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err == nil && rcpt.Email != "" && byUser < ResetCodesPerUser && bySource < ResetPerSource {
		code, err := resetCode()
		if err != nil {
			return err
		}
		defer clear(code)
		msg, err := mailMessage(r.templates, "reset_code", rcpt.Email, map[string]any{
			"Name": rcpt.Name, "Code": string(code), "Minutes": int(store.ResetCodeTTL.Minutes())})
		if err != nil {
			return err
		}
		defer clear(msg.Payload)
		req.Code, req.Mail = code, &msg
	}
	if err := r.st.AddResetRequest(ctx, req); err != nil {
		return err
	}
	if req.Mail != nil {
		r.wake()
	}
	return nil
}

// Verify uses up user's code when code is it.
func (r *Resetter) Verify(ctx context.Context, user string, code string) bool {
	ok, err := r.st.UseResetCode(ctx, user, store.Secret(code))
	if err != nil {
		r.logger.Error("password reset code check", "user", user, "err", err)
		return false
	}
	return ok
}

// resetCode is 8 random digits.
func resetCode() (store.Secret, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		return nil, err
	}
	return store.Secret(fmt.Sprintf("%08d", n.Int64())), nil
}
