package tui

import "charm.land/bubbles/v2/key"

// KeyMap holds every key binding of the menu, the account picker, the
// auditor menu and the replay player, with its help text.
//
// Letters double as filter text in the menu: see "Typing" in the help
// screen (helpText) for when a letter is a command and when it is typed.
type KeyMap struct {
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Home     key.Binding
	End      key.Binding

	Connect   key.Binding // Enter: connect, pick, watch or replay
	Search    key.Binding // "/": focus the search box
	Clear     key.Binding // Esc: clear the search, go back
	Erase     key.Binding // Backspace
	EraseAll  key.Binding // Ctrl-U
	EraseWord key.Binding // Ctrl-W
	List      key.Binding // "p": every asset, as KoKo's p
	Tree      key.Binding // "g": toggle the node tree
	Org       key.Binding // "o": the next organization (her assets span several)
	Open      key.Binding // tree: expand
	Close     key.Binding // tree: collapse
	Refresh   key.Binding
	Help      key.Binding
	Quit      key.Binding // "q" and Ctrl-D
	ForceQuit key.Binding // Ctrl-C, always

	// Her own account, from the asset menu.
	Password key.Binding // "P": change her password
	Keys     key.Binding // "K": her SSH keys
	MFA      key.Binding // "M": her MFA, enrolment when she has none
	Add      key.Binding // "a" on the keys screen: add a key
	Assets   key.Binding // "a" in the auditor menu: her own assets

	// Replay player.
	Pause     key.Binding
	Back      key.Binding
	Forward   key.Binding
	Faster    key.Binding
	Slower    key.Binding
	Beginning key.Binding
	Ending    key.Binding
}

// DefaultKeyMap returns the key bindings described in DESIGN.md ("The
// menu"), issue 4 and issue 11 (KoKo's p, g, h, q, r, and a number then
// Enter).
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k", "ctrl+p"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j", "ctrl+n"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+f"), key.WithHelp("pgdn", "page down")),
		Home:     key.NewBinding(key.WithKeys("home"), key.WithHelp("home", "first")),
		End:      key.NewBinding(key.WithKeys("end"), key.WithHelp("end", "last")),

		Connect:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "connect")),
		Search:    key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "search")),
		Clear:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear")),
		Erase:     key.NewBinding(key.WithKeys("backspace", "ctrl+h"), key.WithHelp("⌫", "erase")),
		EraseAll:  key.NewBinding(key.WithKeys("ctrl+u"), key.WithHelp("ctrl+u", "erase all")),
		EraseWord: key.NewBinding(key.WithKeys("ctrl+w"), key.WithHelp("ctrl+w", "erase word")),
		List:      key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "all")),
		Tree:      key.NewBinding(key.WithKeys("g"), key.WithHelp("g", "tree")),
		Org:       key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "next org")),
		Open:      key.NewBinding(key.WithKeys("right", "l", "space"), key.WithHelp("→/l", "open")),
		Close:     key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h", "close")),
		Refresh:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh")),
		Help:      key.NewBinding(key.WithKeys("?", "h"), key.WithHelp("?", "help")),
		Quit:      key.NewBinding(key.WithKeys("q", "ctrl+d"), key.WithHelp("q", "quit")),
		ForceQuit: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),

		// Capitals: p is KoKo's list command, and s still starts a search.
		Password: key.NewBinding(key.WithKeys("P"), key.WithHelp("P", "password")),
		Keys:     key.NewBinding(key.WithKeys("K"), key.WithHelp("K", "ssh keys")),
		MFA:      key.NewBinding(key.WithKeys("M"), key.WithHelp("M", "mfa")),
		Add:      key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "add a key")),
		Assets:   key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "my assets")),

		Pause:     key.NewBinding(key.WithKeys("space", "p"), key.WithHelp("space", "pause")),
		Back:      key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←", "-5s")),
		Forward:   key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("→", "+5s")),
		Faster:    key.NewBinding(key.WithKeys("+", "="), key.WithHelp("+", "faster")),
		Slower:    key.NewBinding(key.WithKeys("-", "_"), key.WithHelp("-", "slower")),
		Beginning: key.NewBinding(key.WithKeys("home", "0"), key.WithHelp("home", "start")),
		Ending:    key.NewBinding(key.WithKeys("end"), key.WithHelp("end", "end")),
	}
}
