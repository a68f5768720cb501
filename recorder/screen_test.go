package recorder

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func castOf(w, h int, events ...Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"version": 2, "width": %d, "height": %d}`+"\n", w, h)
	for _, ev := range events {
		b.WriteString(string(mustEventLine(ev)))
	}
	return b.String()
}

func mustEventLine(ev Event) []byte {
	b := []byte("[")
	b = fmt.Appendf(b, "%g, %q, ", ev.Time, ev.Type)
	b = appendJSONString(b, nil, []byte(ev.Data))
	return append(b, "]\n"...)
}

func TestScreenText(t *testing.T) {
	o := func(s string) Event { return Event{Time: 1, Type: "o", Data: s} }
	tests := []struct {
		name   string
		w, h   int
		events []Event
		want   string
	}{
		{"plain lines", 20, 5, []Event{o("hello\r\nworld   \r\n")}, "hello\nworld\n"},
		{"empty", 20, 5, nil, ""},
		{"clear screen", 20, 5, []Event{o("secret\r\n"), o("\x1b[2J\x1b[Hafter")}, "after\n"},
		{"carriage return overwrites", 20, 5, []Event{o("abc\rX")}, "Xbc\n"},
		{"cursor up and erase line", 20, 5, []Event{o("one\r\ntwo\r\n\x1b[1A\x1b[2Kthree")}, "one\nthree\n"},
		{"cursor position", 20, 5, []Event{o("\x1b[3;5Hmid\x1b[1;1Htop")}, "top\n\n    mid\n"},
		{"colours dropped", 20, 5, []Event{o("\x1b[1;31mred\x1b[0m plain")}, "red plain\n"},
		{"scrolls", 10, 2, []Event{o("a\r\nb\r\nc\r\nd")}, "c\nd\n"},
		{"wraps at width", 5, 3, []Event{o("abcdefgh")}, "abcde\nfgh\n"},
		{"backspace erase", 20, 5, []Event{o("passw\b \bd")}, "passd\n"},
		{"alt screen and back", 20, 5, []Event{o("shell$ "), o("\x1b[?1049hvim stuff"), o("\x1b[?1049l")}, "shell$\n"},
		{"resize event", 5, 3, []Event{{1, "r", "20x3"}, o("abcdefgh")}, "abcdefgh\n"},
		{"utf8 and wide", 20, 5, []Event{o("héllo 世界 😀")}, "héllo 世界 😀\n"},
		// Terminal queries make the emulator answer on its input pipe;
		// nobody reads it, so it must not block.
		{"queries answered into the void", 20, 5, []Event{o("\x1b[c\x1b[>c\x1b[6n\x1b[5n\x1b]10;?\x07\x1b[?2048hok")}, "ok\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader(castOf(tt.w, tt.h, tt.events...)))
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			var got string
			go func() {
				defer close(done)
				got, err = ScreenText(r, 0, 0)
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("ScreenText hangs")
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("screen\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestScreenTextSizeOverride(t *testing.T) {
	r, _ := NewReader(strings.NewReader(castOf(5, 2, Event{1, "o", "abcdefgh"})))
	got, err := ScreenText(r, 40, 10)
	if err != nil || got != "abcdefgh\n" {
		t.Errorf("ScreenText = %q, %v", got, err)
	}
	r, _ = NewReader(strings.NewReader(castOf(80, 24, Event{1, "o", "x"}) + `[2, "o"` + "\n" + `[3, "o", "y"]` + "\n"))
	if _, err := ScreenText(r, 0, 0); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("ScreenText of a bad file = %v", err)
	}
}

func TestScreenRender(t *testing.T) {
	s := NewScreen(0, 0)
	if w, h := s.Size(); w != DefaultWidth || h != DefaultHeight {
		t.Errorf("size %dx%d", w, h)
	}
	fmt.Fprint(s, "\x1b[31mred")
	if r := s.Render(); !strings.Contains(r, "red") || !strings.Contains(r, "\x1b[") {
		t.Errorf("Render = %q", r)
	}
}

// TestScreenSizeIsBounded: a recording made at an absurd size (the
// person's client chooses it) does not make an absurd emulator.
func TestScreenSizeIsBounded(t *testing.T) {
	s := NewScreen(1<<30, 1<<30)
	if w, h := s.Size(); w != MaxWidth || h != MaxHeight {
		t.Errorf("NewScreen(2^30, 2^30).Size() = %d×%d, want %d×%d", w, h, MaxWidth, MaxHeight)
	}
	s = NewScreen(80, 24)
	s.Apply(Event{Type: TypeResize, Data: "10000x10000"})
	if w, h := s.Size(); w != MaxWidth || h != MaxHeight {
		t.Errorf("after a 10000x10000 resize, Size() = %d×%d, want %d×%d", w, h, MaxWidth, MaxHeight)
	}
	s.Apply(Event{Type: TypeResize, Data: "100x30"})
	if w, h := s.Size(); w != 100 || h != 30 {
		t.Errorf("after a 100x30 resize, Size() = %d×%d", w, h)
	}
}

// TestScreenSurvivesBadScrollMargins: scroll margins below the screen
// made the emulator index past its buffer at the next scroll, a panic any
// user could print on an asset while an auditor watched or replayed.
func TestScreenSurvivesBadScrollMargins(t *testing.T) {
	for _, tt := range []struct{ out, want string }{
		{"keep\r\n\x1b[1;200r\x1b[M", "keep\n\nmore\n"},
		{"keep\r\n\x1b[1;200r\x1b[5S", "\n\nmore\n"}, // scrolls the whole screen
		{"keep\r\n\x1b[2;999r\x1b[3L", "keep\n\nmore\n"},
		{"keep\r\n\x1b[1;4r\x1b[M", "keep\n\nmore\n"}, // one more than the height
	} {
		s := NewScreen(10, 3)
		s.Write([]byte(tt.out))
		s.Apply(Event{Type: TypeOutput, Data: "\r\nmore"})
		if got := s.Text(); got != tt.want {
			t.Errorf("%q then more: screen %q, want %q", tt.out, got, tt.want)
		}
	}
}
