package tui

import (
	"fmt"
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/jms-bastion/jms/printable"
)

// treeNode is one node of the asset tree with the number of assets in it
// and below it.
type treeNode struct {
	path     string // "/prod/web"; "/" for the root
	name     string // "web"
	depth    int
	count    int
	open     bool
	parent   *treeNode
	children []*treeNode
}

// tree is the collapsible node tree shown by g.
type tree struct {
	root    *treeNode
	visible []*treeNode // the rows, top to bottom
	cursor  int         // index into visible
	offset  int
	rows    int // rows on screen
	nodes   int // nodes in the tree, the root included
}

// buildTree makes the tree of the items' nodes. The root is always open,
// and so is every node in open.
func buildTree(items []item, open []string) *tree {
	isOpen := make(map[string]bool, len(open))
	for _, p := range open {
		isOpen[p] = true
	}
	root := &treeNode{path: "/", name: "/", open: true}
	index := map[string]*treeNode{"/": root}
	for i := range items {
		p := items[i].node
		n, ok := index[p]
		if !ok {
			parent := root
			path := ""
			for _, seg := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
				path += "/" + seg
				c, ok := index[path]
				if !ok {
					c = &treeNode{path: path, name: seg, depth: parent.depth + 1, parent: parent, open: isOpen[path]}
					parent.children = append(parent.children, c)
					index[path] = c
				}
				parent = c
			}
			n = parent
		}
		for ; n != nil; n = n.parent {
			n.count++
		}
	}
	for _, n := range index {
		sort.Slice(n.children, func(i, j int) bool { return n.children[i].name < n.children[j].name })
	}
	t := &tree{root: root, nodes: len(index)}
	t.flatten()
	return t
}

// flatten recomputes the visible rows after a node opened or closed.
func (t *tree) flatten() {
	var cur *treeNode
	if t.cursor < len(t.visible) {
		cur = t.visible[t.cursor]
	}
	t.visible = t.visible[:0]
	var walk func(n *treeNode)
	walk = func(n *treeNode) {
		t.visible = append(t.visible, n)
		if n.open {
			for _, c := range n.children {
				walk(c)
			}
		}
	}
	walk(t.root)
	t.cursor = 0
	for i, n := range t.visible {
		if n == cur {
			t.cursor = i
		}
	}
}

func (t *tree) current() *treeNode { return t.visible[t.cursor] }

func (t *tree) cursorPath() string { return t.current().path }

// openPaths lists the open nodes below the root.
func (t *tree) openPaths() []string {
	var out []string
	var walk func(n *treeNode)
	walk = func(n *treeNode) {
		if n.open && n != t.root {
			out = append(out, n.path)
		}
		for _, c := range n.children {
			walk(c)
		}
	}
	walk(t.root)
	return out
}

// selectPath puts the cursor on the node at path, opening its parents.
func (t *tree) selectPath(path string) {
	if path == "" {
		return
	}
	var find func(n *treeNode) *treeNode
	find = func(n *treeNode) *treeNode {
		if n.path == path {
			return n
		}
		for _, c := range n.children {
			if f := find(c); f != nil {
				return f
			}
		}
		return nil
	}
	n := find(t.root)
	if n == nil {
		return
	}
	for p := n.parent; p != nil; p = p.parent {
		p.open = true
	}
	t.flatten()
	for i, v := range t.visible {
		if v == n {
			t.cursor = i
		}
	}
	t.scrollIntoView()
}

func (t *tree) move(d int) {
	t.cursor = max(0, min(len(t.visible)-1, t.cursor+d))
	t.scrollIntoView()
}

func (t *tree) scrollIntoView() {
	n := max(1, t.rows)
	if t.offset > t.cursor {
		t.offset = t.cursor
	}
	if t.cursor >= t.offset+n {
		t.offset = t.cursor - n + 1
	}
	t.offset = max(0, min(t.offset, len(t.visible)-n))
}

// treeRows is how many tree rows fit on the screen.
func (m Menu) treeRows() int {
	return max(1, m.height-len(m.bannerLines())-4)
}

