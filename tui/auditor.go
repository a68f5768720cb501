package tui

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/jms-bastion/jms/printable"
	"github.com/jms-bastion/jms/store"
)

// SessionInfo is what the auditor menu shows of a session. It mirrors
// the store's session row without depending on it.
type SessionInfo struct {
	ID        string
	User      string
	Asset     string
	Account   string
	Source    string // the client's address
	StartedAt time.Time
	EndedAt   time.Time // zero while the session is live
	Status    string
}

// AuditorAction is what the auditor chose to do with a session.
type AuditorAction int

const (
	// WatchSession follows a live session read-only.
	WatchSession AuditorAction = iota + 1
	// ReplaySession plays an ended session's recording.
	ReplaySession
	// ShowAssets opens the auditor's own asset menu (AuditorConfig.Assets).
	ShowAssets
)

func (a AuditorAction) String() string {
	switch a {
	case WatchSession:
		return "watch"
	case ReplaySession:
		return "replay"
	case ShowAssets:
		return "assets"
	}
	return "none"
}

// AuditorConfig is what the auditor menu shows.
type AuditorConfig struct {
	User   string
	Role   string // shown next to her name: "auditor" when empty
	Banner string
	Live   []SessionInfo // sessions running now, to watch
	Recent []SessionInfo // ended sessions, to replay

	Width, Height int
	Styles        *Styles // nil means DefaultStyles()
	Keys          *KeyMap // nil means DefaultKeyMap()

	// Reload fetches both lists again when r is pressed and every
	// RefreshEvery on its own, inside a tea.Cmd with Context (bounded to
	// 30 s). Nil disables both.
	Reload  func(ctx context.Context) (live, recent []SessionInfo, err error)
	Context context.Context
	// RefreshEvery is how often the lists refresh on their own: 0 means
	// DefaultAuditorRefresh, a negative value never.
	RefreshEvery time.Duration

	// Now is the clock for the age of live sessions; nil means time.Now.
	// It is read in View only, never to decide anything.
	Now func() time.Time

	Flash string // an error to show, as in MenuConfig

	// Assets turns on the a key, which ends the menu with the ShowAssets
	// action: the auditor has assets granted to her.
	Assets bool
}

// auditorRow is a line of the auditor list: a section title or a session.
type auditorRow struct {
	title  string
	s      SessionInfo
	live   bool
	search string
}

// AuditorMenu is the menu of a person with the auditor role: live sessions
// to watch and recent ones to replay.
type AuditorMenu struct {
	cfg    AuditorConfig
	styles Styles
	keys   KeyMap
	help   help.Model

	width, height int
	live, recent  []SessionInfo
	rows          []auditorRow // titles and sessions passing the filter
	pick          []int        // indices of rows that are sessions
	query         string
	search        bool
	cursor        int // index into pick
	offset        int // first row shown

	flash    string
	flashErr bool
	loading  bool
	quiet    bool // the loading is a refresh on its own: not shown
	showHelp bool // the help screen is shown

	chosen bool
	choice SessionInfo
	action AuditorAction
}

// DefaultAuditorRefresh is how often the auditor menu refreshes its
// lists on its own: live sessions come and go while she looks.
const DefaultAuditorRefresh = 2 * time.Second

type auditorReloadMsg struct {
	live, recent []SessionInfo
	err          error
}

// auditorTickMsg is the clock of the refreshes on their own.
type auditorTickMsg struct{}

// NewAuditorMenu returns the auditor menu for cfg.
func NewAuditorMenu(cfg AuditorConfig) AuditorMenu {
	m := AuditorMenu{cfg: cfg, width: cfg.Width, height: cfg.Height, live: cfg.Live, recent: cfg.Recent}
	if m.cfg.Context == nil {
		m.cfg.Context = context.Background()
	}
	if m.cfg.Now == nil {
		m.cfg.Now = time.Now
	}
	if m.cfg.RefreshEvery == 0 {
		m.cfg.RefreshEvery = DefaultAuditorRefresh
	}
	if m.width <= 0 {
		m.width = defaultWidth
	}
	if m.height <= 0 {
		m.height = defaultHeight
	}
	m.styles = DefaultStyles()
	if cfg.Styles != nil {
		m.styles = *cfg.Styles
	}
	m.keys = DefaultKeyMap()
	if cfg.Keys != nil {
		m.keys = *cfg.Keys
	}
	m.help = help.New()
	m.help.Styles = m.styles.Help
	m.help.ShortSeparator = " · "
	if cfg.Flash != "" {
		m.flash, m.flashErr = sanitize(cfg.Flash), true
	}
	m.refilter()
	return m
}

