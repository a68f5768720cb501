package store

import (
	"strings"
	"testing"
)

// TestParseTimeRangeErrors (issue 11): every refusal names the accepted
// syntax with a working example, and a near miss names the form it
// most likely means.
func TestParseTimeRangeErrors(t *testing.T) {
	for _, tc := range []struct {
		in      string
		suggest string // "" when nothing is close
	}{
		{"Mon-Fri 8-20", "Mon-Fri 08:00-20:00"},
		{"Mon-Fri 08-20", "Mon-Fri 08:00-20:00"},
		{"8-20", "08:00-20:00"},
		{"9am-5pm", "09:00-17:00"},
		{"Mon-Fri 9am-5:30pm", "Mon-Fri 09:00-17:30"},
		{"12am-12pm", "00:00-12:00"},
		{"Mon-Fri 08:00 - 20:00", "Mon-Fri 08:00-20:00"},
		{"Mon - Fri 08:00-20:00", "Mon-Fri 08:00-20:00"},
		{"Mon-Fri 8h-20h", "Mon-Fri 08:00-20:00"},
		{"Mon-Fri 8.30-20.00", "Mon-Fri 08:30-20:00"},
		{"weekdays 08:00-18:00", "Mon-Fri 08:00-18:00"},
		{"weekend", "Sun,Sat"},
		{"Sat, Sun", "Sun,Sat"},
		{"Mon-Fri 08:00 to 20:00", "Mon-Fri 08:00-20:00"},
		{"Mon 25:00-26:00", ""},
		{"Mon 08:00-08:00", ""},
		{"Someday", ""},
		{"", ""},
		{"Mon-Fri 08:00", ""},
		{"Mon-Fri 08:+5-20:00", ""},
		{"13pm-14pm", ""},
	} {
		_, err := ParseTimeRange(tc.in)
		if err == nil {
			t.Errorf("%q: accepted", tc.in)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, `"DAYS HH:MM-HH:MM"`) || !strings.Contains(msg, `e.g. "Mon-Fri 08:00-20:00"`) {
			t.Errorf("%q: the error does not name the syntax: %s", tc.in, msg)
		}
		got := ""
		if _, after, ok := strings.Cut(msg, "did you mean "); ok {
			got, _, _ = strings.Cut(after, "?")
			got = strings.Trim(got, `"`)
		}
		if got != tc.suggest {
			t.Errorf("%q: suggests %q, want %q: %s", tc.in, got, tc.suggest, msg)
		}
	}
	// The example in the message works.
	if _, err := ParseTimeRange("Mon-Fri 08:00-20:00"); err != nil {
		t.Fatal(err)
	}
}

// TestParseSourceErrors (issue 11): a CIDR with host bits is refused
// with the network it may mean; near misses name their CIDR.
func TestParseSourceErrors(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want: the canonical form, or a piece of the error
		ok       bool
	}{
		{"10.0.0.0/8", "10.0.0.0/8", true},
		{" 10.0.0.1 ", "10.0.0.1/32", true},
		{"2001:db8::/32", "2001:db8::/32", true},
		{"2001:db8::1", "2001:db8::1/128", true},
		{"::ffff:10.0.0.1", "10.0.0.1/32", true},
		{"10.0.0.1/8", `source "10.0.0.1/8" has host bits set: did you mean 10.0.0.0/8? (or 10.0.0.1/32 for that one address)`, false},
		{"2001:db8::1/32", "did you mean 2001:db8::/32?", false},
		{"10.0.0.0/255.0.0.0", "did you mean 10.0.0.0/8?", false},
		{"192.168.1.0/255.255.255.0", "did you mean 192.168.1.0/24?", false},
		{"10.1.*.*", "did you mean 10.1.0.0/16?", false},
		{"10.0.0.0 / 8", "did you mean 10.0.0.0/8?", false},
		{"10.0.0.300", "want a CIDR such as 10.0.0.0/8", false},
		{"10.*.0.1", "want a CIDR such as 10.0.0.0/8", false},
		{"1.2.3.4/0.255.0.0", "want a CIDR such as 10.0.0.0/8", false},
		{"10.0.0.0/33", "want a CIDR such as 10.0.0.0/8", false},
		{"", "want a CIDR such as 10.0.0.0/8", false},
	} {
		p, err := ParseSource(tc.in)
		switch {
		case tc.ok && (err != nil || p.String() != tc.want):
			t.Errorf("%q: %v %v, want %s", tc.in, p, err, tc.want)
		case !tc.ok && err == nil:
			t.Errorf("%q: accepted as %v", tc.in, p)
		case !tc.ok && !strings.Contains(err.Error(), tc.want):
			t.Errorf("%q: %v, want it to say %q", tc.in, err, tc.want)
		}
		if (tc.in == "10.0.0.300" || tc.in == "1.2.3.4/0.255.0.0") && strings.Contains(err.Error(), "did you mean") {
			t.Errorf("%q: suggests something: %v", tc.in, err)
		}
	}
}

// FuzzParseTimeRange: no input panics; what parses prints a form that
// parses to the same range; what fails names the syntax, and any form it
// suggests parses.
func FuzzParseTimeRange(f *testing.F) {
	for _, s := range []string{"Mon-Fri 08:00-20:00", "Mon-Fri 8-20", "9am-5pm", "weekend", "22:00-06:00",
		"Sat,Sun", "Mon - Fri 8h-20h", "12:30pm-1a", "\x00", "24:00-00:00", "mon-fri,sat 1.5-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tr, err := ParseTimeRange(s)
		if err != nil {
			msg := err.Error()
			if !strings.Contains(msg, timeSyntax) {
				t.Fatalf("%q: %s", s, msg)
			}
			if alt, ok := suggestTimeRange(s); ok {
				if _, err := ParseTimeRange(alt); err != nil {
					t.Fatalf("%q: suggested %q, which fails: %v", s, alt, err)
				}
			}
			return
		}
		again, err := ParseTimeRange(tr.String())
		if err != nil || again != tr {
			t.Fatalf("%q: %q parses to %+v, %v; want %+v", s, tr.String(), again, err, tr)
		}
		short, err := ParseTimeRange(tr.short())
		if err != nil || short != tr {
			t.Fatalf("%q: %q parses to %+v, %v; want %+v", s, tr.short(), short, err, tr)
		}
	})
}

// FuzzParseSource: no input panics; what parses is a masked prefix that
// parses to itself; a suggestion parses.
func FuzzParseSource(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "10.0.0.1/8", "10.0.0.1", "2001:db8::1/32", "10.0.0.0/255.0.0.0",
		"10.1.*.*", "::ffff:1.2.3.4", "fe80::1%eth0", "1.2.3.4/0.255.0.0", " / ", "*.*.*.*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseSource(s)
		if err != nil {
			if alt, ok := suggestSource(s); ok {
				if _, err := ParseSource(alt); err != nil {
					t.Fatalf("%q: suggested %q, which fails: %v", s, alt, err)
				}
			}
			return
		}
		if p.Masked() != p {
			t.Fatalf("%q: %v has host bits", s, p)
		}
		again, err := ParseSource(p.String())
		if err != nil || again != p {
			t.Fatalf("%q: %v parses to %v, %v", s, p, again, err)
		}
	})
}
