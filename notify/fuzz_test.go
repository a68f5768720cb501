package notify

import (
	"strings"
	"testing"
)

// FuzzRenderTicketMail: what people type (a command, a reason) and names reach the templates;
// whatever they hold, a mail renders, its subject is one line (no header injection) and the
// HTML part carries no markup of theirs.
func FuzzRenderTicketMail(f *testing.F) {
	f.Add("rm -rf /", "alice", "web1")
	f.Add("<script>alert(1)</script>", "a\r\nBcc: x@evil", "w\x1b[2J")
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, command, user, asset string) {
		data := map[string]any{"Ticket": "7", "User": user, "Asset": asset, "Account": "root", "Command": command,
			"Filter": "f", "Session": "s", "Approve": "jmsctl ticket approve 7", "Reject": "jmsctl ticket reject 7",
			"Status": "rejected", "DecidedBy": "boss", "Reason": command, "Bastion": "", "At": "now", "Actor": user, "Name": user}
		for _, lang := range Languages {
			for _, name := range []string{"ticket_open", "ticket_decided"} {
				m, err := Templates{Language: lang}.Render(name, "a@example.com", data)
				if err != nil {
					t.Fatalf("%s/%s: %v", lang, name, err)
				}
				if s := strings.TrimSuffix(m.Subject, "\n"); strings.ContainsAny(s, "\r\n") {
					t.Fatalf("subject %q spans lines", m.Subject)
				}
				if strings.Contains(command, "<") && strings.Contains(m.HTML, command) {
					t.Fatalf("the HTML part holds the command unescaped: %q", m.HTML)
				}
			}
		}
	})
}
