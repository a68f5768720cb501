package tui

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/jms-bastion/jms/printable"
	"github.com/jms-bastion/jms/store"
)

// reloadTimeout bounds one call of MenuConfig.Reload.
const reloadTimeout = 30 * time.Second

// MenuConfig is what the asset menu shows and how it refreshes.
type MenuConfig struct {
	User   string // who is logged in
	Role   string // her role, shown next to her name
	Banner string // the administrator's announcement, word-wrapped above the header

	// Assets are the assets she may reach, in any order: the menu sorts
	// them by name, naturally (web2 before web10). The menu keeps
	// pointers into the slice: do not change it afterwards.
	Assets []store.Access

	// Total is how many assets she has, for the header, when Assets is
	// only some of them (PickAccount); zero means len(Assets).
	Total int

	// LastAccounts maps an asset's name to the account she used there
	// last: the account picker starts on it. Without one, the picker
	// starts on the first account that is not privileged.
	LastAccounts map[string]string

	// Width and Height are the terminal size until the first
	// tea.WindowSizeMsg (80×24 when zero).
	Width, Height int

	Styles *Styles // nil means DefaultStyles()
	Keys   *KeyMap // nil means DefaultKeyMap()

	// Reload fetches the assets again when she presses r. It is called
	// inside a tea.Cmd with Context (bounded to 30 s). Nil disables r.
	Reload func(ctx context.Context) ([]store.Access, error)
	// Context is the session's context, handed to Reload; nil means
	// context.Background().
	Context context.Context

	// Restore puts the menu back where a previous one was (see
	// Menu.State): filter, node, selection, scroll and tree.
	Restore *MenuState

	// Flash is an error to show in red below the list, such as why the
	// last connection failed. It goes away at the next key.
	Flash string

	// PickAccount opens the menu on the account picker of its only asset
	// (ssh -t alice@bastion web1 with several accounts there): Enter
	// picks, going back quits without a choice.
	PickAccount bool

	// Her own account (p and s). Each is called inside a tea.Cmd with
	// Context; nil turns the key off. ChangePassword checks the current
	// password and the policy and returns an error to show her.
	ChangePassword func(ctx context.Context, current, next string) error
	ListKeys       func(ctx context.Context) ([]store.UserKey, error)
	AddKey         func(ctx context.Context, line string) (store.UserKey, error)

	// Her MFA (M). StartMFA says whether she has MFA and, when she has
	// none, makes a fresh secret for her to enrol; ConfirmMFA checks a
	// code of that secret and, when it verifies, saves it and returns
	// her recovery codes (ErrMFAAttempts after too many wrong codes).
	// Nil turns the key off.
	StartMFA   func(ctx context.Context) (MFAState, error)
	ConfirmMFA func(ctx context.Context, code string) ([]string, error)
}

// MenuState is where a menu was: enough to draw a new menu the same way
// after the person comes back from an asset.
type MenuState struct {
	Query      string   // the search text
	Searching  bool     // the search box had the focus (not restored: letters are commands again)
	Moved      bool     // she had moved the cursor to the selected asset
	Node       string   // the node the list was narrowed to ("" for all)
	Org        string   // the organization the list was narrowed to ("" for all)
	SelectedID int64    // the asset under the cursor
	Offset     int      // the first row shown
	Tree       bool     // the node tree was showing
	TreeCursor string   // the node under the tree's cursor
	TreeOpen   []string // the expanded nodes of the tree
}

// item is one asset of the list with what filtering and drawing need,
// computed once.
type item struct {
	access  *store.Access          // into the slice given to the menu
	usable  []store.GrantedAccount // accounts she may connect with
	name    string                 // lower-cased name
	id      string                 // the asset's ID, in decimal
	address string                 // address, with :port when not 22
	org     string                 // the asset's organization
	node    string                 // normalised node path, "/" at least
	search  string                 // lower-cased text the filter looks in
}

