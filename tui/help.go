package tui

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
	{false, "? h  q ctrl+d", "this help; quit (ctrl+c quits from anywhere)"},
}

func (m Menu) helpView() string {
	lines := []string{m.styles.HelpTitle.Render("JMS help")}
	keyW := 0
	for _, e := range helpText {
		keyW = max(keyW, width(e.keys))
	}
	for _, e := range helpText {
		if e.section {
			lines = append(lines, "", m.styles.HelpSection.Render(e.text))
			continue
		}
		lines = append(lines, "  "+m.styles.HelpKey.Render(fit(e.keys, keyW))+"  "+m.styles.HelpText.Render(e.text))
	}
	lines = append(lines, "", m.styles.SearchPlaceholder.Render("Press any key to go back."))
	return screen(lines, m.width, m.height)
}
