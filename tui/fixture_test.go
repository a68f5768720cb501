package tui

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/jms-bastion/jms/store"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/tui")

// account returns a granted account with the default actions.
func account(asset, user string, privileged bool) store.GrantedAccount {
	return store.GrantedAccount{
		Account: store.Account{Asset: asset, Username: user, Privileged: privileged},
		Actions: append([]string(nil), store.DefaultActions...),
		Grants:  []string{"ops"},
	}
}

// fixture is the 12 assets of the golden screenshots, in no order.
func fixture() []store.Access {
	type a struct {
		name, addr string
		port       int
		platform   string
		node       string
		comment    string
		labels     map[string]string
		accounts   []string // "root!" is privileged
	}
	list := []a{
		{"web-01", "10.0.1.11", 22, "linux", "/prod/web", "nginx front, eu-west", map[string]string{"env": "prod", "team": "web"}, []string{"deploy"}},
		{"web-02", "10.0.1.12", 22, "linux", "/prod/web", "nginx front, eu-west", map[string]string{"env": "prod", "team": "web"}, []string{"deploy", "root!"}},
		{"db-primary", "10.0.2.21", 22, "linux", "/prod/db", "PostgreSQL 16 primary", map[string]string{"env": "prod", "role": "db"}, []string{"postgres", "root!"}},
		{"db-replica", "10.0.2.22", 22, "linux", "/prod/db", "PostgreSQL 16 streaming replica", map[string]string{"env": "prod", "role": "db"}, []string{"postgres"}},
		{"cache-01", "10.0.3.31", 2222, "linux", "/prod/cache", "Redis 7", nil, []string{"redis"}},
		{"staging-app", "staging.internal.example.com", 22, "linux", "/staging", "all-in-one staging box", map[string]string{"env": "staging"}, []string{"deploy", "root!"}},
		{"build-runner", "10.9.0.5", 22, "linux", "/ci", "GitLab runner, docker executor", map[string]string{"team": "platform"}, []string{"gitlab-runner"}},
		{"jenkins", "10.9.0.6", 22, "linux", "/ci", "legacy CI, to be retired", nil, nil},
		{"bastion-lab", "192.168.56.10", 22, "linux", "/lab", "", nil, []string{"vagrant"}},
		{"win-ad-01", "10.0.5.10", 22, "windows", "/prod/infra", "Active Directory DC (OpenSSH)", map[string]string{"os": "windows"}, []string{"Administrator!"}},
		{"router-core", "10.0.0.1", 22, "network", "/prod/infra", "core router, read-only", nil, []string{"readonly"}},
		{"backup", "10.0.7.70", 22, "linux", "/", "nightly backups (restic)", nil, []string{"restic"}},
	}
	out := make([]store.Access, len(list))
	for i, x := range list {
		acc := store.Access{Asset: store.Asset{
			ID: int64(i + 1), Name: x.name, Address: x.addr, Port: x.port, Platform: x.platform,
			Node: x.node, Comment: x.comment, Labels: x.labels, Active: true,
		}}
		for _, u := range x.accounts {
			priv := strings.HasSuffix(u, "!")
			acc.Accounts = append(acc.Accounts, account(x.name, strings.TrimSuffix(u, "!"), priv))
		}
		out[len(list)-1-i] = acc
	}
	return out
}

const fixtureBanner = "Welcome to the ACME bastion. All sessions are recorded and audited. " +
	"Maintenance window: Sunday 02:00-04:00 UTC."

func fixtureMenu(w, h int) Menu {
	return NewMenu(MenuConfig{User: "alice", Role: "user", Banner: fixtureBanner, Assets: fixture(), Width: w, Height: h})
}

// bigFixture returns n assets spread over nodes, with one account each.
func bigFixture(n int) []store.Access {
	out := make([]store.Access, n)
	for i := range out {
		name := fmt.Sprintf("host-%05d", (i*7919)%n)
		out[i] = store.Access{
			Asset: store.Asset{
				ID: int64(i + 1), Name: name, Address: fmt.Sprintf("10.%d.%d.%d", i/65536, (i/256)%256, i%256),
				Port: 22, Platform: "linux", Node: fmt.Sprintf("/region-%d/zone-%d/rack-%d", i%4, i%16, i%64),
				Comment: fmt.Sprintf("generated asset number %d", i), Labels: map[string]string{"env": []string{"prod", "dev", "staging"}[i%3]},
			},
			Accounts: []store.GrantedAccount{account(name, "root", true)},
		}
	}
	return out
}

// press sends keys to a model: each argument is a key name as
// tea.KeyPressMsg.String() writes it ("enter", "ctrl+c", "space") or text
// typed one character at a time.
func press[M tea.Model](t testing.TB, m M, keys ...string) (M, tea.Cmd) {
	t.Helper()
	var cmd tea.Cmd
	for _, k := range keys {
		for _, msg := range keyMsgs(k) {
			var next tea.Model
			next, cmd = m.Update(msg)
			m = next.(M)
		}
	}
	return m, cmd
}

var namedKeys = map[string]tea.KeyPressMsg{
	"enter":     {Code: tea.KeyEnter},
	"esc":       {Code: tea.KeyEscape},
	"up":        {Code: tea.KeyUp},
	"down":      {Code: tea.KeyDown},
	"left":      {Code: tea.KeyLeft},
	"right":     {Code: tea.KeyRight},
	"pgup":      {Code: tea.KeyPgUp},
	"pgdown":    {Code: tea.KeyPgDown},
	"home":      {Code: tea.KeyHome},
	"end":       {Code: tea.KeyEnd},
	"backspace": {Code: tea.KeyBackspace},
	"space":     {Code: tea.KeySpace, Text: " "},
	"ctrl+c":    {Code: 'c', Mod: tea.ModCtrl},
	"ctrl+d":    {Code: 'd', Mod: tea.ModCtrl},
	"ctrl+u":    {Code: 'u', Mod: tea.ModCtrl},
	"ctrl+w":    {Code: 'w', Mod: tea.ModCtrl},
	"f1":        {Code: tea.KeyF1},
}

func keyMsgs(k string) []tea.Msg {
	if msg, ok := namedKeys[k]; ok {
		return []tea.Msg{msg}
	}
	var out []tea.Msg
	for _, r := range k {
		out = append(out, tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	return out
}

// plain returns the model's view without escapes and with trailing
// spaces removed from each line.
func plain(m tea.Model) string {
	s := ansi.Strip(m.View().Content)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// golden compares got with testdata/tui/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("..", "testdata", "tui", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./tui/ -run %s -update to create it)", err, t.Name())
	}
	if string(want) != got {
		t.Errorf("%s differs from the view (run with -update after checking):\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}