// Menu is the asset menu: the root model of a person's SSH session.
type Menu struct {
	user, role, banner string
	styles             Styles
	keys               KeyMap
	help               help.Model
	reload             func(ctx context.Context) ([]store.Access, error)
	ctx                context.Context

	state state
	prev  state // the screen under the help screen

	width, height int

	items   []item // sorted by name
	total   int    // her assets, for the header
	widths  maxWidths
	matches []int // indices into items that pass the filter, best first
	query   string
	lastQ   string   // the query matches was computed for
	lastN   string   // the node matches was computed for
	search  bool     // the search box has the focus
	node    string   // node scope, "" for all
	org     string   // organization scope, "" for all
	orgs    []string // her assets' organizations, sorted; nil when one
	cursor  int      // index into matches
	moved   bool     // she moved the cursor since the list last changed
	offset  int      // first visible row

	tree     *tree
	picker   picker
	pickOnly bool              // opened on the picker: going back quits
	lastAcc  map[string]string // asset name → the account she used last

	self    accountFuncs
	pw      passwordForm
	keyList keysScreen
	mfa     mfaScreen

	flash    string
	flashErr bool
	loading  bool

	chosen   bool
	choice   store.Access
	account  store.GrantedAccount
	quitting bool
}

// reloadMsg carries the result of MenuConfig.Reload.
type reloadMsg struct {
	assets []store.Access
	err    error
}

// NewMenu returns the asset menu for cfg.
func NewMenu(cfg MenuConfig) Menu {
	m := Menu{
		user:   cfg.User,
		role:   cfg.Role,
		banner: strings.TrimSpace(cfg.Banner),
		reload: cfg.Reload,
		ctx:    cfg.Context,
		self: accountFuncs{
			changePassword: cfg.ChangePassword,
			listKeys:       cfg.ListKeys,
			addKey:         cfg.AddKey,
			startMFA:       cfg.StartMFA,
			confirmMFA:     cfg.ConfirmMFA,
		},
		width:   cfg.Width,
		height:  cfg.Height,
		lastAcc: cfg.LastAccounts,
	}
	if m.ctx == nil {
		m.ctx = context.Background()
	}
	if m.width <= 0 {
		m.width = defaultWidth
	}
	if m.height <= 0 {
		m.height = defaultHeight
	}
	if cfg.Styles != nil {
		m.styles = *cfg.Styles
	} else {
		m.styles = DefaultStyles()
	}
	if cfg.Keys != nil {
		m.keys = *cfg.Keys
	} else {
		m.keys = DefaultKeyMap()
	}
	m.help = help.New()
	m.help.Styles = m.styles.Help
	m.help.ShortSeparator = " · "
	m.setItems(cfg.Assets)
	m.total = len(m.items)
	if cfg.Total > m.total {
		m.total = cfg.Total
	}
	if r := cfg.Restore; r != nil {
		// The query comes back without the focus: after a session (or a
		// failed connection) q quits rather than being typed.
		m.query = sanitize(r.Query)
		m.node = r.Node
		if slices.Contains(m.orgs, r.Org) {
			m.org = r.Org
		}
		m.refilter()
		m.moved = m.selectID(r.SelectedID, r.Offset) && r.Moved
		if r.Tree || r.TreeCursor != "" || len(r.TreeOpen) > 0 {
			m.tree = buildTree(m.treeItems(), r.TreeOpen)
			m.tree.rows = m.treeRows()
			m.tree.selectPath(r.TreeCursor)
		}
		if r.Tree {
			m.state = stateTree
		}
	} else {
		m.refilter()
	}
	if cfg.Flash != "" {
		m.flash, m.flashErr = sanitize(cfg.Flash), true
	}
	if cfg.PickAccount && len(m.items) == 1 && len(m.items[0].usable) > 1 {
		m.picker = m.newPicker(m.items[0])
		m.state, m.pickOnly = statePicker, true
	}
	return m
}

// Choice returns the asset and account she chose; ok is false when she
// quit instead.
func (m Menu) Choice() (access store.Access, account store.GrantedAccount, ok bool) {
	return m.choice, m.account, m.chosen
}

// State returns where the menu is, for MenuConfig.Restore.
func (m Menu) State() MenuState {
	s := MenuState{
		Query:     m.query,
		Searching: m.search,
		Moved:     m.moved,
		Node:      m.node,
		Org:       m.org,
		Offset:    m.offset,
		Tree:      m.state == stateTree || (m.state == stateHelp && m.prev == stateTree),
	}
	if it, ok := m.selected(); ok {
		s.SelectedID = it.access.Asset.ID
	}
	if m.tree != nil {
		s.TreeCursor = m.tree.cursorPath()
		s.TreeOpen = m.tree.openPaths()
	}
	return s
}

// Init implements tea.Model.
func (m Menu) Init() tea.Cmd { return nil }

