package bastion

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/boombuler/barcode/qr"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TestRenderQR reads the half blocks back into modules and compares
// them with the QR matrix.
func TestRenderQR(t *testing.T) {
	const text = "otpauth://totp/jms:alice?algorithm=SHA1&digits=6&issuer=jms&period=30&secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	out, err := RenderQR(text, true)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := qr.Encode(text, qr.L, qr.Auto)
	n := code.Bounds().Dx()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	var rows [][]bool
	for _, l := range lines {
		l = strings.TrimSuffix(strings.TrimPrefix(l, "\x1b[30;107m"), "\x1b[0m")
		top, bottom := []bool{}, []bool{}
		for _, r := range l {
			top = append(top, r == '█' || r == '▀')
			bottom = append(bottom, r == '█' || r == '▄')
		}
		rows = append(rows, top, bottom)
	}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			r, _, _, _ := code.At(x, y).RGBA()
			if want := r < 0x8000; rows[y+2][x+2] != want {
				t.Fatalf("module %d,%d: %v, want %v", x, y, rows[y+2][x+2], want)
			}
		}
	}
}

func TestCheckTOTP(t *testing.T) {
	k, err := NewTOTPKey("alice")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"now", now, true},
		{"previous step", now.Add(-30 * time.Second), true},
		{"next step", now.Add(30 * time.Second), true},
		{"two steps old", now.Add(-61 * time.Second), false},
	} {
		code, _ := totp.GenerateCode(k.Secret(), tc.at)
		step, ok := checkTOTP(k.Secret(), code, now)
		if ok != tc.ok || (ok && step != totpStep(tc.at)) {
			t.Errorf("%s: step %d ok %v, want ok %v step %d", tc.name, step, ok, tc.ok, totpStep(tc.at))
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "12345a", "١٢٣٤٥٦"} {
		if _, ok := checkTOTP(k.Secret(), bad, now); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestEnrolBannerFits: the enrolment screen (banner, QR code, the two
// lines of instructions, the prompt) fits 80×24, and the QR code's URI
// is the secret's (issue 11).
func TestEnrolBannerFits(t *testing.T) {
	for _, name := range []string{"al", "alice", "alice.smith", "firstname.lastname", "a-rather-long.login-name-here"} {
		key, err := NewTOTPKey(name)
		if err != nil {
			t.Fatal(err)
		}
		banner, err := enrolBanner(name, key.Secret())
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(banner, "\r\n"), "\r\n")
		const instructions, prompt = 1, 1
		if n := len(lines) + instructions + prompt; n > 24 {
			t.Errorf("%s: the enrolment screen is %d lines", name, n)
		}
		for _, l := range lines {
			if w := utf8.RuneCountInString(l); w > 80 {
				t.Errorf("%s: a line of %d cells: %q", name, w, l)
			}
		}
		u, err := otp.NewKeyFromURL(totpURI(name, key.Secret()))
		if err != nil {
			t.Fatal(err)
		}
		if u.Secret() != key.Secret() || u.Issuer() != TOTPIssuer || u.AccountName() != name || u.Period() != totpPeriod || u.Digits() != otp.DigitsSix {
			t.Errorf("%s: URI %s", name, u)
		}
	}
}
