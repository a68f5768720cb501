package filter

import (
	"regexp"
	"strings"
)

// maxTyped bounds the keystrokes of one line kept for when the echo is
// missing.
const maxTyped = 64 << 10

// Submission is what an Enter (or a key that may act as one) submits, in
// every reading worth judging. A careful proxy judges all of Readings and
// keeps the worst verdict.
type Submission struct {
	// Line is the line as the audit records it: as the screen shows it,
	// or as typed when the screen shows nothing of it (Unechoed).
	Line string
	// Readings are Line; the whole screen line when the tracker is not
	// sure where the prompt ends; the keystrokes typed (cooked: backspace,
	// ^U, ^W applied) when the echo does not match them; and Command.
	Readings []string
	// Command is Line joined with the earlier lines of the same command
	// when the shell read it over several lines (a trailing backslash,
	// open quotes, a here-document); "" otherwise.
	Command string
	// Pending: the shell reads on; the command is not complete yet.
	Pending bool
	// Unechoed: something was typed and the screen shows none of it (a
	// prompt that does not echo, or input after stty -echo).
	Unechoed bool
	// Secret: Unechoed at a prompt that asks for a password, a
	// passphrase or a code, or that is not a shell's: the typed text must
	// not be shown or recorded.
	Secret bool
}

// secretWords match the text of a prompt that asks for a secret.
var secretWords = regexp.MustCompile(`(?i)pass(word|phrase|code)|\bpin\b|secret|\botp\b|token|verification code`)

// secretPrompt reports whether what is typed now, unechoed, may be a
// secret: the prompt asks for one, or it does not look like a shell's
// prompt (user@host:dir$ , # , % , > ).
func (t *LineTracker) secretPrompt() bool {
	return secretWords.MatchString(t.promptText) || !promptLike.MatchString(t.promptText)
}

// Line returns the command line as the screen shows it now, without the
// prompt: what Enter submits. It is empty in a full-screen program. Called
// after a Submit segment (read it once: Line or Submitted),
// it also ends the line: output from then on is the command's.
func (t *LineTracker) Line() string {
	return t.Submitted().Line
}

// Submitted reads the line an Enter submits and ends it (see Line).
func (t *LineTracker) Submitted() Submission {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.alt {
		return Submission{}
	}
	defer t.afterRead()
	sub := t.submission()
	t.typed = t.typed[:0]
	if sub.Secret {
		return sub
	}
	held := t.cont.Held()
	_, complete := t.cont.Add(sub.Line)
	if t.cont.Size() > maxJoined {
		t.cont.Reset()
	}
	if held != "" {
		sub.Command = held + "\n" + sub.Line
		sub.Readings = append(sub.Readings, sub.Command)
	}
	sub.Pending = !complete
	return sub
}

// Peek reads the line as it stands, for a Probe, without ending it. It
// remembers the line: if the Probe key turns out to have submitted it, the
// next Input hands it back in a Ran segment.
func (t *LineTracker) Peek() Submission {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.alt {
		return Submission{}
	}
	sub := t.submission()
	if held := t.cont.Held(); held != "" && !sub.Secret {
		sub.Command = held + "\n" + sub.Line
		sub.Readings = append(sub.Readings, sub.Command)
	}
	t.probeLine = sub.Line
	if sub.Secret {
		t.probeLine = ""
	}
	return sub
}

// Cancel tells the tracker that the proxy cancelled the line (sent
// [CancelLine] instead of its Enter or Probe key): the shell drops the
// command, also the earlier lines of a continuation, and prints a fresh
// prompt.
func (t *LineTracker) Cancel() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cont.Reset()
	t.probe = false
	t.probeLine = ""
	t.fresh = true
}

// afterRead ends the line once the proxy has read a submitted line: what
// follows is the command's output, which need not be emulated.
func (t *LineTracker) afterRead() {
	t.wide = false
	if t.submitted {
		t.submitted = false
		t.fresh = true
	}
}

// Forget drops the lines the tracker holds joined: the proxy sent none of
// a paste that held them.
func (t *LineTracker) Forget() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cont.Reset()
}

// submission reads the line in all its readings.
func (t *LineTracker) submission() Submission {
	line, sure := t.read()
	sub := Submission{Line: line, Readings: []string{line}}
	if !sure || t.wide {
		y0, _ := t.logicalLine(t.screen().CursorPosition().Y)
		if whole := t.span(y0, 0); whole != line {
			sub.Readings = append(sub.Readings, whole)
		}
	}
	typed := cook(string(t.typed))
	switch {
	case strings.TrimSpace(typed) == "" || typed == line:
	case strings.TrimSpace(line) == "":
		sub.Unechoed = true
		sub.Secret = t.secretPrompt()
		sub.Line = typed
		sub.Readings = append(sub.Readings, typed)
	default:
		sub.Readings = append(sub.Readings, typed)
	}
	return sub
}

// addTyped keeps the keystrokes forwarded for the current line.
func (t *LineTracker) addTyped(p []byte) {
	if len(t.typed)+len(p) <= maxTyped {
		t.typed = append(t.typed, p...)
	}
}

// checkProbe looks, at the first keystroke after a Probe, whether the Probe
// key submitted the line: the cursor left the line, or the prompt before
// it changed. Then the line ended: a Ran segment reports it, and the next
// line is anchored afresh.
func (t *LineTracker) checkProbe() []Segment {
	t.probe = false
	if t.fresh || !t.lineEnded() {
		return nil
	}
	t.fresh = true
	t.wide = true // should the guess be wrong, the whole row is judged too
	t.typed = t.typed[:0]
	line := t.probeLine
	t.probeLine = ""
	if strings.TrimSpace(line) == "" {
		return nil
	}
	t.cont.Add(line)
	if t.cont.Size() > maxJoined {
		t.cont.Reset()
	}
	return []Segment{{Kind: Ran, Lines: []string{line}}}
}

// lineEnded reports whether the line being edited is no longer where the
// cursor is.
func (t *LineTracker) lineEnded() bool {
	if !t.anchorOK || t.anchor.Y < 0 {
		// Lost track (a clear screen, a scroll): the line is read off
		// the cursor's row at the next Enter anyway.
		return false
	}
	cur := t.screen().CursorPosition()
	_, last := t.logicalLine(t.anchor.Y)
	if cur.Y < t.anchor.Y || cur.Y > last {
		return true
	}
	return strings.TrimLeft(t.rowText(t.anchor.Y, 0, t.anchor.X), " ") != t.promptText
}