// Update implements tea.Model.
func (m Menu) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.scrollIntoView()
		if m.tree != nil {
			m.tree.rows = m.treeRows()
			m.tree.scrollIntoView()
		}
		return m, nil
	case reloadMsg:
		m.loading = false
		if msg.err != nil {
			m.flash, m.flashErr = "refresh failed: "+msg.err.Error(), true
			return m, nil
		}
		id := int64(0)
		if it, ok := m.selected(); ok {
			id = it.access.Asset.ID
		}
		var open []string
		var cur string
		if m.tree != nil {
			open, cur = m.tree.openPaths(), m.tree.cursorPath()
		}
		before := make([]store.Access, len(m.items))
		for i, it := range m.items {
			before[i] = *it.access
		}
		m.setItems(msg.assets)
		m.total = len(m.items)
		m.lastQ, m.lastN = "\x00", "\x00" // force a full filter
		m.refilter()
		m.moved = m.selectID(id, m.offset) && m.moved
		if m.tree != nil {
			m.tree = buildTree(m.treeItems(), open)
			m.tree.rows = m.treeRows()
			m.tree.selectPath(cur)
			m.tree.scrollIntoView()
		}
		m.flash, m.flashErr = fmt.Sprintf("Refreshed: %d %s.", len(m.items), plural(len(m.items), "asset", "assets")), false
		if gone := Gone(before, msg.assets); gone != "" {
			m.flash, m.flashErr = sanitize(gone), true
		}
		return m, nil
	case NoticeMsg:
		m.flash, m.flashErr = sanitize(msg.Text), msg.Err
		return m, nil
	case passwordDoneMsg, keysMsg, keyAddedMsg:
		return m.updateAccount(msg)
	case mfaStartMsg, mfaConfirmMsg:
		return m.updateMFAResult(msg)
	case tea.PasteMsg:
		if m.state == stateMFA {
			return m.pasteMFA(msg)
		}
		if m.state == statePassword || m.state == stateKeys {
			return m.pasteAccount(msg)
		}
		if m.state == stateList {
			q := m.query
			if !m.search { // a new search, as a typed letter starts one
				q = ""
			}
			m.flash = ""
			m.search = true
			m.setQuery(q + sanitize(msg.Content))
		}
		return m, nil
	case tea.KeyPressMsg:
		if key.Matches(msg, m.keys.ForceQuit) {
			return m.quit()
		}
		if msg.Code == tea.KeyEscape && msg.Mod == tea.ModAlt {
			// Esc Esc arrives as one alt+esc: press Esc twice.
			return m.doubleEsc()
		}
		m.flash = ""
		switch m.state {
		case stateHelp:
			if key.Matches(msg, m.keys.Quit) && msg.String() == "ctrl+d" {
				return m.quit()
			}
			m.state = m.prev
			return m, nil
		case statePicker:
			return m.updatePicker(msg)
		case statePassword:
			return m.updatePassword(msg)
		case stateKeys:
			return m.updateKeys(msg)
		case stateMFA:
			return m.updateMFA(msg)
		case stateTree:
			return m.updateTree(msg)
		default:
			return m.updateList(msg)
		}
	}
	return m, nil
}

// doubleEsc handles Esc pressed twice in a row, which the terminal's
// input decodes as one alt+esc.
func (m Menu) doubleEsc() (tea.Model, tea.Cmd) {
	esc := tea.KeyPressMsg{Code: tea.KeyEscape}
	next, cmd := m.Update(esc)
	if cmd != nil {
		return next, cmd
	}
	return next.(Menu).Update(esc)
}

func (m Menu) quit() (tea.Model, tea.Cmd) {
	m.quitting = true
	return m, tea.Quit
}

func (m Menu) showHelp() (tea.Model, tea.Cmd) {
	m.prev, m.state = m.state, stateHelp
	return m, nil
}