// Choice returns the session the auditor chose and what to do with it; ok
// is false when she quit.
func (m AuditorMenu) Choice() (s SessionInfo, action AuditorAction, ok bool) {
	return m.choice, m.action, m.chosen
}

// Init implements tea.Model: it starts the refreshes on their own.
func (m AuditorMenu) Init() tea.Cmd { return m.nextTick() }

// nextTick schedules the next refresh on its own, if any.
func (m AuditorMenu) nextTick() tea.Cmd {
	if m.cfg.Reload == nil || m.cfg.RefreshEvery < 0 {
		return nil
	}
	return tea.Tick(m.cfg.RefreshEvery, func(time.Time) tea.Msg { return auditorTickMsg{} })
}

// selected returns the id of the session under the cursor, or "".
func (m AuditorMenu) selected() string {
	if len(m.pick) == 0 {
		return ""
	}
	return m.rows[m.pick[m.cursor]].s.ID
}

// keepSelection puts the cursor back on session id after the lists
// changed, if it is still there.
func (m *AuditorMenu) keepSelection(id string) {
	for i, r := range m.pick {
		if m.rows[r].s.ID == id {
			m.cursor = i
			m.scrollIntoView()
			return
		}
	}
}

func (m *AuditorMenu) refilter() {
	terms := strings.Fields(strings.ToLower(m.query))
	m.rows, m.pick = m.rows[:0:0], nil
	add := func(title string, list []SessionInfo, live bool) {
		m.rows = append(m.rows, auditorRow{title: fmt.Sprintf("%s (%d)", title, len(list))})
		n := 0
		for _, s := range list {
			text := strings.ToLower(strings.Join([]string{s.ID, s.User, s.Asset, s.Account, s.Source, s.Status}, "\n"))
			ok := true
			for _, t := range terms {
				if !strings.Contains(text, t) {
					ok = false
					break
				}
			}
			if ok {
				m.pick = append(m.pick, len(m.rows))
				m.rows = append(m.rows, auditorRow{s: s, live: live, search: text})
				n++
			}
		}
		if n == 0 {
			m.rows = append(m.rows, auditorRow{title: "  none"})
		}
	}
	add("Live sessions", m.live, true)
	m.rows = append(m.rows, auditorRow{title: " "})
	add("Recent sessions", m.recent, false)
	m.cursor = max(0, min(m.cursor, len(m.pick)-1))
	m.scrollIntoView()
}

func (m AuditorMenu) listRows() int {
	return max(1, m.height-len(wrapText(m.cfg.Banner, m.width))-5)
}

func (m *AuditorMenu) scrollIntoView() {
	n := m.listRows()
	if len(m.pick) == 0 {
		m.offset = 0
		return
	}
	row := m.pick[m.cursor]
	if m.cursor == 0 {
		row = 0 // show the title above the first session
	}
	if m.offset > row {
		m.offset = row
	}
	if r := m.pick[m.cursor]; r >= m.offset+n {
		m.offset = r - n + 1
	}
	m.offset = max(0, min(m.offset, len(m.rows)-n))
}

func (m *AuditorMenu) move(d int) {
	m.cursor = max(0, min(len(m.pick)-1, m.cursor+d))
	m.scrollIntoView()
}

