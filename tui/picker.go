package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/jms-bastion/jms/printable"
	"github.com/jms-bastion/jms/store"
)

// picker is the account picker: the accounts she may connect with on the
// chosen asset.
type picker struct {
	access   store.Access
	accounts []store.GrantedAccount
	cursor   int
}

// newPicker opens the picker on the account she used last on the asset,
// or else on the first one that is not privileged: the least privileged
// is what a slip of Enter should give.
func (m Menu) newPicker(it item) picker {
	p := picker{access: *it.access, accounts: it.usable}
	last := m.lastAcc[it.access.Asset.Name]
	for i, g := range p.accounts {
		if last != "" && g.Username == last {
			p.cursor = i
			return p
		}
	}
	for i, g := range p.accounts {
		if !g.Privileged {
			p.cursor = i
			return p
		}
	}
	return p
}

func (m Menu) updatePicker(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	p := &m.picker
	switch {
	case key.Matches(msg, m.keys.Connect):
		m.chosen, m.choice, m.account = true, p.access, p.accounts[p.cursor]
		return m, tea.Quit
	case key.Matches(msg, m.keys.Clear), msg.String() == "q", msg.String() == "backspace":
		if m.pickOnly {
			return m.quit()
		}
		m.state = stateList
	case msg.String() == "ctrl+d":
		return m.quit()
	case key.Matches(msg, m.keys.Help):
		return m.showHelp()
	case key.Matches(msg, m.keys.Up):
		p.cursor = max(0, p.cursor-1)
	case key.Matches(msg, m.keys.Down):
		p.cursor = min(len(p.accounts)-1, p.cursor+1)
	case key.Matches(msg, m.keys.Home), key.Matches(msg, m.keys.PageUp):
		p.cursor = 0
	case key.Matches(msg, m.keys.End), key.Matches(msg, m.keys.PageDown):
		p.cursor = len(p.accounts) - 1
	}
	return m, nil
}

func (m Menu) pickerView() string {
	lines := m.header()
	p := m.picker
	a := p.access.Asset
	lines = append(lines, "", m.styles.PickerTitle.Render(fmt.Sprintf("Choose an account on %s (%s)", printable.Escape(a.Name), printable.Escape(a.Address))), "")

	userW := len("ACCOUNT")
	for _, g := range p.accounts {
		userW = max(userW, width(g.Username))
	}
	userW = min(userW, max(8, m.width/3))
	const privW = len("privileged")
	actW := max(4, m.width-2-userW-privW-2*gap)
	row := func(marker, user, priv, actions string) string {
		return fit(marker, 2) + fit(user, userW) + "  " + fit(priv, privW) + "  " + fit(actions, actW)
	}
	lines = append(lines, m.styles.ColumnHeader.Render(row("", "ACCOUNT", "", "ACTIONS")))

	rows := max(1, m.height-len(lines)-2)
	offset := max(0, p.cursor-rows+1)
	for i := offset; i < len(p.accounts) && i < offset+rows; i++ {
		g := p.accounts[i]
		priv := ""
		if g.Privileged {
			priv = "privileged"
		}
		marker := "  "
		if i == p.cursor {
			marker = "› "
		}
		r := row(marker, g.Username, priv, strings.Join(g.Actions, ","))
		switch {
		case i == p.cursor:
			r = m.styles.Selected.Render(r)
		case g.Privileged:
			r = fit(marker, 2) + fit(g.Username, userW) + "  " + m.styles.Privileged.Render(fit(priv, privW)) + "  " + fit(strings.Join(g.Actions, ","), actW)
		}
		lines = append(lines, r)
	}
	for len(lines) < m.height-2 {
		lines = append(lines, "")
	}
	lines = append(lines, m.status())
	lines = append(lines, m.footer(moveHelp,
		key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "pick")),
		key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")), m.keys.ForceQuit))
	return screen(lines, m.width, m.height)
}