// updateList handles a key on the asset list. Typing rules (also in the
// help screen and docs/menu.md): while the search box has the focus —
// after "/" or once something is typed — every printable key is filter
// text; erasing the last character, or Esc, leaves the box. Otherwise
// KoKo's p g h q r and ? / j k P K M are commands and any other printable
// key starts a new search with itself (Backspace or / edit an old one).
func (m Menu) updateList(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	if isText(msg) {
		if m.search {
			m.setQuery(m.query + sanitize(msg.Text))
			return m, nil
		}
		switch {
		case key.Matches(msg, m.keys.Search):
			m.search = true
			return m, nil
		case key.Matches(msg, m.keys.Quit):
			return m.quit()
		case key.Matches(msg, m.keys.Help):
			return m.showHelp()
		case key.Matches(msg, m.keys.List):
			m.node, m.org = "", ""
			m.setQuery("")
			return m, nil
		case key.Matches(msg, m.keys.Org) && len(m.orgs) > 1:
			m.nextOrg()
			return m, nil
		case key.Matches(msg, m.keys.Tree):
			return m.openTree()
		case key.Matches(msg, m.keys.Refresh):
			return m.refresh()
		case key.Matches(msg, m.keys.Password):
			return m.openPassword()
		case key.Matches(msg, m.keys.Keys):
			return m.openKeys()
		case key.Matches(msg, m.keys.MFA):
			return m.openMFA()
		case key.Matches(msg, m.keys.Up):
			m.move(-1)
			return m, nil
		case key.Matches(msg, m.keys.Down):
			m.move(1)
			return m, nil
		case msg.Text == " ":
			return m, nil
		}
		// A new search: an old query shown without the focus (back from
		// an asset) is replaced, as KoKo starts each search afresh.
		m.search = true
		m.setQuery(sanitize(msg.Text))
		return m, nil
	}
	switch {
	case key.Matches(msg, m.keys.Connect):
		return m.connect()
	case key.Matches(msg, m.keys.Quit): // Ctrl-D
		return m.quit()
	case key.Matches(msg, m.keys.Clear):
		switch {
		case m.query != "" || m.search:
			m.search = false
			m.setQuery("")
		case m.node != "":
			m.node = ""
			m.refilter()
		case m.org != "":
			m.org = ""
			m.refilter()
		}
	case key.Matches(msg, m.keys.Erase):
		if q := []rune(m.query); len(q) > 0 {
			m.edit(string(q[:len(q)-1]))
		} else {
			m.search = false
		}
	case key.Matches(msg, m.keys.EraseAll):
		m.edit("")
	case key.Matches(msg, m.keys.EraseWord):
		q := strings.TrimRight(m.query, " ")
		if i := strings.LastIndexByte(q, ' '); i >= 0 {
			q = q[:i+1]
		} else {
			q = ""
		}
		m.edit(q)
	case key.Matches(msg, m.keys.Up):
		m.move(-1)
	case key.Matches(msg, m.keys.Down):
		m.move(1)
	case key.Matches(msg, m.keys.PageUp):
		m.page(-1)
	case key.Matches(msg, m.keys.PageDown):
		m.page(1)
	case key.Matches(msg, m.keys.Home):
		m.cursor, m.offset, m.moved = 0, 0, true
	case key.Matches(msg, m.keys.End):
		m.cursor, m.moved = len(m.matches)-1, true
		m.scrollIntoView()
	case msg.String() == "f1":
		return m.showHelp()
	}
	return m, nil
}

// edit changes the search text after an erase: the box keeps the focus
// while it holds something, and leaves it once empty, so that single
// keys are commands again.
func (m *Menu) edit(q string) {
	m.setQuery(q)
	if q == "" {
		m.search = false
	}
}

// connect ends the program with the selected asset, or opens the account
// picker when she has several accounts there. It never guesses: the
// selected row must be what she meant (see meant).
func (m Menu) connect() (tea.Model, tea.Cmd) {
	it, ok := m.selected()
	if !ok {
		if len(m.items) == 0 {
			m.flash, m.flashErr = "You have no assets.", true
		} else {
			m.flash, m.flashErr = fmt.Sprintf("No asset matches %q.", m.query), true
		}
		return m, nil
	}
	if !m.meant() {
		m.flash, m.flashErr = fmt.Sprintf("%d assets match: move to one with ↑↓, or type its ID or more of its name.", len(m.matches)), true
		return m, nil
	}
	switch len(it.usable) {
	case 0:
		m.flash, m.flashErr = fmt.Sprintf("No account on %s: ask an administrator for a grant.", it.access.Asset.Name), true
		return m, nil
	case 1:
		m.chosen, m.choice, m.account = true, *it.access, it.usable[0]
		return m, tea.Quit
	}
	m.picker = m.newPicker(it)
	m.state = statePicker
	return m, nil
}

// meant reports whether the selected row is the asset she means: the
// only match, the asset whose ID she typed (KoKo: a number and Enter),
// or a row she moved the cursor to.
func (m Menu) meant() bool {
	if m.moved || len(m.matches) == 1 {
		return true
	}
	q := parseQuery(m.query)
	return q.id != "" && m.cursor == 0 && len(m.matches) > 0 && m.items[m.matches[0]].id == q.id
}

