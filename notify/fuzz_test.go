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

// FuzzRenderAdminEventMails: an asset's stderr (a failed push or
// rotation) and an object store's error reach the admins' mails; a
// compromised asset must not put markup in the HTML part or lines in
// the subject.
func FuzzRenderAdminEventMails(f *testing.F) {
	f.Add("failed: set: chpasswd: exit status 1", "app", "web1")
	f.Add("<img src=x onerror=alert(1)>", "a\r\nBcc: x@evil", "w\x1b[2J")
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, why, account, asset string) {
		data := map[string]any{"Action": "rotation", "Asset": asset, "Account": account, "Template": "", "Result": why,
			"Retry": "jmsctl account rotate x y", "Node": asset, "Store": "s3://rec", "Error": why, "Waiting": "16m0s",
			"SpoolBytes": "1", "Reason": why, "Sessions": "0", "Bastion": "", "At": "now", "Actor": "bastion", "Name": "boss"}
		for _, lang := range Languages {
			for _, name := range []string{"account_failed", "upload_failing", "upload_behind", "node_gone"} {
				m, err := Templates{Language: lang}.Render(name, "a@example.com", data)
				if err != nil {
					t.Fatalf("%s/%s: %v", lang, name, err)
				}
				if s := strings.TrimSuffix(m.Subject, "\n"); strings.ContainsAny(s, "\r\n") {
					t.Fatalf("subject %q spans lines", m.Subject)
				}
				if strings.Contains(why, "<") && strings.Contains(m.HTML, why) {
					t.Fatalf("the HTML part holds the error unescaped: %q", m.HTML)
				}
			}
		}
	})
}