func (m Menu) openTree() (tea.Model, tea.Cmd) {
	if m.tree == nil {
		m.tree = buildTree(m.treeItems(), nil)
		if m.node != "" {
			m.tree.selectPath(m.node)
		}
	}
	m.tree.rows = m.treeRows()
	m.tree.scrollIntoView()
	m.state = stateTree
	return m, nil
}

func (m Menu) updateTree(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	// The tree is shared with earlier copies of the model; work on a copy
	// of its header so that they keep their cursor.
	t := *m.tree
	t.visible = append([]*treeNode(nil), t.visible...)
	m.tree = &t
	t.rows = m.treeRows()
	switch {
	case key.Matches(msg, m.keys.Quit):
		return m.quit()
	case key.Matches(msg, m.keys.Help) && !key.Matches(msg, m.keys.Close): // h closes a node here
		return m.showHelp()
	case key.Matches(msg, m.keys.Refresh):
		return m.refresh()
	case key.Matches(msg, m.keys.Tree), key.Matches(msg, m.keys.Clear):
		m.state = stateList
	case key.Matches(msg, m.keys.Connect):
		n := t.current()
		m.node = n.path
		if n == t.root {
			m.node = ""
		}
		m.query, m.search = "", false
		m.refilter()
		m.cursor, m.offset = 0, 0
		m.state = stateList
	case key.Matches(msg, m.keys.Up):
		t.move(-1)
	case key.Matches(msg, m.keys.Down):
		t.move(1)
	case key.Matches(msg, m.keys.PageUp):
		t.move(-t.rows)
	case key.Matches(msg, m.keys.PageDown):
		t.move(t.rows)
	case key.Matches(msg, m.keys.Home):
		t.move(-len(t.visible))
	case key.Matches(msg, m.keys.End):
		t.move(len(t.visible))
	case key.Matches(msg, m.keys.Open):
		n := t.current()
		switch {
		case len(n.children) == 0:
		case !n.open:
			n.open = true
			t.flatten()
		default:
			t.move(1)
		}
		t.scrollIntoView()
	case key.Matches(msg, m.keys.Close):
		n := t.current()
		switch {
		case n.open && len(n.children) > 0 && n != t.root:
			n.open = false
			t.flatten()
		case n.parent != nil:
			t.selectPath(n.parent.path)
		}
		t.scrollIntoView()
	}
	return m, nil
}

func (m Menu) treeView() string {
	lines := m.header()
	lines = append(lines, spread(m.styles.SearchPrompt.Render("Nodes")+" "+
		m.styles.SearchPlaceholder.Render("enter lists a node's assets"),
		m.styles.Count.Render(fmt.Sprintf("%d %s", m.tree.nodes, plural(m.tree.nodes, "node", "nodes"))), m.width))
	t := m.tree
	rows := m.treeRows()
	end := min(len(t.visible), t.offset+rows)
	for i := t.offset; i < end; i++ {
		n := t.visible[i]
		sign := "  "
		if len(n.children) > 0 {
			sign = "▸ "
			if n.open {
				sign = "▾ "
			}
		}
		marker := "  "
		if i == t.cursor {
			marker = "› "
		}
		label := marker + strings.Repeat("  ", n.depth) + sign + printable.Escape(n.name)
		count := fmt.Sprintf(" (%d)", n.count)
		if i == t.cursor {
			lines = append(lines, m.styles.Selected.Render(fit(label+count, m.width)))
		} else {
			lines = append(lines, label+m.styles.TreeCount.Render(count))
		}
		rows--
	}
	for ; rows > 0; rows-- {
		lines = append(lines, "")
	}
	lines = append(lines, m.status())
	lines = append(lines, m.footer(moveHelp, m.keys.Open, m.keys.Close,
		key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "list node")),
		key.NewBinding(key.WithKeys("g"), key.WithHelp("g", "back")), m.keys.Quit))
	return screen(lines, m.width, m.height)
}
