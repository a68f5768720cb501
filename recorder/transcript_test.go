package recorder

import (
	"strings"
	"testing"
)

func transcriptOf(t testing.TB, cast string, from float64) string {
	t.Helper()
	r, err := NewReader(strings.NewReader(cast))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := Transcript(&b, r, from); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestTranscript(t *testing.T) {
	o := func(at float64, s string) Event { return Event{Time: at, Type: "o", Data: s} }
	many := strings.Repeat("line\r\n", 25000) + "end"
	tests := []struct {
		name   string
		w, h   int
		from   float64
		events []Event
		want   string
	}{
		{"empty", 20, 3, 0, nil, ""},
		{"fits the screen", 20, 3, 0, []Event{o(1, "hello\r\nworld   ")}, "hello\nworld\n"},
		{"scrolled lines first, in order", 20, 3, 0,
			[]Event{o(1, "one\r\ntwo\r\nERROR three\r\nfour\r\n"), o(2, "five")},
			"one\ntwo\nERROR three\nfour\nfive\n"},
		{"clear keeps what was on screen", 20, 5, 0,
			[]Event{o(1, "ERROR: disk full\r\n$ "), o(2, "clear\r\n\x1b[H\x1b[2J$ ls\r\nfile")},
			"ERROR: disk full\n$ clear\n$ ls\nfile\n"},
		{"carriage return overwrites", 20, 3, 0, []Event{o(1, "10%\r50%\r100%\r\nok")}, "100%\nok\n"},
		{"colours dropped", 20, 3, 0, []Event{o(1, "\x1b[1;31mred\x1b[0m plain\r\n\r\n\r\n\r\n")}, "red plain\n\n"},
		{"from: the screen then and what follows", 20, 3, 2,
			[]Event{o(1, "a\r\nb\r\nc\r\nd\r\n"), o(2, "e\r\n"), o(3, "f\r\ng")},
			"c\nd\ne\nf\ng\n"},
		{"more lines in one event than a scrollback holds", 20, 3, 0, []Event{o(1, many)},
			strings.Repeat("line\n", 25000) + "end\n"},
		{"resize", 5, 2, 0, []Event{o(1, "ab\r\n"), {Time: 2, Type: "r", Data: "10x2"}, o(3, "cdefghi\r\nj")},
			"ab\ncdefghi\nj\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := transcriptOf(t, castOf(tt.w, tt.h, tt.events...), tt.from)
			if got != tt.want {
				if len(got) > 400 {
					t.Fatalf("got %d bytes, want %d", len(got), len(tt.want))
				}
				t.Fatalf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// FuzzTranscript feeds any output to Transcript: it must not fail or
// panic, and what it writes is lines of text with no control character.
func FuzzTranscript(f *testing.F) {
	f.Add("one\r\ntwo\r\n\x1b[2J\x1b[Hthree", 10, 3)
	f.Add("\x1b[?1049hvim\x1b[?1049l\r\n\x1b]0;title\x07\x9b31m", 80, 24)
	f.Add(strings.Repeat("x", 300)+"\r\n\x1b[1;200r\x1b[M\x1b[5S", 4, 2)
	f.Fuzz(func(t *testing.T, data string, w, h int) {
		w, h = 1+int(uint(w)%120), 1+int(uint(h)%50)
		got := transcriptOf(t, castOf(w, h, Event{Time: 1, Type: "o", Data: data}), 0)
		if got != "" && !strings.HasSuffix(got, "\n") {
			t.Fatalf("transcript does not end a line: %q", got)
		}
		for _, r := range got {
			if r < 0x20 && r != '\n' || r == 0x7f || r >= 0x80 && r < 0xa0 {
				t.Fatalf("control character %U in %q", r, got)
			}
		}
	})
}