func (m Menu) refresh() (tea.Model, tea.Cmd) {
	if m.reload == nil {
		m.flash, m.flashErr = "Refresh is not available here.", true
		return m, nil
	}
	if m.loading {
		return m, nil
	}
	m.loading = true
	reload, parent := m.reload, m.ctx
	return m, func() tea.Msg {
		ctx, cancel := context.WithTimeout(parent, reloadTimeout)
		defer cancel()
		assets, err := reload(ctx)
		return reloadMsg{assets: assets, err: err}
	}
}

// setItems replaces the assets, sorted by name.
func (m *Menu) setItems(assets []store.Access) {
	// Sort an index rather than the (large) items, then build the items
	// in that order.
	keys := make([]string, len(assets))
	order := make([]int, len(assets))
	for i := range assets {
		keys[i] = strings.ToLower(assets[i].Asset.Name)
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int {
		if c := naturalCompare(keys[i], keys[j]); c != 0 {
			return c
		}
		return strings.Compare(assets[i].Asset.Name, assets[j].Asset.Name)
	})
	items := make([]item, len(assets))
	var w maxWidths
	multi := store.SpansOrgs(assets)
	for k, i := range order {
		a := &assets[i]
		it := &items[k]
		it.access, it.address, it.node, it.org = a, a.Asset.Address, normNode(a.Asset.Node), a.Org
		it.name, it.id = keys[i], strconv.FormatInt(a.Asset.ID, 10)
		if a.Asset.Port != 0 && a.Asset.Port != 22 {
			it.address += ":" + strconv.Itoa(a.Asset.Port)
		}
		it.usable = connectable(a.Accounts)
		it.search = searchText(a, keys[i], it.address, it.node)
		if multi {
			it.search += "\n" + strings.ToLower(a.Org)
			w.org = max(w.org, width(a.Org))
		}
		w.id = max(w.id, len(it.id))
		w.name = max(w.name, width(a.Asset.Name))
		w.address = max(w.address, width(it.address))
		w.platform = max(w.platform, width(a.Asset.Platform))
		w.node = max(w.node, width(it.node))
	}
	m.items, m.widths = items, w
	m.orgs = nil
	if multi {
		for _, a := range assets {
			m.orgs = append(m.orgs, a.Org)
		}
		slices.Sort(m.orgs)
		m.orgs = slices.Compact(m.orgs)
	}
	if !slices.Contains(m.orgs, m.org) {
		m.org = ""
	}
}

// nextOrg narrows the list to the next of her organizations: all, then
// each in turn, then all again. The node tree follows: it is built anew,
// for the new organization, when next opened.
func (m *Menu) nextOrg() {
	i := slices.Index(m.orgs, m.org) + 1 // -1 for all
	m.org = ""
	if i < len(m.orgs) {
		m.org = m.orgs[i]
	}
	m.tree = nil
	m.refilter()
	m.cursor, m.offset, m.moved = 0, 0, false
}

// treeItems are the items the node tree counts: those of the organization
// the list is narrowed to, or all. Nodes of the same path in two
// organizations are one node of the tree only while all are shown.
func (m *Menu) treeItems() []item {
	if m.org == "" {
		return m.items
	}
	var out []item
	for i := range m.items {
		if m.inOrg(&m.items[i]) {
			out = append(out, m.items[i])
		}
	}
	return out
}

// inOrg reports whether it is in the organization the list is narrowed
// to (any, when it is not).
func (m *Menu) inOrg(it *item) bool { return m.org == "" || it.org == m.org }

// Gone says which assets of before are not in after (by ID), for the
// menu's status line when a grant expired or was revoked while she was
// away: she had seen them, so naming them tells her nothing new. It
// returns "" when none is gone.
func Gone(before, after []store.Access) string {
	if len(before) == 0 {
		return ""
	}
	now := make(map[int64]bool, len(after))
	for _, a := range after {
		now[a.Asset.ID] = true
	}
	var names []string
	for _, a := range before {
		if !now[a.Asset.ID] {
			names = append(names, a.Asset.Name)
		}
	}
	switch n := len(names); {
	case n == 0:
		return ""
	case n > 3:
		names = append(names[:3], fmt.Sprintf("%d more", n-3))
	}
	return fmt.Sprintf("Your access to %s has ended: the grant expired or was revoked.", strings.Join(names, ", "))
}

