package filter

import "testing"

// TestLineTrackerSurvivesBadScrollMargins: scroll margins below the
// screen, then a scroll, panicked the emulator in the goroutine that
// pumps the asset's output, which took the whole bastion down; any user
// could print them (printf '\e[1;200r\e[M').
func TestLineTrackerSurvivesBadScrollMargins(t *testing.T) {
	for _, bad := range []string{"\x1b[1;200r\x1b[M", "\x1b[1;200r\x1b[5S", "\x1b[2;25r\x1b[3L"} {
		lt := NewLineTracker(80, 24)
		lt.Output([]byte("$ "))
		lt.Input([]byte("x"))
		lt.Output([]byte("x"))
		lt.Input([]byte("\r"))
		lt.Output([]byte("\r\n" + bad + "$ "))
		lt.Input([]byte("y"))
		lt.Output([]byte("y\r\n" + bad + "$ "))
		lt.Input([]byte("ls"))
		lt.Output([]byte("ls"))
		if got := lt.Line(); got != "ls" {
			t.Errorf("%q: line %q, want ls", bad, got)
		}
	}
}
