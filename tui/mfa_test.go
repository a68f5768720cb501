package tui

import (
	"context"
	"errors"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// fakeQR is a QR code of the size jms draws for a short name: 37
// modules wide, 19 lines of half blocks.
var fakeQR = strings.Repeat(strings.Repeat("█", 37)+"\n", 19)

const fakeSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

func mfaMenu(t *testing.T, w, h int, st MFAState, confirm func(string) ([]string, error)) Menu {
	t.Helper()
	cfg := MenuConfig{User: "alice", Role: "user", Banner: fixtureBanner, Assets: fixture(), Width: w, Height: h,
		StartMFA: func(context.Context) (MFAState, error) { return st, nil },
		ConfirmMFA: func(_ context.Context, code string) ([]string, error) {
			return confirm(code)
		}}
	m, cmd := press(t, NewMenu(cfg), "M")
	if m.state != stateMFA || !strings.Contains(plain(m), "Loading") {
		t.Fatalf("M opened %v:\n%s", m.state, plain(m))
	}
	return runCmd(t, m, cmd)
}

// checkFits fails when the view is not exactly h lines of at most w
// cells.
func checkFits(t *testing.T, m Menu, w, h int) {
	t.Helper()
	lines := strings.Split(m.View().Content, "\n")
	if len(lines) != h {
		t.Fatalf("%d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if ansi.StringWidth(l) > w {
			t.Fatalf("line %d is %d cells wide, more than %d:\n%s", i, ansi.StringWidth(l), w, plain(m))
		}
	}
}

func TestMenuMFAEnrol(t *testing.T) {
	var tried []string
	codes := []string{"aaaaa-bbbbb", "ccccc-ddddd", "eeeee-fffff"}
	st := MFAState{Secret: fakeSecret, URI: "otpauth://totp/jms:alice?secret=" + fakeSecret + "&issuer=jms", QR: fakeQR}
	m := mfaMenu(t, 80, 24, st, func(code string) ([]string, error) {
		tried = append(tried, code)
		if code != "123456" {
			return nil, errors.New("that code is not right")
		}
		return codes, nil
	})
	scr := plain(m)
	if m.mfa.phase != mfaEnrol || !strings.Contains(scr, fakeSecret) || !strings.Contains(scr, strings.Repeat("█", 37)+"  ") {
		t.Fatalf("the enrolment shows no QR code or secret:\n%s", scr)
	}
	if strings.Contains(scr, "Welcome") {
		t.Fatalf("the banner takes the QR code's room:\n%s", scr)
	}
	checkFits(t, m, 80, 24)
	// Only digits go in; Enter on nothing asks for a code.
	m, cmd := press(t, m, "enter")
	if cmd != nil || !strings.Contains(plain(m), "Type the 6-digit code") {
		t.Fatalf("an empty code:\n%s", plain(m))
	}
	m, _ = press(t, m, "12q3 45x9")
	if string(m.mfa.input) != "123459" {
		t.Fatalf("the code field holds %q", string(m.mfa.input))
	}
	m, cmd = press(t, m, "enter")
	if !m.mfa.busy || !strings.Contains(plain(m), "Checking") {
		t.Fatalf("not checking:\n%s", plain(m))
	}
	m = runCmd(t, m, cmd)
	if m.state != stateMFA || !strings.Contains(plain(m), "that code is not right") || len(m.mfa.input) != 0 {
		t.Fatalf("a wrong code:\n%s", plain(m))
	}
	m, cmd = press(t, m, "123456", "enter")
	m = runCmd(t, m, cmd)
	scr = plain(m)
	if m.mfa.phase != mfaCodes || !strings.Contains(scr, "ccccc-ddddd") || strings.Contains(scr, fakeSecret) || m.mfa.state.Secret != "" {
		t.Fatalf("after the right code, the codes (and not the secret):\n%s", scr)
	}
	checkFits(t, m, 80, 24)
	// The codes wait for Enter: other keys, Esc and q included, do nothing.
	m, _ = press(t, m, "esc", "q", "x", "backspace")
	if m.state != stateMFA || m.mfa.phase != mfaCodes {
		t.Fatalf("a key other than Enter left the codes: %v", m.state)
	}
	m, _ = press(t, m, "enter")
	if m.state != stateList || !strings.Contains(plain(m), "MFA is on") || len(m.mfa.codes) != 0 {
		t.Fatalf("after Enter:\n%s", plain(m))
	}
	if strings.Join(tried, ",") != "123459,123456" {
		t.Fatalf("codes tried: %v", tried)
	}
}

func TestMenuMFAAttemptsAndCancel(t *testing.T) {
	st := MFAState{Secret: fakeSecret, URI: "otpauth://x", QR: fakeQR}
	m := mfaMenu(t, 80, 24, st, func(string) ([]string, error) {
		return nil, ErrMFAAttempts
	})
	m, cmd := press(t, m, "000000", "enter")
	m = runCmd(t, m, cmd)
	if m.state != stateList || !strings.Contains(plain(m), "too many wrong codes") || m.mfa.state.Secret != "" {
		t.Fatalf("too many codes did not close the screen:\n%s", plain(m))
	}
	m = mfaMenu(t, 80, 24, st, func(string) ([]string, error) { t.Fatal("called"); return nil, nil })
	m, _ = press(t, m, "12", "esc")
	if m.state != stateList || !strings.Contains(plain(m), "nothing was saved") {
		t.Fatalf("esc:\n%s", plain(m))
	}
}

func TestMenuMFAStatus(t *testing.T) {
	m := mfaMenu(t, 80, 24, MFAState{On: true, RecoveryLeft: 7}, func(string) ([]string, error) {
		t.Fatal("called")
		return nil, nil
	})
	scr := plain(m)
	if m.mfa.phase != mfaStatus || !strings.Contains(scr, "MFA is on for alice") || !strings.Contains(scr, "Recovery codes left: 7") ||
		!strings.Contains(scr, "jmsctl user mfa disable alice") {
		t.Fatalf("status:\n%s", scr)
	}
	checkFits(t, m, 80, 24)
	m, _ = press(t, m, "123456", "enter")
	if m.state != stateList {
		t.Fatalf("enter on the status left %v", m.state)
	}
	// Without the functions the key says so.
	m, _ = press(t, fixtureMenu(80, 24), "M")
	if m.state != stateList || !strings.Contains(plain(m), "MFA is not available here") {
		t.Fatalf("M without MFA functions:\n%s", plain(m))
	}
}

// TestMenuMFASmallTerminal: where the QR code does not fit, the secret
// and the otpauth:// URI do.
func TestMenuMFASmallTerminal(t *testing.T) {
	uri := "otpauth://totp/jms:alice?secret=" + fakeSecret + "&issuer=jms"
	m := mfaMenu(t, 60, 16, MFAState{Secret: fakeSecret, URI: uri, QR: fakeQR}, func(string) ([]string, error) { return nil, nil })
	scr := plain(m)
	if strings.Contains(scr, "█") || !strings.Contains(scr, fakeSecret) || !strings.Contains(strings.ReplaceAll(scr, "\n  ", ""), uri) {
		t.Fatalf("a small terminal:\n%s", scr)
	}
	checkFits(t, m, 60, 16)
	if !strings.Contains(scr, "Code:") {
		t.Fatalf("no code field:\n%s", scr)
	}
}

// FuzzMFACodeField: whatever she types or pastes into the code field,
// it holds at most maxCodeLen digits, the screen fits, and only that
// reaches ConfirmMFA.
func FuzzMFACodeField(f *testing.F) {
	for _, s := range []string{"123456", "12 34 56", "\x1b[31m9", "١٢٣٤٥٦", "99999999999", "\x00\n\r"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	st := MFAState{Secret: fakeSecret, URI: "otpauth://x", QR: fakeQR}
	f.Fuzz(func(t *testing.T, text string, paste bool) {
		var got string
		m := mfaMenu(t, 80, 24, st, func(code string) ([]string, error) {
			got = code
			return nil, errors.New("no")
		})
		var next tea.Model
		if paste {
			next, _ = m.Update(tea.PasteMsg{Content: text})
		} else {
			next, _ = m.Update(tea.KeyPressMsg{Text: text, Code: 'x'})
		}
		m = next.(Menu)
		in := string(m.mfa.input)
		if len(in) > maxCodeLen || strings.Trim(in, "0123456789") != "" {
			t.Fatalf("the code field holds %q", in)
		}
		checkFits(t, m, 80, 24)
		m, cmd := press(t, m, "enter")
		if cmd != nil {
			runCmd(t, m, cmd)
			if got != in {
				t.Fatalf("confirmed %q, typed %q", got, in)
			}
		}
	})
}