// connectable returns the accounts that give the connect action, sharing
// the slice when all of them do.
func connectable(accounts []store.GrantedAccount) []store.GrantedAccount {
	n := 0
	for _, g := range accounts {
		if g.Can(store.ActionConnect) {
			n++
		}
	}
	if n == len(accounts) {
		return accounts
	}
	out := make([]store.GrantedAccount, 0, n)
	for _, g := range accounts {
		if g.Can(store.ActionConnect) {
			out = append(out, g)
		}
	}
	return out
}

// searchText is the lower-cased text the filter looks in: name, address,
// comment, node, platform and labels (as key=value).
func searchText(a *store.Access, lowerName, address, node string) string {
	var b strings.Builder
	b.Grow(len(lowerName) + len(address) + len(a.Asset.Comment) + len(node) + len(a.Asset.Platform) + 16*len(a.Asset.Labels) + 8)
	b.WriteString(lowerName)
	for _, s := range []string{address, a.Asset.Comment, node, a.Asset.Platform} {
		b.WriteByte('\n')
		b.WriteString(s)
	}
	for k, v := range a.Asset.Labels {
		b.WriteByte('\n')
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
	}
	return strings.ToLower(b.String())
}

// normNode returns node as an absolute path without a trailing slash, "/"
// for the root.
func normNode(node string) string {
	node = strings.Trim(strings.TrimSpace(node), "/")
	if node == "" {
		return "/"
	}
	return "/" + node
}

// inNode reports whether an asset in node n lies under scope.
func inNode(n, scope string) bool {
	return scope == "" || scope == "/" || n == scope || strings.HasPrefix(n, scope+"/")
}

// setQuery changes the search text and moves the cursor to the first
// match, which she has not chosen yet.
func (m *Menu) setQuery(q string) {
	m.query = q
	m.refilter()
	m.cursor, m.offset, m.moved = 0, 0, false
}

// refilter recomputes matches, best first (rankSort). When the new query
// only adds to the one matches was computed for, it narrows the old
// matches instead of scanning every asset.
func (m *Menu) refilter() {
	q := parseQuery(m.query)
	src := m.matches
	// An ID is not searched as text: "12" may match asset 12 that "1"
	// did not, so an ID query always scans.
	narrow := m.lastN == m.node+"\x00"+m.org && m.lastQ != "\x00" && strings.HasPrefix(m.query, m.lastQ) && src != nil && q.id == ""
	var out []int
	if narrow {
		out = make([]int, 0, len(src))
		for _, i := range src {
			if m.match(i, q) {
				out = append(out, i)
			}
		}
		slices.Sort(out) // back to name order before ranking again
	} else {
		out = make([]int, 0, len(m.items))
		for i := range m.items {
			if m.match(i, q) {
				out = append(out, i)
			}
		}
	}
	out = rankSort(m.items, out, q)
	m.matches, m.lastQ, m.lastN = out, m.query, m.node+"\x00"+m.org
	if m.cursor >= len(out) {
		m.cursor = max(0, len(out)-1)
	}
	m.scrollIntoView()
}

func (m *Menu) match(i int, q query) bool {
	it := &m.items[i]
	if m.node != "" && !inNode(it.node, m.node) {
		return false
	}
	if !m.inOrg(it) {
		return false
	}
	return q.matches(it)
}

// selected returns the item under the cursor.
func (m Menu) selected() (item, bool) {
	if m.cursor < 0 || m.cursor >= len(m.matches) {
		return item{}, false
	}
	return m.items[m.matches[m.cursor]], true
}

// selectID puts the cursor on the asset with this id, if it passes the
// filter, keeping the first visible row at offset when it can. It
// reports whether the asset was there.
func (m *Menu) selectID(id int64, offset int) bool {
	m.cursor = 0
	found := false
	for ci, i := range m.matches {
		if m.items[i].access.Asset.ID == id {
			m.cursor, found = ci, true
			break
		}
	}
	m.offset = offset
	m.scrollIntoView()
	return found
}

func (m *Menu) move(d int) {
	m.cursor = max(0, min(len(m.matches)-1, m.cursor+d))
	m.moved = true
	m.scrollIntoView()
}

func (m *Menu) page(d int) {
	n := m.listRows()
	m.moved = true
	m.cursor = max(0, min(len(m.matches)-1, m.cursor+d*n))
	m.offset = max(0, min(max(0, len(m.matches)-n), m.offset+d*n))
	m.scrollIntoView()
}

