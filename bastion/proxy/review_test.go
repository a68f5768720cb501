package proxy

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/jms-bastion/jms/store"
)

func TestDecisionNotice(t *testing.T) {
	long := strings.Repeat("é", 150) // 300 bytes
	tests := []struct {
		name string
		d    store.TicketDecision
		want string
	}{
		{"rejected with a reason", store.TicketDecision{Status: store.TicketRejected, DecidedBy: "os:root", Reason: "not during the freeze"},
			"jms: ticket 2 rejected by os:root (not during the freeze): command not run"},
		{"rejected without", store.TicketDecision{Status: store.TicketRejected, DecidedBy: "os:root"},
			"jms: ticket 2 rejected by os:root: command not run"},
		{"approved with a reason", store.TicketDecision{Status: store.TicketApproved, DecidedBy: "carol", Reason: "ok once"},
			"jms: ticket 2 approved by carol (ok once)"},
		{"no name", store.TicketDecision{Status: store.TicketRejected}, "jms: ticket 2 rejected by an admin: command not run"},
		{"escapes", store.TicketDecision{Status: store.TicketRejected, DecidedBy: "a\x1b]0;x\a", Reason: "no\r\n\x1b[2Jway\u202e"},
			`jms: ticket 2 rejected by a\x1b]0;x\x07 (no\r\n\x1b[2Jway\u202e): command not run`},
		{"long reason cut on a rune", store.TicketDecision{Status: store.TicketRejected, DecidedBy: "carol", Reason: long},
			"jms: ticket 2 rejected by carol (" + strings.Repeat("é", 100) + "…): command not run"},
		{"canceled", store.TicketDecision{Status: store.TicketCanceled}, "jms: ticket 2 canceled: command not run"},
	}
	for _, tt := range tests {
		if got := decisionNotice(2, tt.d); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

// FuzzDecisionNotice: whatever an admin types as the name or the reason,
// the line the person's terminal gets holds no control character, no
// bidi override and no invalid UTF-8.
func FuzzDecisionNotice(f *testing.F) {
	for _, s := range []string{"not now", "\x1b[2J", "\x9b31m", "a\u202eb", "\xff\xfe", strings.Repeat("é", 150), "\r\n"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, by, reason string) {
		for _, status := range []string{store.TicketRejected, store.TicketApproved} {
			got := decisionNotice(7, store.TicketDecision{Status: status, DecidedBy: by, Reason: reason})
			if !utf8.ValidString(got) {
				t.Fatalf("invalid UTF-8: %q", got)
			}
			for _, r := range got {
				if r < 0x20 || (r >= 0x7f && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
					t.Fatalf("%U in %q", r, got)
				}
			}
		}
	})
}
