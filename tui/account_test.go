package tui

import (
	"context"
	"errors"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/jms-bastion/jms/store"
)

// run runs a command and feeds its message back, as the program would.
func runCmd[M tea.Model](t *testing.T, m M, cmd tea.Cmd) M {
	t.Helper()
	if cmd == nil {
		t.Fatal("no command to run")
	}
	next, _ := m.Update(cmd())
	return next.(M)
}

func TestMenuPasswordChange(t *testing.T) {
	var gotCur, gotNext string
	cfg := MenuConfig{User: "alice", Assets: fixture(), Width: 80, Height: 24,
		ChangePassword: func(_ context.Context, cur, next string) error {
			gotCur, gotNext = cur, next
			if cur != "old-secret" {
				return errors.New("the current password is wrong")
			}
			return nil
		}}
	m, _ := press(t, NewMenu(cfg), "P")
	if m.state != statePassword {
		t.Fatalf("P opened %v", m.state)
	}
	// Different new passwords are refused before anything is called.
	m, _ = press(t, m, "old-secret", "enter", "new-secret-1", "enter", "new-secret-2", "enter")
	if !strings.Contains(plain(m), "The new passwords differ") || gotNext != "" {
		t.Fatalf("mismatch not caught:\n%s", plain(m))
	}
	if strings.Contains(plain(m), "new-secret") || strings.Contains(plain(m), "old-secret") {
		t.Fatalf("a password shows in clear:\n%s", plain(m))
	}
	m, cmd := press(t, m, "new-secret-1", "enter", "new-secret-1", "enter")
	m = runCmd(t, m, cmd)
	if gotCur != "old-secret" || gotNext != "new-secret-1" || m.state != stateList || !strings.Contains(plain(m), "Password changed.") {
		t.Fatalf("change: cur %q next %q state %v\n%s", gotCur, gotNext, m.state, plain(m))
	}
	// A wrong current password is shown in place and clears the form.
	m, _ = press(t, m, "P", "nope", "enter", "abcdefgh1", "enter", "abcdefgh1")
	m, cmd = press(t, m, "enter")
	m = runCmd(t, m, cmd)
	if m.state != statePassword || !strings.Contains(plain(m), "current password is wrong") || m.pw.focus != 0 {
		t.Fatalf("wrong current password:\n%s", plain(m))
	}
	m, _ = press(t, m, "esc")
	if m.state != stateList {
		t.Fatalf("esc left %v", m.state)
	}
}

func TestMenuKeys(t *testing.T) {
	keys := []store.UserKey{{Fingerprint: "SHA256:first", Type: "ssh-ed25519", Comment: "laptop"}}
	cfg := MenuConfig{User: "alice", Assets: fixture(), Width: 80, Height: 24,
		ListKeys: func(context.Context) ([]store.UserKey, error) { return keys, nil },
		AddKey: func(_ context.Context, line string) (store.UserKey, error) {
			if !strings.HasPrefix(line, "ssh-ed25519 ") {
				return store.UserKey{}, errors.New("not an OpenSSH public key")
			}
			k := store.UserKey{Fingerprint: "SHA256:second", Type: "ssh-ed25519", Comment: "desk"}
			keys = append(keys, k)
			return k, nil
		}}
	m, cmd := press(t, NewMenu(cfg), "K")
	m = runCmd(t, m, cmd)
	if m.state != stateKeys || !strings.Contains(plain(m), "SHA256:first") {
		t.Fatalf("keys screen:\n%s", plain(m))
	}
	m, _ = press(t, m, "a")
	next, _ := m.Update(tea.PasteMsg{Content: "garbage"})
	m = next.(Menu)
	m, cmd = press(t, m, "enter")
	m = runCmd(t, m, cmd)
	if !strings.Contains(plain(m), "not an OpenSSH public key") || !m.keyList.adding {
		t.Fatalf("bad key:\n%s", plain(m))
	}
	m, _ = press(t, m, "ctrl+u", "ssh-ed25519 AAAA desk")
	m, cmd = press(t, m, "enter")
	m = runCmd(t, m, cmd) // added
	if !m.keyList.busy {
		t.Fatal("the list is not reloaded after adding")
	}
	m = runCmd(t, m, m.loadKeys())
	if s := plain(m); !strings.Contains(s, "SHA256:second") || !strings.Contains(s, "Key added: SHA256:second") {
		t.Fatalf("after adding:\n%s", s)
	}
	m, _ = press(t, m, "esc")
	if m.state != stateList {
		t.Fatalf("esc left %v", m.state)
	}
	// Without the functions the keys only say so.
	m, _ = press(t, fixtureMenu(80, 24), "P")
	if m.state != stateList || !strings.Contains(plain(m), "not available") {
		t.Fatalf("P without ChangePassword:\n%s", plain(m))
	}
}

func TestMenuPickAccountOnly(t *testing.T) {
	var one []store.Access
	for _, a := range fixture() {
		if len(connectable(a.Accounts)) > 1 {
			one = append(one, a)
			break
		}
	}
	m := NewMenu(MenuConfig{User: "alice", Assets: one, PickAccount: true})
	if m.state != statePicker {
		t.Fatalf("PickAccount opened %v", m.state)
	}
	m2, _ := press(t, m, "down", "enter")
	if _, g, ok := m2.Choice(); !ok || g.Username != one[0].Accounts[1].Username && g.Username != connectable(one[0].Accounts)[1].Username {
		t.Fatalf("choice = %v %v", g, ok)
	}
	m3, cmd := press(t, m, "esc")
	if _, _, ok := m3.Choice(); ok || cmd == nil {
		t.Fatal("esc on the picker alone did not quit without a choice")
	}
}

func TestNoticeMsg(t *testing.T) {
	next, _ := fixtureMenu(80, 24).Update(NoticeMsg{Text: "jms: idle for 29m", Err: true})
	if !strings.Contains(plain(next), "idle for 29m") {
		t.Fatalf("notice not shown:\n%s", plain(next))
	}
	a, _ := NewAuditorMenu(auditorFixture()).Update(NoticeMsg{Text: "ends in 1m"})
	if !strings.Contains(plain(a), "ends in 1m") {
		t.Fatalf("auditor notice not shown:\n%s", plain(a))
	}
}