// scrollIntoView keeps the cursor on screen and the screen full.
func (m *Menu) scrollIntoView() {
	n := m.listRows()
	if m.cursor < 0 {
		m.cursor = 0
	}
	if m.offset > m.cursor {
		m.offset = m.cursor
	}
	if m.cursor >= m.offset+n {
		m.offset = m.cursor - n + 1
	}
	if m.offset > len(m.matches)-n {
		m.offset = len(m.matches) - n
	}
	if m.offset < 0 {
		m.offset = 0
	}
}

// bannerLines returns the banner wrapped to the width, at most a third of
// the screen.
func (m Menu) bannerLines() []string {
	lines := wrapText(m.banner, m.width)
	if limit := m.height / 3; len(lines) > limit {
		lines = lines[:limit]
	}
	return lines
}

// listRows is how many asset rows fit: the screen minus the banner, the
// header, the search line, the column titles, the status line and the
// footer.
func (m Menu) listRows() int {
	return max(1, m.height-len(m.bannerLines())-5)
}

// View implements tea.Model.
func (m Menu) View() tea.View {
	var content string
	switch m.state {
	case stateHelp:
		content = m.helpView()
	case statePicker:
		content = m.pickerView()
	case statePassword:
		content = m.passwordView()
	case stateKeys:
		content = m.keysView()
	case stateMFA:
		content = m.mfaView()
	case stateTree:
		content = m.treeView()
	default:
		content = m.listView()
	}
	v := tea.NewView(content)
	v.AltScreen = true
	v.WindowTitle = "jms"
	return v
}

// header returns the banner and the line saying who is logged in.
func (m Menu) header() []string {
	var lines []string
	for _, l := range m.bannerLines() {
		lines = append(lines, m.styles.Banner.Render(l))
	}
	n := m.total
	who := m.user
	if m.role != "" {
		who += " (" + m.role + ")"
	}
	info := fmt.Sprintf("%s · %d %s", who, n, plural(n, "asset", "assets"))
	lines = append(lines, m.styles.Title.Render("JMS")+" "+m.styles.TitleInfo.Render(info))
	return lines
}

// status returns the line above the footer: an error, a notice or nothing.
func (m Menu) status() string {
	switch {
	case m.loading:
		return m.styles.Info.Render("Refreshing…")
	case m.flash != "" && m.flashErr:
		return m.styles.Flash.Render(fit("✗ "+m.flash, m.width))
	case m.flash != "":
		return m.styles.Info.Render(printable.Escape(m.flash))
	}
	return ""
}

func (m Menu) footer(bindings ...key.Binding) string {
	h := m.help
	h.SetWidth(m.width)
	return h.ShortHelpView(bindings)
}

func (m Menu) listView() string {
	lines := m.header()

	// The search line.
	left := m.styles.SearchPrompt.Render("Search:") + " "
	switch {
	case m.search:
		left += m.styles.SearchText.Render(m.query) + m.styles.SearchCaret.Render(" ")
	case m.query != "":
		left += m.styles.SearchText.Render(m.query)
	default:
		left += m.styles.SearchPlaceholder.Render("type to filter, ? for help")
	}
	right := m.styles.Count.Render(fmt.Sprintf("%d/%d", len(m.matches), len(m.items)))
	if m.node != "" {
		right = m.styles.Scope.Render("in "+printable.Escape(m.node)) + " " + right
	}
	if m.org != "" {
		right = m.styles.Scope.Render("org "+printable.Escape(m.org)) + " " + right
	}
	lines = append(lines, spread(left, right, m.width))

	c := m.widths.layout(m.width)
	lines = append(lines, m.styles.ColumnHeader.Render(c.row("", "ID", "ORG", "NAME", "ADDRESS", "PLATFORM", "NODE", "COMMENT")))

	rows := m.listRows()
	switch {
	case len(m.items) == 0:
		lines = append(lines, m.styles.Empty.Render("  You have no assets yet: ask an administrator for a grant."))
		rows--
	case len(m.matches) == 0:
		lines = append(lines, m.styles.Empty.Render(fmt.Sprintf("  No asset matches %q.", m.query)))
		rows--
	}
	end := min(len(m.matches), m.offset+rows)
	for ci := m.offset; ci < end; ci++ {
		it := &m.items[m.matches[ci]]
		a := it.access.Asset
		comment := a.Comment
		if len(it.usable) == 0 {
			comment = "no account"
			if a.Comment != "" {
				comment += " · " + a.Comment
			}
		}
		sel := ci == m.cursor
		marker := "  "
		if sel {
			marker = "› "
		}
		row := c.row(marker, it.id, it.org, a.Name, it.address, a.Platform, it.node, comment)
		switch {
		case sel && len(it.usable) == 0:
			row = m.styles.DimmedSel.Render(row)
		case sel:
			row = m.styles.Selected.Render(row)
		case len(it.usable) == 0:
			row = m.styles.Dimmed.Render(row)
		}
		lines = append(lines, row)
		rows--
	}
	for ; rows > 0; rows-- {
		lines = append(lines, "")
	}
	lines = append(lines, m.status())
	if m.search {
		lines = append(lines, m.footer(m.keys.Connect, moveHelp, m.keys.Clear, m.keys.ForceQuit))
	} else {
		bindings := []key.Binding{m.keys.Connect, moveHelp, m.keys.Search, m.keys.List, m.keys.Tree, m.keys.Help, m.keys.Quit}
		if len(m.orgs) > 1 {
			// o instead of the arrows, to fit 80 columns; the search
			// line shows which org, the help screen that o cycles.
			bindings[1] = m.keys.Org
		}
		lines = append(lines, m.footer(bindings...))
	}
	return screen(lines, m.width, m.height)
}

