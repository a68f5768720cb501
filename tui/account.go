package tui

import (
	"context"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/jms-bastion/jms/store"
)

// Her own account, from the asset menu: p changes her password, s lists
// her SSH keys and adds one. The menu does no I/O itself: the functions
// of MenuConfig run inside tea.Cmds.

// accountTimeout bounds one call of the account functions.
const accountTimeout = 30 * time.Second

// maxField bounds what one field of the forms takes, in runes (a pasted
// RSA 4096 public key line is about 750 bytes).
const maxField = 4096

type accountFuncs struct {
	changePassword func(ctx context.Context, current, next string) error
	listKeys       func(ctx context.Context) ([]store.UserKey, error)
	addKey         func(ctx context.Context, line string) (store.UserKey, error)
	startMFA       func(ctx context.Context) (MFAState, error)
	confirmMFA     func(ctx context.Context, code string) ([]string, error)
}

// passwordForm is the password change form: current, new, new again.
type passwordForm struct {
	fields [3][]rune
	focus  int
	busy   bool
	err    string
}

var passwordLabels = [3]string{"Current password", "New password", "New password again"}

// keysScreen lists her keys; adding shows the paste line.
type keysScreen struct {
	keys    []store.UserKey
	loaded  bool
	busy    bool
	adding  bool
	input   []rune
	err     string
	message string
}

type passwordDoneMsg struct{ err error }

type keysMsg struct {
	keys []store.UserKey
	err  error
}

type keyAddedMsg struct {
	key store.UserKey
	err error
}

func (m Menu) openPassword() (tea.Model, tea.Cmd) {
	if m.self.changePassword == nil {
		m.flash, m.flashErr = "Changing your password is not available here.", true
		return m, nil
	}
	m.pw = passwordForm{}
	m.state = statePassword
	return m, nil
}

func (m Menu) openKeys() (tea.Model, tea.Cmd) {
	if m.self.listKeys == nil {
		m.flash, m.flashErr = "Your SSH keys are not available here.", true
		return m, nil
	}
	m.keyList = keysScreen{busy: true}
	m.state = stateKeys
	return m, m.loadKeys()
}

func (m Menu) loadKeys() tea.Cmd {
	list, parent := m.self.listKeys, m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(parent, accountTimeout)
		defer cancel()
		keys, err := list(ctx)
		return keysMsg{keys: keys, err: err}
	}
}

// updateAccount handles the results of the account functions.
func (m Menu) updateAccount(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case passwordDoneMsg:
		m.pw.busy = false
		if msg.err != nil {
			m.pw.err = msg.err.Error()
			m.pw.fields[1], m.pw.fields[2] = nil, nil
			m.pw.focus = 1
			if strings.Contains(strings.ToLower(m.pw.err), "current password") {
				m.pw.fields[0], m.pw.focus = nil, 0
			}
			return m, nil
		}
		m.pw = passwordForm{}
		if m.state == statePassword {
			m.state = stateList
		}
		m.flash, m.flashErr = "Password changed.", false
	case keysMsg:
		m.keyList.busy, m.keyList.loaded = false, true
		if msg.err != nil {
			m.keyList.err = "cannot list your keys: " + msg.err.Error()
			return m, nil
		}
		m.keyList.keys = msg.keys
	case keyAddedMsg:
		m.keyList.busy = false
		if msg.err != nil {
			m.keyList.err = msg.err.Error()
			return m, nil
		}
		m.keyList.adding, m.keyList.input, m.keyList.err = false, nil, ""
		m.keyList.message = "Key added: " + msg.key.Fingerprint
		m.keyList.busy = true
		return m, m.loadKeys()
	}
	return m, nil
}

