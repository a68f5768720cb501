package bastion

import (
	"crypto/subtle"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/boombuler/barcode/qr"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTPIssuer names jms in authenticator apps.
const TOTPIssuer = "jms"

// totpPeriod is the TOTP time step, and totpSkew how many steps either
// side of now a code is accepted for (clock drift, a slow typist).
const (
	totpPeriod = 30
	totpSkew   = 1
)

// NewTOTPKey makes a fresh TOTP secret for account (a bastion user
// name): 160 random bits, SHA-1, 6 digits, 30 s, as every authenticator
// app expects.
func NewTOTPKey(account string) (*otp.Key, error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: TOTPIssuer, AccountName: account, Period: totpPeriod})
	if err != nil {
		return nil, fmt.Errorf("making a TOTP secret: %w", err)
	}
	return k, nil
}

// totpURI is the otpauth:// URI of a secret, with only what differs from
// the defaults every authenticator app assumes (SHA-1, 6 digits, 30 s):
// the shorter the URI, the smaller the QR code.
func totpURI(account, secret string) string {
	return "otpauth://totp/" + url.PathEscape(TOTPIssuer) + ":" + url.PathEscape(account) +
		"?secret=" + url.QueryEscape(secret) + "&issuer=" + url.QueryEscape(TOTPIssuer)
}

// enrolBanner is the SSH banner of an enrolment at login: one line and
// the QR code of the secret's URI. With the line of instructions (the
// secret as text, for a phone that cannot scan) and the prompt that
// follow, it fits an 80×24 terminal for names up to about 30 characters
// (the code grows with the URI).
func enrolBanner(account, secret string) (string, error) {
	code, err := RenderQR(totpURI(account, secret), false)
	if err != nil {
		return "", err
	}
	return "MFA is required: scan this with an authenticator app, then type its code.\r\n" +
		strings.ReplaceAll(code, "\n", "\r\n"), nil
}

// totpStep returns the time step of t.
func totpStep(t time.Time) int64 { return t.Unix() / totpPeriod }

// checkTOTP reports the time step code is valid for at now, within the
// skew, comparing in constant time. code must be 6 ASCII digits.
func checkTOTP(secret, code string, now time.Time) (int64, bool) {
	if !isOTPCode(code) {
		return 0, false
	}
	cur := totpStep(now)
	var found int64
	ok := false
	for step := cur - totpSkew; step <= cur+totpSkew; step++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totp.ValidateOpts{
			Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			found, ok = step, true
		}
	}
	return found, ok
}

func isOTPCode(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// RenderQR draws text as a QR code for a terminal: two modules a
// character with Unicode half blocks, with a quiet zone of two modules.
// With colour it is black on white whatever the terminal's colours
// (explicit ANSI colours); without (where escapes are not passed, as in
// an SSH banner) the light modules are drawn, for the usual light text
// on a dark background.
func RenderQR(text string, colour bool) (string, error) {
	code, err := qr.Encode(text, qr.L, qr.Auto)
	if err != nil {
		return "", fmt.Errorf("drawing the QR code: %w", err)
	}
	const quiet = 2
	b := code.Bounds()
	n := b.Dx()
	dark := func(x, y int) bool {
		x, y = x-quiet, y-quiet
		if x < 0 || y < 0 || x >= n || y >= n {
			return false
		}
		r, _, _, _ := code.At(b.Min.X+x, b.Min.Y+y).RGBA()
		return r < 0x8000
	}
	if !colour {
		light := dark
		dark = func(x, y int) bool { return !light(x, y) }
	}
	size := n + 2*quiet
	var sb strings.Builder
	for y := 0; y < size; y += 2 {
		if colour {
			sb.WriteString("\x1b[30;107m") // black on bright white
		}
		for x := 0; x < size; x++ {
			top, bottom := dark(x, y), y+1 < size && dark(x, y+1)
			if y+1 >= size {
				bottom = false
			}
			switch {
			case top && bottom:
				sb.WriteString("█")
			case top:
				sb.WriteString("▀")
			case bottom:
				sb.WriteString("▄")
			default:
				sb.WriteString(" ")
			}
		}
		if colour {
			sb.WriteString("\x1b[0m")
		}
		sb.WriteString("\n")
	}
	return sb.String(), nil
}