// Update implements tea.Model.
func (m AuditorMenu) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.scrollIntoView()
	case NoticeMsg:
		m.flash, m.flashErr = sanitize(msg.Text), msg.Err
	case auditorTickMsg:
		if m.loading {
			return m, m.nextTick()
		}
		next, cmd := m.reload(true)
		return next, tea.Batch(cmd, m.nextTick())
	case auditorReloadMsg:
		quiet := m.quiet
		m.loading, m.quiet = false, false
		if msg.err != nil {
			m.flash, m.flashErr = "refresh failed: "+msg.err.Error(), true
			return m, nil
		}
		sel := m.selected()
		m.live, m.recent = msg.live, msg.recent
		m.refilter()
		m.keepSelection(sel)
		if !quiet {
			m.flash, m.flashErr = fmt.Sprintf("Refreshed: %d live, %d recent.", len(m.live), len(m.recent)), false
		} else if m.flashErr && strings.HasPrefix(m.flash, "refresh failed: ") {
			m.flash = "" // it works again
		}
	case tea.KeyPressMsg:
		m.flash = ""
		if key.Matches(msg, m.keys.ForceQuit) || msg.String() == "ctrl+d" {
			return m, tea.Quit
		}
		if m.showHelp {
			m.showHelp = false // any key goes back, as in the asset menu
			return m, nil
		}
		if msg.String() == "f1" {
			m.showHelp = true
			return m, nil
		}
		if isText(msg) {
			if !m.search {
				switch {
				case key.Matches(msg, m.keys.Quit):
					return m, tea.Quit
				case key.Matches(msg, m.keys.Help):
					m.showHelp = true
					return m, nil
				case key.Matches(msg, m.keys.Search):
					m.search = true
					return m, nil
				case key.Matches(msg, m.keys.Refresh):
					return m.refresh()
				case m.cfg.Assets && key.Matches(msg, m.keys.Assets):
					m.chosen, m.action = true, ShowAssets
					return m, tea.Quit
				case key.Matches(msg, m.keys.Up):
					m.move(-1)
					return m, nil
				case key.Matches(msg, m.keys.Down):
					m.move(1)
					return m, nil
				case msg.Text == " ":
					return m, nil
				}
			}
			m.search = true
			m.query += sanitize(msg.Text)
			m.cursor = 0
			m.refilter()
			return m, nil
		}
		switch {
		case key.Matches(msg, m.keys.Connect):
			if len(m.pick) == 0 {
				m.flash, m.flashErr = "No session to open.", true
				return m, nil
			}
			r := m.rows[m.pick[m.cursor]]
			m.chosen, m.choice, m.action = true, r.s, ReplaySession
			if r.live {
				m.action = WatchSession
			}
			return m, tea.Quit
		case key.Matches(msg, m.keys.Clear):
			m.query, m.search, m.cursor = "", false, 0
			m.refilter()
		case key.Matches(msg, m.keys.Erase):
			if m.query == "" {
				m.search = false
				return m, nil
			}
			q := []rune(m.query)
			m.query = string(q[:len(q)-1])
			m.cursor = 0
			m.refilter()
		case key.Matches(msg, m.keys.EraseAll):
			m.query, m.cursor = "", 0
			m.refilter()
		case key.Matches(msg, m.keys.Up):
			m.move(-1)
		case key.Matches(msg, m.keys.Down):
			m.move(1)
		case key.Matches(msg, m.keys.PageUp):
			m.move(-m.listRows())
		case key.Matches(msg, m.keys.PageDown):
			m.move(m.listRows())
		case key.Matches(msg, m.keys.Home):
			m.move(-len(m.pick))
		case key.Matches(msg, m.keys.End):
			m.move(len(m.pick))
		}
	}
	return m, nil
}

func (m AuditorMenu) refresh() (tea.Model, tea.Cmd) {
	if m.cfg.Reload == nil {
		m.flash, m.flashErr = "Refresh is not available here.", true
		return m, nil
	}
	if m.loading {
		m.quiet = false // r during a refresh on its own: say when it is done
		return m, nil
	}
	return m.reload(false)
}

// reload fetches both lists in a tea.Cmd; auto is a refresh on its own,
// which shows nothing unless it fails.
func (m AuditorMenu) reload(auto bool) (AuditorMenu, tea.Cmd) {
	m.loading, m.quiet = true, auto
	reload, parent := m.cfg.Reload, m.cfg.Context
	return m, func() tea.Msg {
		ctx, cancel := context.WithTimeout(parent, reloadTimeout)
		defer cancel()
		live, recent, err := reload(ctx)
		return auditorReloadMsg{live: live, recent: recent, err: err}
	}
}