func (m Menu) pasteAccount(msg tea.PasteMsg) (tea.Model, tea.Cmd) {
	text := []rune(sanitize(strings.TrimSpace(msg.Content)))
	switch {
	case m.state == statePassword && !m.pw.busy:
		f := &m.pw.fields[m.pw.focus]
		*f = appendLimited(*f, text)
	case m.state == stateKeys && m.keyList.adding && !m.keyList.busy:
		m.keyList.input = appendLimited(m.keyList.input, text)
	}
	return m, nil
}

func appendLimited(dst, add []rune) []rune {
	if room := maxField - len(dst); len(add) > room {
		add = add[:max(0, room)]
	}
	return append(dst, add...)
}

// editField applies a key to a text field; it reports whether the key
// was an edit.
func editField(m *Menu, f *[]rune, msg tea.KeyPressMsg) bool {
	switch {
	case isText(msg):
		*f = appendLimited(*f, []rune(sanitize(msg.Text)))
	case key.Matches(msg, m.keys.Erase):
		if n := len(*f); n > 0 {
			*f = (*f)[:n-1]
		}
	case key.Matches(msg, m.keys.EraseAll):
		*f = nil
	default:
		return false
	}
	return true
}

func (m Menu) updatePassword(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	pw := &m.pw
	if pw.busy {
		return m, nil
	}
	if key.Matches(msg, m.keys.Clear) {
		m.pw = passwordForm{}
		m.state = stateList
		return m, nil
	}
	if editField(&m, &pw.fields[pw.focus], msg) {
		pw.err = ""
		return m, nil
	}
	switch msg.String() {
	case "up", "shift+tab":
		pw.focus = max(0, pw.focus-1)
	case "down", "tab":
		pw.focus = min(len(pw.fields)-1, pw.focus+1)
	case "enter":
		if pw.focus < len(pw.fields)-1 {
			pw.focus++
			return m, nil
		}
		switch {
		case len(pw.fields[0]) == 0:
			pw.err, pw.focus = "Type your current password.", 0
		case len(pw.fields[1]) == 0:
			pw.err, pw.focus = "Type a new password.", 1
		case string(pw.fields[1]) != string(pw.fields[2]):
			pw.err = "The new passwords differ: type them again."
			pw.fields[1], pw.fields[2], pw.focus = nil, nil, 1
		default:
			pw.busy = true
			change, parent := m.self.changePassword, m.ctx
			cur, next := string(pw.fields[0]), string(pw.fields[1])
			return m, func() tea.Msg {
				ctx, cancel := context.WithTimeout(parent, accountTimeout)
				defer cancel()
				return passwordDoneMsg{err: change(ctx, cur, next)}
			}
		}
	}
	return m, nil
}

func (m Menu) updateKeys(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := &m.keyList
	if k.busy {
		if key.Matches(msg, m.keys.Clear) {
			m.state = stateList
		}
		return m, nil
	}
	if k.adding {
		switch {
		case key.Matches(msg, m.keys.Clear):
			k.adding, k.input, k.err = false, nil, ""
		case key.Matches(msg, m.keys.Connect):
			line := strings.TrimSpace(string(k.input))
			if line == "" {
				k.err = "Paste a public key line first."
				return m, nil
			}
			k.busy, k.err, k.message = true, "", ""
			add, parent := m.self.addKey, m.ctx
			return m, func() tea.Msg {
				ctx, cancel := context.WithTimeout(parent, accountTimeout)
				defer cancel()
				uk, err := add(ctx, line)
				return keyAddedMsg{key: uk, err: err}
			}
		default:
			if editField(&m, &k.input, msg) {
				k.err = ""
			}
		}
		return m, nil
	}
	switch {
	case key.Matches(msg, m.keys.Clear), key.Matches(msg, m.keys.Quit) && msg.String() == "q", msg.String() == "backspace":
		m.state = stateList
	case key.Matches(msg, m.keys.Add):
		if m.self.addKey == nil {
			k.err = "Adding a key is not available here."
			return m, nil
		}
		k.adding, k.input, k.err, k.message = true, nil, "", ""
	case msg.String() == "ctrl+d":
		return m.quit()
	}
	return m, nil
}