// moveHelp stands for the arrow keys in the footers.
var moveHelp = key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑↓", "move"))

// maxWidths are the widest value of each column over all assets.
type maxWidths struct {
	id, org, name, address, platform, node int
}

// columns is the width of each column at some terminal width; 0 hides it.
type columns struct {
	total                                           int
	id, org, name, address, platform, node, comment int
}

const gap = 2 // spaces between columns

// layout fits the columns into w cells. Name and address are always
// shown; comment, platform and node give way in that order, after being
// shortened, when the terminal is narrow.
func (mw maxWidths) layout(w int) columns {
	c := columns{
		total:    w,
		id:       clampInt(mw.id, 2, 19),
		name:     clampInt(mw.name, 4, 28),
		address:  clampInt(mw.address, 7, 21),
		platform: clampInt(mw.platform, 8, 10),
		node:     clampInt(mw.node, 4, 24),
	}
	if mw.org > 0 { // her assets span several organizations
		c.org = clampInt(mw.org, 3, 16)
	}
	avail := w - 2 - c.id - gap // the cursor marker and the ID
	if c.org > 0 {
		avail -= c.org + gap
	}
	used := func() int {
		n := c.name + gap + c.address
		if c.platform > 0 {
			n += gap + c.platform
		}
		if c.node > 0 {
			n += gap + c.node
		}
		return n
	}
	const minComment, goodComment = 12, 24
	if avail-used()-gap < goodComment {
		c.address = min(c.address, 16)
		c.node = min(c.node, 14)
		c.name = min(c.name, 20)
	}
	if rest := avail - used() - gap; rest >= minComment {
		c.comment = rest
		return c
	}
	// No room for comments.
	for _, drop := range []*int{&c.platform, &c.node} {
		if used() <= avail {
			break
		}
		*drop = 0
	}
	if over := used() - avail; over > 0 {
		c.name = max(4, c.name-over)
		if over = used() - avail; over > 0 {
			c.address = max(1, c.address-over)
		}
	}
	if rest := avail - used() - gap; rest >= 10 {
		c.comment = rest
	}
	return c
}

// row lays out one line: marker then the visible columns, the ID right
// aligned.
func (c columns) row(marker, id, org, name, address, platform, node, comment string) string {
	var b strings.Builder
	b.Grow(c.total + 8)
	b.WriteString(fit(marker, 2))
	if n := c.id - width(id); n > 0 {
		b.WriteString(strings.Repeat(" ", n))
	}
	b.WriteString(fit(id, min(c.id, width(id))))
	b.WriteString("  ")
	if c.org > 0 {
		b.WriteString(fit(org, c.org))
		b.WriteString("  ")
	}
	b.WriteString(fit(name, c.name))
	b.WriteString("  ")
	b.WriteString(fit(address, c.address))
	for _, col := range []struct {
		w int
		s string
	}{{c.platform, platform}, {c.node, node}, {c.comment, comment}} {
		if col.w > 0 {
			b.WriteString("  ")
			b.WriteString(fit(col.s, col.w))
		}
	}
	s := b.String()
	if n := c.total - width(s); n > 0 {
		s += strings.Repeat(" ", n)
	}
	return s
}

func clampInt(v, lo, hi int) int {
	return max(lo, min(hi, v))
}