// View implements tea.Model.
func (m AuditorMenu) View() tea.View {
	content := m.listView()
	if m.showHelp {
		content = helpScreen(m.styles, auditorHelpText, m.width, m.height)
	}
	v := tea.NewView(content)
	v.AltScreen = true
	v.WindowTitle = "jms"
	return v
}

// listView draws the two lists of sessions.
func (m AuditorMenu) listView() string {
	var lines []string
	for _, l := range wrapText(m.cfg.Banner, m.width) {
		lines = append(lines, m.styles.Banner.Render(l))
	}
	lines = append(lines, m.styles.Title.Render("JMS")+" "+m.styles.TitleInfo.Render(
		fmt.Sprintf("%s (%s) · %d live · %d recent", m.cfg.User, cmp.Or(m.cfg.Role, "auditor"), len(m.live), len(m.recent))))

	left := m.styles.SearchPrompt.Render("Search:") + " "
	switch {
	case m.search:
		left += m.styles.SearchText.Render(m.query) + m.styles.SearchCaret.Render(" ")
	default:
		left += m.styles.SearchPlaceholder.Render("type to filter")
	}
	lines = append(lines, spread(left, m.styles.Count.Render(fmt.Sprintf("%d/%d", len(m.pick), len(m.live)+len(m.recent))), m.width))

	const idW, timeW, durW, statusW = 8, 16, 8, 11
	rest := max(20, m.width-2-idW-timeW-durW-statusW-6*gap)
	userW, assetW, accW := rest*3/10, rest*4/10, rest-rest*3/10-rest*4/10
	row := func(marker, id, user, asset, account, started, dur, status string) string {
		return fit(marker, 2) + fit(id, idW) + "  " + fit(user, userW) + "  " + fit(asset, assetW) + "  " +
			fit(account, accW) + "  " + fit(started, timeW) + "  " + fit(dur, durW) + "  " + fit(status, statusW)
	}
	lines = append(lines, m.styles.ColumnHeader.Render(row("", "SESSION", "USER", "ASSET", "ACCOUNT", "STARTED", "LENGTH", "STATUS")))

	sel := -1
	if len(m.pick) > 0 {
		sel = m.pick[m.cursor]
	}
	n := m.listRows()
	now := m.cfg.Now()
	for i := m.offset; i < len(m.rows) && i < m.offset+n; i++ {
		r := m.rows[i]
		if r.title != "" {
			lines = append(lines, m.styles.Section.Render(r.title))
			continue
		}
		s := r.s
		end := s.EndedAt
		if end.IsZero() {
			end = now
		}
		dur := end.Sub(s.StartedAt).Truncate(time.Second).String()
		marker := "  "
		if i == sel {
			marker = "› "
		}
		line := row(marker, store.ShortSessionID(s.ID), s.User, s.Asset, s.Account, s.StartedAt.Local().Format("2006-01-02 15:04"), dur, s.Status)
		if i == sel {
			line = m.styles.Selected.Render(line)
		}
		lines = append(lines, line)
	}
	for len(lines) < m.height-2 {
		lines = append(lines, "")
	}
	switch {
	case m.loading && !m.quiet:
		lines = append(lines, m.styles.Info.Render("Refreshing…"))
	case m.flash != "" && m.flashErr:
		lines = append(lines, m.styles.Flash.Render("✗ "+printable.Escape(m.flash)))
	default:
		lines = append(lines, m.styles.Info.Render(printable.Escape(m.flash)))
	}
	h := m.help
	h.SetWidth(m.width)
	bindings := []key.Binding{
		key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "watch/replay")),
		moveHelp, m.keys.Search, m.keys.Refresh,
	}
	if m.cfg.Assets {
		bindings = append(bindings, m.keys.Assets)
	}
	lines = append(lines, h.ShortHelpView(append(bindings, m.keys.Help, m.keys.Quit)))
	return screen(lines, m.width, m.height)
}
