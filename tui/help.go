package tui

import "slices"

// helpEntry is one line of the help screen: keys and what they do, or a
// section title.
type helpEntry struct {
	section    bool
	keys, text string
}

// helpText is the help screen of the menu. It states the typing rule:
// letters are commands only while the search box is empty and unfocused
// (docs/menu.md says the same, with KoKo's keys).
var helpText = []helpEntry{
	{true, "", "Moving"},
	{false, "↑ ↓  k j", "move the cursor"},
	{false, "pgup pgdn home end", "page, first, last"},
	{true, "", "Connecting"},
	{false, "enter", "connect: the only match, the ID typed, or the row moved to"},
	{false, "", "several accounts: pick one with enter, esc goes back"},
	{true, "", "Searching"},
	{false, "type", "other keys search: names first, then address, comment…"},
	{false, "/", "search for text that starts with p g h q r j k"},
	{false, "⌫ ctrl+u ctrl+w", "erase; once empty, letters are commands again"},
	{false, "esc", "clear the search; again: show every node"},
	{true, "", "Commands (when the search is empty)"},
	{false, "p  g", "every asset; node tree (→ opens, ← closes, enter lists)"},
	{false, "r", "refresh the list"},
	{false, "P  K", "change your password; your SSH keys (a adds one)"},
	{false, "M", "your MFA: turn it on with an authenticator app"},
	{false, "? h  q ctrl+d", "this help; quit (ctrl+c quits from anywhere)"},
}

// auditorHelpText is the help screen of the auditor menu (docs/menu.md
// says the same).
var auditorHelpText = []helpEntry{
	{true, "", "Moving"},
	{false, "↑ ↓  k j", "move the cursor"},
	{false, "pgup pgdn home end", "page, first, last"},
	{true, "", "Opening a session"},
	{false, "enter", "live: watch it read-only (q stops); ended: replay it"},
	{false, "", "the lists refresh on their own every 2 s"},
	{true, "", "Searching"},
	{false, "type", "filter on id, user, asset, account, address, status"},
	{false, "/", "search for text that starts with a letter command"},
	{false, "⌫ ctrl+u  esc", "erase; clear the search"},
	{true, "", "In the player"},
	{false, "space  ← →  + -", "pause; seek 5 s; speed"},
	{false, "", "pauses over 2 s are cut and the status line says so;"},
	{false, "", "times are the recording's, as in 'jmsctl audit commands'"},
	{true, "", "Commands (when the search is empty)"},
	{false, "r  a", "refresh now; your own assets (when granted)"},
	{false, "? h  q ctrl+d", "this help; quit (ctrl+c quits from anywhere)"},
}

// orgHelp is the help screen's line for o, shown when her assets span
// several organizations.
var orgHelp = helpEntry{false, "o", "next organization: only its assets (all, then each in turn)"}

func (m Menu) helpView() string {
	entries := helpText
	if len(m.orgs) > 1 {
		i := slices.IndexFunc(helpText, func(e helpEntry) bool { return e.keys == "r" })
		entries = slices.Insert(slices.Clone(helpText), i, orgHelp)
	}
	return helpScreen(m.styles, entries, m.width, m.height)
}

// helpScreen draws a help screen of entries.
func helpScreen(st Styles, entries []helpEntry, w, h int) string {
	lines := []string{st.HelpTitle.Render("JMS help")}
	keyW := 0
	for _, e := range entries {
		keyW = max(keyW, width(e.keys))
	}
	for _, e := range entries {
		if e.section {
			lines = append(lines, "", st.HelpSection.Render(e.text))
			continue
		}
		lines = append(lines, "  "+st.HelpKey.Render(fit(e.keys, keyW))+"  "+st.HelpText.Render(e.text))
	}
	lines = append(lines, "", st.SearchPlaceholder.Render("Press any key to go back."))
	return screen(lines, w, h)
}
