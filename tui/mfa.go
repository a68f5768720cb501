package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/jms-bastion/jms/printable"
)

// Her MFA, from the asset menu (M): with MFA on, the screen says so and
// how many recovery codes are left; without, it enrols her: the QR code
// and the secret of a fresh TOTP key, a first code that must verify
// before anything is saved, then her recovery codes, shown once until
// she presses Enter. The secret is made, checked and saved by the
// caller (MenuConfig.StartMFA, ConfirmMFA), inside tea.Cmds.

// MFAState is her MFA as the M screen shows it.
type MFAState struct {
	On           bool // she has MFA: the screen only says so
	RecoveryLeft int  // her unused recovery codes, when On

	// Without MFA: a fresh secret to enrol, saved only once ConfirmMFA
	// verified a code of it. QR is the otpauth:// URI drawn as text
	// (lines of Unicode half blocks); the screen shows the URI instead
	// when the QR code does not fit.
	Secret, URI, QR string
}

// ErrMFAAttempts is what ConfirmMFA returns once she has typed too many
// wrong codes: the screen closes and shows the message in the menu.
var ErrMFAAttempts = errors.New("too many wrong codes: log in again to try once more")

// mfaPhase is the step of the MFA screen.
type mfaPhase int

const (
	mfaLoading mfaPhase = iota // asking the caller
	mfaStatus                  // MFA is on
	mfaEnrol                   // QR code, secret, a first code
	mfaCodes                   // the recovery codes, until Enter
)

// maxCodeLen bounds what the code field takes: a TOTP code is 6 digits.
const maxCodeLen = 8

type mfaScreen struct {
	phase mfaPhase
	state MFAState
	input []rune
	busy  bool
	err   string
	codes []string
}

type mfaStartMsg struct {
	state MFAState
	err   error
}

type mfaConfirmMsg struct {
	codes []string
	err   error
}

func (m Menu) openMFA() (tea.Model, tea.Cmd) {
	if m.self.startMFA == nil {
		m.flash, m.flashErr = "MFA is not available here.", true
		return m, nil
	}
	m.mfa = mfaScreen{phase: mfaLoading, busy: true}
	m.state = stateMFA
	start, parent := m.self.startMFA, m.ctx
	return m, func() tea.Msg {
		ctx, cancel := context.WithTimeout(parent, accountTimeout)
		defer cancel()
		st, err := start(ctx)
		return mfaStartMsg{state: st, err: err}
	}
}

// updateMFAResult handles the results of StartMFA and ConfirmMFA.
func (m Menu) updateMFAResult(msg tea.Msg) (tea.Model, tea.Cmd) {
	if m.state != stateMFA { // she left meanwhile
		return m, nil
	}
	f := &m.mfa
	f.busy = false
	switch msg := msg.(type) {
	case mfaStartMsg:
		switch {
		case msg.err != nil:
			return m.closeMFA(msg.err.Error(), true)
		case msg.state.On:
			f.phase, f.state = mfaStatus, MFAState{On: true, RecoveryLeft: msg.state.RecoveryLeft}
		case m.self.confirmMFA == nil || msg.state.Secret == "":
			return m.closeMFA("MFA enrolment is not available here.", true)
		default:
			f.phase, f.state = mfaEnrol, msg.state
		}
	case mfaConfirmMsg:
		switch {
		case errors.Is(msg.err, ErrMFAAttempts):
			return m.closeMFA(ErrMFAAttempts.Error(), true)
		case msg.err != nil:
			f.err, f.input = msg.err.Error(), nil
		default:
			// The secret is saved: it leaves the screen, the codes show.
			f.phase, f.state, f.input, f.err, f.codes = mfaCodes, MFAState{On: true}, nil, "", msg.codes
		}
	}
	return m, nil
}

func (m Menu) closeMFA(flash string, isErr bool) (tea.Model, tea.Cmd) {
	m.mfa = mfaScreen{}
	m.state = stateList
	m.flash, m.flashErr = flash, isErr
	return m, nil
}

func (m Menu) updateMFA(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	f := &m.mfa
	switch f.phase {
	case mfaCodes:
		// Only Enter leaves: the codes are not shown again.
		if msg.String() == "enter" {
			return m.closeMFA("MFA is on: your next logins ask for a code.", false)
		}
		return m, nil
	case mfaStatus, mfaLoading:
		switch {
		case key.Matches(msg, m.keys.Clear), msg.String() == "q", msg.String() == "backspace", msg.String() == "enter":
			return m.closeMFA("", false)
		case msg.String() == "ctrl+d":
			return m.quit()
		}
		return m, nil
	}
	if f.busy {
		return m, nil
	}
	switch {
	case key.Matches(msg, m.keys.Clear):
		return m.closeMFA("MFA enrolment cancelled: nothing was saved.", false)
	case msg.String() == "enter":
		return m.confirmMFA()
	case editField(&m, &f.input, msg):
		f.input = digitsOnly(f.input)
		f.err = ""
	}
	return m, nil
}

func (m Menu) confirmMFA() (tea.Model, tea.Cmd) {
	f := &m.mfa
	code := string(f.input)
	if code == "" {
		f.err = "Type the 6-digit code your app shows."
		return m, nil
	}
	f.busy, f.err = true, ""
	confirm, parent := m.self.confirmMFA, m.ctx
	return m, func() tea.Msg {
		ctx, cancel := context.WithTimeout(parent, accountTimeout)
		defer cancel()
		codes, err := confirm(ctx, code)
		return mfaConfirmMsg{codes: codes, err: err}
	}
}