func (m Menu) passwordView() string {
	lines := m.header()
	lines = append(lines, "", m.styles.PickerTitle.Render("Change your password"), "")
	labelW := 0
	for _, l := range passwordLabels {
		labelW = max(labelW, width(l))
	}
	for i, l := range passwordLabels {
		marker := "  "
		if i == m.pw.focus {
			marker = "› "
		}
		field := strings.Repeat("•", min(len(m.pw.fields[i]), 40))
		if i == m.pw.focus && !m.pw.busy {
			field += m.styles.SearchCaret.Render(" ")
		}
		lines = append(lines, marker+m.styles.SearchPrompt.Render(fit(l+":", labelW+1))+" "+field)
	}
	lines = append(lines, "")
	switch {
	case m.pw.busy:
		lines = append(lines, m.styles.Info.Render("Checking…"))
	case m.pw.err != "":
		for _, l := range wrapText("✗ "+m.pw.err, m.width) {
			lines = append(lines, m.styles.Flash.Render(l))
		}
	}
	for len(lines) < m.height-1 {
		lines = append(lines, "")
	}
	lines = append(lines, m.footer(
		key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "next/change")),
		key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab ↑↓", "field")),
		key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel"))))
	return screen(lines, m.width, m.height)
}

func (m Menu) keysView() string {
	k := m.keyList
	lines := m.header()
	lines = append(lines, "", m.styles.PickerTitle.Render("Your SSH keys"), "")
	const typeW, addedW = 12, 10
	fpW := min(51, max(20, m.width-2-typeW-addedW-3*gap-8))
	commentW := max(4, m.width-2-typeW-fpW-addedW-3*gap)
	row := func(typ, fp, added, comment string) string {
		return "  " + fit(typ, typeW) + "  " + fit(fp, fpW) + "  " + fit(added, addedW) + "  " + fit(comment, commentW)
	}
	lines = append(lines, m.styles.ColumnHeader.Render(row("TYPE", "FINGERPRINT", "ADDED", "COMMENT")))
	switch {
	case !k.loaded:
		lines = append(lines, m.styles.Info.Render("  Loading…"))
	case len(k.keys) == 0:
		lines = append(lines, m.styles.Empty.Render("  No SSH key yet: press a to add one."))
	}
	for _, uk := range k.keys {
		typ := uk.Type
		if typ == "" {
			if f := strings.Fields(uk.PublicKey); len(f) > 0 {
				typ = f[0]
			}
		}
		lines = append(lines, row(typ, uk.Fingerprint, uk.CreatedAt.Local().Format("2006-01-02"), uk.Comment))
	}
	lines = append(lines, "")
	if k.adding {
		lines = append(lines, m.styles.SearchPrompt.Render("Paste a public key (one line of ~/.ssh/id_ed25519.pub or the like):"))
		in := string(k.input)
		if w := m.width - 3; width(in) > w {
			in = "…" + string(k.input[len(k.input)-(w-1):])
		}
		lines = append(lines, "  "+in+m.styles.SearchCaret.Render(" "))
	}
	switch {
	case k.busy && k.loaded:
		lines = append(lines, m.styles.Info.Render("Saving…"))
	case k.err != "":
		for _, l := range wrapText("✗ "+k.err, m.width) {
			lines = append(lines, m.styles.Flash.Render(l))
		}
	case k.message != "":
		lines = append(lines, m.styles.Info.Render(fit(k.message, m.width)))
	}
	for len(lines) < m.height-1 {
		lines = append(lines, "")
	}
	if len(lines) > m.height-1 {
		lines = lines[:m.height-1]
	}
	if k.adding {
		lines = append(lines, m.footer(
			key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "add")),
			key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel"))))
	} else {
		lines = append(lines, m.footer(m.keys.Add,
			key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")), m.keys.ForceQuit))
	}
	return screen(lines, m.width, m.height)
}