func (m Menu) pasteMFA(msg tea.PasteMsg) (tea.Model, tea.Cmd) {
	if m.mfa.phase == mfaEnrol && !m.mfa.busy {
		m.mfa.input = digitsOnly(append(m.mfa.input, []rune(msg.Content)...))
	}
	return m, nil
}

// digitsOnly keeps the digits of s, at most maxCodeLen.
func digitsOnly(s []rune) []rune {
	out := s[:0]
	for _, r := range s {
		if r >= '0' && r <= '9' && len(out) < maxCodeLen {
			out = append(out, r)
		}
	}
	return out
}

// titleLine is the header without the banner: the MFA screen needs the
// room.
func (m Menu) titleLine() string {
	h := m.header()
	return h[len(h)-1]
}

func (m Menu) mfaView() string {
	var body []string
	var foot []key.Binding
	back := key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back"))
	switch m.mfa.phase {
	case mfaLoading:
		body = []string{m.styles.Info.Render("Loading…")}
		foot = []key.Binding{back}
	case mfaStatus:
		body = m.mfaStatusLines()
		foot = []key.Binding{back, m.keys.ForceQuit}
	case mfaEnrol:
		body = m.mfaEnrolLines()
		foot = []key.Binding{
			key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "verify")),
			key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel"))}
	case mfaCodes:
		body = m.mfaCodesLines()
		foot = []key.Binding{key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "I have saved them"))}
	}
	lines := append([]string{m.titleLine(), m.styles.PickerTitle.Render("Multi-factor authentication (MFA)")}, body...)
	for len(lines) < m.height-1 {
		lines = append(lines, "")
	}
	if len(lines) > m.height-1 {
		lines = lines[:m.height-1]
	}
	lines = append(lines, m.footer(foot...))
	return screen(lines, m.width, m.height)
}

func (m Menu) mfaStatusLines() []string {
	text := fmt.Sprintf("MFA is on for %s: each login asks for a code from your authenticator app. "+
		"Recovery codes left: %d (each usable once instead of a code).\n\n"+
		"To turn MFA off, move it to a new phone or get new recovery codes, ask an administrator: "+
		"'jmsctl user mfa disable %s' (then enrol again here), 'jmsctl user mfa recovery %s'.",
		m.user, m.mfa.state.RecoveryLeft, m.user, m.user)
	lines := []string{""}
	for _, l := range wrapText(text, m.width-2) {
		lines = append(lines, "  "+printableLine(l))
	}
	return lines
}

// mfaEnrolLines draws the QR code with the steps beside it, or the steps
// alone with the otpauth:// URI when the code does not fit.
func (m Menu) mfaEnrolLines() []string {
	f := m.mfa
	qr := strings.Split(strings.TrimRight(f.state.QR, "\n"), "\n")
	qrW := 0
	for _, l := range qr {
		qrW = max(qrW, width(l))
	}
	const minText = 36
	side := f.state.QR != "" && qrW+2+minText <= m.width && len(qr)+3 <= m.height
	textW := m.width - 2
	if side {
		textW = m.width - qrW - 2
	}
	var text []string
	add := func(s string) {
		for _, l := range wrapText(s, textW) {
			text = append(text, printableLine(l))
		}
	}
	if side {
		add("1. Scan this code with an authenticator app, or type this secret in it:")
	} else {
		add("1. Add this to an authenticator app (type the secret, or open the URI):")
	}
	text = append(text, m.styles.SearchText.Render(fit(f.state.Secret, textW)))
	if !side {
		add(f.state.URI)
	}
	text = append(text, "")
	add("2. Type the 6-digit code it shows:")
	code := "   Code: " + string(f.input)
	if !f.busy {
		code += m.styles.SearchCaret.Render(" ")
	}
	text = append(text, code, "")
	switch {
	case f.busy:
		text = append(text, m.styles.Info.Render("Checking…"))
	case f.err != "":
		for _, l := range wrapText("✗ "+f.err, textW) {
			text = append(text, m.styles.Flash.Render(printableLine(l)))
		}
	default:
		add("Nothing is saved until a code verifies. The code is drawn light on dark: on a light terminal, type the secret.")
	}
	if !side {
		out := make([]string, 0, len(text)+1)
		out = append(out, "")
		for _, l := range text {
			out = append(out, "  "+l)
		}
		return out
	}
	out := make([]string, max(len(qr), len(text)))
	for i := range out {
		left := strings.Repeat(" ", qrW)
		if i < len(qr) {
			left = qr[i] + strings.Repeat(" ", qrW-width(qr[i]))
		}
		right := ""
		if i < len(text) {
			right = text[i]
		}
		out[i] = left + "  " + right
	}
	return out
}

func (m Menu) mfaCodesLines() []string {
	lines := []string{""}
	for _, l := range wrapText("MFA is on. Your recovery codes: each works once instead of a code, when your phone is "+
		"not at hand. Keep them somewhere safe: they are not shown again.", m.width-2) {
		lines = append(lines, "  "+printableLine(l))
	}
	lines = append(lines, "")
	codes := m.mfa.codes
	half := (len(codes) + 1) / 2
	for i := range half {
		row := "    " + fit(codes[i], 14)
		if j := i + half; j < len(codes) {
			row += "    " + fit(codes[j], 14)
		}
		lines = append(lines, m.styles.SearchText.Render(row))
	}
	lines = append(lines, "", "  "+m.styles.SearchPrompt.Render("Press Enter once you have saved them."))
	return lines
}

// printableLine writes out the control characters of a line of text.
func printableLine(s string) string { return printable.Escape(s) }
