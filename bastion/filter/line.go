package filter

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"
)

// CancelLine is what the proxy sends to the asset instead of a denied
// line's Enter: ^C, which makes bash, zsh and readline programs drop the
// line and print a fresh prompt, and makes the tty driver of a shell without
// line editing (sh, dash) discard its buffered line.
var CancelLine = []byte{0x03}

// SegmentKind says what the proxy should do with a [Segment].
type SegmentKind int

const (
	// Forward: send Data to the asset now.
	Forward SegmentKind = iota + 1
	// Submit: Data is the Enter that submits the line at the prompt.
	// Wait for the echo ([LineTracker.WaitEcho]), judge
	// [LineTracker.Line], then send Data if allowed, or [CancelLine] if
	// not.
	Submit
	// Paste: Data is text holding one or more line breaks (a bracketed
	// paste, or several lines arriving at once). Judge every line in
	// Lines and every command in Joined before sending any of Data; send
	// all of it or none.
	Paste
	// Probe: Data is a control key that a shell may have bound to
	// accept-line (bind '"\C-t": accept-line'). Wait for the echo, judge
	// [LineTracker.Peek] as for a Submit, then send Data if allowed, or
	// [CancelLine] if not; the line goes on unless the asset's output
	// shows that the key submitted it (then a Ran segment follows).
	Probe
	// Ran: a line that a Probe key submitted, found when the next key
	// arrives; Lines holds it, for the audit. Nothing is to be sent.
	Ran
)

// Segment is a piece of the user's input, in order.
type Segment struct {
	Kind  SegmentKind
	Data  []byte
	Lines []string // Paste: the lines it holds, the first one completed by what is already on the prompt line; Ran: the line
	// TooLong (Paste): a bracketed paste of over 1 MiB without its end,
	// too long to judge: refuse it. Data is empty; the tracker skips the
	// rest of it.
	TooLong bool
	// Secret (Paste): pasted at a prompt that asks for a secret, with
	// nothing typed before it: the lines must not be shown or recorded.
	Secret bool
	// Joined (Paste): the commands that span several of Lines (a
	// continuation), joined, to be judged as well.
	Joined []string
}

// maxPaste bounds how much of a bracketed paste is held back for judging.
// A longer paste cannot be judged: it is refused whole (see TooLong), or
// passed on when the session has no filters (see Unfiltered).
const maxPaste = 1 << 20

// tailKeep is how much output, kept while not editing a line, is replayed
// at the first keystroke: enough for the prompt and the lines above it.
const tailKeep = 1 << 10

// tailFeed is how much of a large output chunk the emulator reads when the
// user is not at a prompt; the rest is only scanned for the switches to and
// from the alternate screen.
const tailFeed = 2 << 10

// LineTracker reconstructs the command line a user submits at a shell
// prompt of an interactive session, from what she types and what the asset
// echoes. The asset's output runs through a terminal emulator; when she
// presses Enter, the line is read off the screen: from where the cursor
// stood at her first keystroke of the line (the end of the prompt) to the
// end of the logical line (over wrapped rows). Whatever editing produced it
// (backspace, ^U, ^W, arrows, ^A/^E, history recall, tab completion), the
// echo shows the final line. The keystrokes are kept too, for a line the
// echo does not show (stty -echo); the earlier lines of a command the shell
// reads on (a continuation) are joined to it; a control key that a shell
// may bind to accept-line is a Probe (see [Submission]).
//
// While the asset is on the alternate screen (vim, less, top, htop …) the
// tracker stands aside: AtPrompt is false and Input forwards everything.
//
// A LineTracker is safe for use by two goroutines: one feeding Input (and
// handling its segments), one feeding Output.
type LineTracker struct {
	mu  sync.Mutex
	emu *vt.Emulator
	w   int
	h   int

	alt bool // alternate screen active

	fresh      bool // no keystroke yet since the last submitted line
	anchorOK   bool
	anchor     uv.Position
	promptText string // screen text left of the anchor on its row
	lastPrompt string // the prompt text of the previous line

	echoPending bool          // input forwarded since the last output
	outCh       chan struct{} // signalled on output

	carry   []byte // an escape sequence in the input split across chunks
	paste   []byte // a bracketed paste being held back
	pastes  bool
	skip    bool   // the rest of a paste too long to judge is being skipped
	skipEnd []byte // the last bytes skipped, to find its end across chunks
	pass    bool   // no filters: a paste too long to judge is passed on
	partial bool   // the line holds text sent along with earlier lines

	submitted bool // a Submit was handed out; the line is read once more

	typed []byte // the keystrokes of the line, for when the echo is missing
	cont  Joiner // the earlier lines of a command the shell still reads

	probe     bool   // a Probe was handed out: the line may have ended
	probeLine string // the line as it stood at the Probe
	wide      bool   // the anchor may not be the prompt's end: judge the whole line too

	tail    []byte // output not yet emulated (see Output)
	tailCut bool   // tail lost its beginning, or the screen was switched
	edge    []byte // the last bytes scanned, for switches split across chunks
}

// The emulator's size is bounded whatever the client asks for: each
// cell costs about 220 bytes, so a 10000×10000 PTY request would make a
// session allocate gigabytes. Past these bounds lines wrap here sooner
// than on the person's screen, which no real terminal reaches.
const (
	maxTrackerCols = 500
	maxTrackerRows = 200
)

// trackerSize bounds a PTY size to what the tracker emulates.
func trackerSize(w, h int) (int, int) {
	return min(max(w, 2), maxTrackerCols), min(max(h, 2), maxTrackerRows)
}

// NewLineTracker returns a tracker for a session of w×h cells.
func NewLineTracker(w, h int) *LineTracker {
	w, h = trackerSize(w, h)
	return &LineTracker{w: w, h: h, fresh: true, outCh: make(chan struct{}, 1)}
}

// screen returns the terminal emulator, made at its first use. An
// emulator holds a 4 MiB parser buffer and two screens: a session that
// is opened and left idle, or that only ever runs full-screen programs,
// never pays for one.
func (t *LineTracker) screen() *vt.Emulator {
	if t.emu == nil {
		t.emu = vt.NewEmulator(t.w, t.h)
		// The emulator answers queries (cursor position, device
		// attributes) on a pipe nobody reads here; closing it makes
		// those answers fail at once instead of blocking Write.
		if pw, ok := t.emu.InputPipe().(*io.PipeWriter); ok {
			_ = pw.Close()
		}
		t.emu.SetScrollbackSize(2 * t.h)
		// Scroll margins below the screen are ignored (vt v0.1.0 takes
		// them and panics at the next scroll, in the goroutine that pumps
		// the asset's output: printf '\e[1;200r\e[M' took the bastion
		// down). The same guard as recorder.NewScreen's.
		emu := t.emu
		emu.RegisterCsiHandler('r', func(params ansi.Params) bool {
			bottom, _, _ := params.Param(1, 0)
			return bottom > emu.Height()
		})
	}
	return t.emu
}

// Resize follows a window change of the session.
func (t *LineTracker) Resize(w, h int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	w, h = trackerSize(w, h)
	t.w, t.h = w, h
	if t.emu != nil {
		t.emu.Resize(w, h)
		t.emu.SetScrollbackSize(2 * h)
	}
	// Rows re-flow in the user's terminal but not here: the anchor no
	// longer points anywhere trustworthy.
	t.anchorOK = false
}

// AtPrompt reports whether the session is at a line-oriented prompt, that
// is not inside a full-screen program.
func (t *LineTracker) AtPrompt() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return !t.alt
}

// Output feeds bytes the asset sent to the user.
//
// The emulator only reads what can matter for the next line. While a
// command runs (from a submitted line to the next keystroke) and while a
// full-screen program runs, output is only scanned for switches to and from
// the alternate screen and its last tailKeep bytes kept; the first
// keystroke of the next line replays that tail on a cleared screen, which
// puts the prompt where the user sees it. While a line is being edited,
// everything is emulated, except that of a large chunk only the end is.
func (t *LineTracker) Output(p []byte) {
	if len(p) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.echoPending = false
	select {
	case t.outCh <- struct{}{}:
	default:
	}
	if t.fresh || t.alt {
		t.scanSwitches(p)
		return
	}
	if len(p) > tailFeed {
		cut := len(p) - tailFeed
		if nl := bytes.IndexByte(p[cut:], '\n'); nl >= 0 {
			cut += nl + 1
		}
		t.tail = t.tail[:0]
		t.scanSwitches(p)
		if t.alt || t.fresh {
			return
		}
		t.tail = t.tail[:0]
		_, _ = t.screen().Write([]byte("\r\n"))
		p = p[cut:]
	}
	t.emulate(p)
}

// emulate runs p through the emulator, following scrolls with the anchor.
func (t *LineTracker) emulate(p []byte) {
	before := t.screen().ScrollbackLen()
	_, _ = t.screen().Write(p)
	if n := t.screen().ScrollbackLen(); n > 0 {
		if n >= 2*t.h || n < before {
			t.anchorOK = false
		}
		t.anchor.Y -= n - before
		if t.anchor.Y < 0 {
			t.anchorOK = false
		}
		t.screen().ClearScrollback()
	}
}

var altSwitch = regexp.MustCompile(`\x1b\[\?(?:1049|1047|47)[hl]`)

// scanSwitches follows the alternate screen through p without emulating
// it, and keeps the tail of what the main screen shows.
func (t *LineTracker) scanSwitches(p []byte) {
	junction := append(bytes.Clone(t.edge), p[:min(len(p), 8)]...)
	if bytes.Contains(p, []byte("\x1b[?")) || bytes.Contains(junction, []byte("\x1b[?")) {
		scan := append(bytes.Clone(t.edge), p...)
		last := -1
		for _, m := range altSwitch.FindAllIndex(scan, -1) {
			on := scan[m[1]-1] == 'h'
			if on != t.alt {
				t.alt = on
				if !on {
					t.fresh = true
					t.anchorOK = false
				}
			}
			last = m[1]
		}
		if last >= 0 {
			// What follows the last switch is the screen now shown.
			t.tail = t.tail[:0]
			t.tailCut = !t.alt
			p = scan[max(last, len(t.edge)):]
		}
	}
	// Keep a few bytes to find a switch split across chunks.
	t.edge = append(t.edge[:0], p[max(0, len(p)-8):]...)
	if t.alt {
		return
	}
	t.tail = append(t.tail, p...)
	if len(t.tail) > 2*tailKeep {
		t.tail = append(t.tail[:0], t.tail[len(t.tail)-tailKeep:]...)
		t.tailCut = true
	}
}

// replayTail brings the emulator up to date with the kept tail of output.
func (t *LineTracker) replayTail() {
	tail := t.tail
	if len(tail) > tailKeep {
		tail = tail[len(tail)-tailKeep:]
		t.tailCut = true
	}
	if t.tailCut {
		if nl := bytes.IndexByte(tail, '\n'); nl >= 0 && len(tail) >= tailKeep {
			tail = tail[nl+1:]
		}
		_, _ = t.screen().Write([]byte("\x1b[0m\x1b[H\x1b[2J"))
	}
	t.emulate(tail)
	t.tail = t.tail[:0]
	t.tailCut = false
}

// Input takes a chunk the user typed and returns what to do with it, in
// order. The tracker assumes each Submit and Paste segment is handled (sent
// or cancelled) before the next call to Input. An escape sequence split
// across chunks is held back until it is complete; a bracketed paste is held
// back until its end arrives.
func (t *LineTracker) Input(p []byte) []Segment {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.input(p)
}

func (t *LineTracker) input(p []byte) []Segment {
	if len(p) == 0 {
		return nil
	}
	if t.alt {
		data := append(t.carry, p...)
		t.carry = nil
		return []Segment{{Kind: Forward, Data: data}}
	}
	if t.skip {
		return t.skipPaste(p)
	}
	if t.pastes {
		return t.continuePaste(p)
	}
	if len(t.carry) > 0 {
		p = append(t.carry, p...)
		t.carry = nil
	}
	if t.submitted {
		t.submitted = false
		t.fresh = true
	}
	var segs []Segment
	if t.probe {
		segs = t.checkProbe()
	}
	if t.fresh {
		t.setAnchor()
	}
	if bytes.IndexByte(p, 0x03) >= 0 {
		t.cont.Reset() // ^C drops a command the shell was reading on
	}

	start := 0
	flush := func(end int) {
		if end > start {
			segs = append(segs, Segment{Kind: Forward, Data: bytes.Clone(p[start:end])})
			t.addTyped(p[start:end])
			t.echoPending = true
		}
		start = end
	}
	for i := 0; i < len(p); {
		c := p[i]
		if c == 0x1b {
			n, enter := escLen(p[i:])
			if n == 0 {
				// Incomplete: keep it for the next chunk.
				flush(i)
				t.carry = bytes.Clone(p[i:])
				return segs
			}
			seq := p[i : i+n]
			switch {
			case string(seq) == pasteStart:
				flush(i)
				return append(segs, t.continuePaste(p[i:])...)
			case enter:
				if hasMore(p[i+n:]) {
					return append(segs, t.multiLine(p[start:]))
				}
				flush(i)
				segs = append(segs, Segment{Kind: Submit, Data: bytes.Clone(seq)})
				start = i + n
				t.submitted = true
			case n == 2:
				// A meta key (Alt-x): one a shell may bind to
				// accept-line. Arrows and function keys (CSI, SS3)
				// are not treated so.
				flush(i)
				segs = append(segs, Segment{Kind: Probe, Data: bytes.Clone(seq)})
				start = i + n
				t.probe = true
			}
			i += n
			continue
		}
		switch {
		case isEnter(c):
			if hasMore(p[i+1:]) {
				return append(segs, t.multiLine(p[start:]))
			}
			flush(i)
			segs = append(segs, Segment{Kind: Submit, Data: []byte{c}})
			start = i + 1
			t.submitted = true
		case mayAccept(c):
			flush(i)
			segs = append(segs, Segment{Kind: Probe, Data: []byte{c}})
			start = i + 1
			t.probe = true
		}
		i++
	}
	flush(len(p))
	return segs
}

const (
	pasteStart = "\x1b[200~"
	pasteEnd   = "\x1b[201~"
)

// continuePaste holds back a bracketed paste until its end arrives.
func (t *LineTracker) continuePaste(p []byte) []Segment {
	t.pastes = true
	t.paste = append(t.paste, p...)
	k := bytes.Index(t.paste, []byte(pasteEnd))
	if k < 0 && len(t.paste) < maxPaste {
		return nil
	}
	if k < 0 {
		return t.longPaste()
	}
	end := k + len(pasteEnd)
	data, rest := t.paste[:end], bytes.Clone(t.paste[end:])
	t.paste = nil
	t.pastes = false
	segs := []Segment{t.pasteSegment(data)}
	return append(segs, t.input(rest)...)
}

// longPaste handles a bracketed paste that grew past maxPaste without its
// end: it cannot be judged, so it is refused whole (a TooLong Paste
// segment; nothing of it is sent, the rest is skipped up to its end), or,
// in a session without filters, passed on as it comes.
func (t *LineTracker) longPaste() []Segment {
	held := t.paste
	t.paste, t.pastes = nil, false
	t.skip, t.skipEnd = true, nil
	t.fresh, t.anchorOK = true, false
	t.cont.Reset()
	if t.pass {
		t.echoPending = true
		return []Segment{{Kind: Forward, Data: held}}
	}
	return []Segment{{Kind: Paste, TooLong: true}}
}

// skipPaste skips (or, without filters, passes on) the rest of a paste
// too long to judge, up to its end marker.
func (t *LineTracker) skipPaste(p []byte) []Segment {
	scan := append(t.skipEnd, p...)
	k := bytes.Index(scan, []byte(pasteEnd))
	if k < 0 {
		t.skipEnd = bytes.Clone(scan[max(0, len(scan)-len(pasteEnd)+1):])
		if t.pass {
			return []Segment{{Kind: Forward, Data: bytes.Clone(p)}}
		}
		return nil
	}
	t.skip, t.skipEnd = false, nil
	cut := k + len(pasteEnd) - (len(scan) - len(p)) // the end in p
	var segs []Segment
	if t.pass && cut > 0 {
		segs = append(segs, Segment{Kind: Forward, Data: bytes.Clone(p[:cut])})
	}
	return append(segs, t.input(p[max(cut, 0):])...)
}

// Unfiltered tells the tracker that no filter applies to the session: a
// paste too long to judge is passed on instead of refused.
func (t *LineTracker) Unfiltered() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pass = true
}

// setAnchor records the end of the prompt: where the cursor stands at the
// first keystroke of a line.
func (t *LineTracker) setAnchor() {
	t.fresh = false
	t.typed = t.typed[:0]
	t.replayTail()
	if t.partial {
		// The line already holds text sent with earlier lines: the
		// cursor is not at the prompt's end.
		t.partial = false
		t.anchorOK = false
		return
	}
	pos := t.screen().CursorPosition()
	if t.promptText != "" {
		t.lastPrompt = t.promptText
	}
	t.anchor = pos
	t.anchorOK = true
	t.promptText = strings.TrimLeft(t.rowText(pos.Y, 0, pos.X), " ")
}

func isEnter(c byte) bool { return c == '\r' || c == '\n' || c == 0x0f }

// mayAccept reports whether c is a control key that a shell may have bound
// to accept-line: any but the editing keys the tracker understands
// (backspace, tab, ^U, ^W), escape sequences, ^C and the Enter keys.
func mayAccept(c byte) bool {
	switch c {
	case 0x08, '\t', 0x15, 0x17, 0x1b, 0x03:
		return false
	}
	return c < 0x20 && !isEnter(c)
}

// hasMore reports whether b holds anything but line breaks: the sign of
// several lines arriving at once.
func hasMore(b []byte) bool {
	for _, c := range b {
		if !isEnter(c) {
			return true
		}
	}
	return false
}

// escLen returns the length of the escape sequence at the start of b (0
// when it is not complete yet) and whether it is the keypad Enter (ESC O M).
func escLen(b []byte) (int, bool) {
	if len(b) < 2 {
		return 0, false
	}
	switch b[1] {
	case '[':
		for i := 2; i < len(b); i++ {
			if b[i] >= 0x40 && b[i] <= 0x7e || i > 64 {
				return i + 1, false
			}
		}
		return 0, false
	case 'O':
		if len(b) < 3 {
			return 0, false
		}
		return 3, b[2] == 'M'
	}
	return 2, false
}

// multiLine turns input holding line breaks followed by more text into one
// Paste segment: all of it is judged before any of it is sent.
func (t *LineTracker) multiLine(p []byte) Segment {
	seg := t.pasteSegment(p)
	t.fresh = true
	t.anchorOK = false
	t.partial = !isEnter(p[len(p)-1])
	return seg
}

// pasteSegment builds the Paste segment for data (a bracketed paste with
// its brackets, or several typed lines). Without a line break a bracketed
// paste is plain typing.
func (t *LineTracker) pasteSegment(data []byte) Segment {
	data = bytes.Clone(data)
	body := string(data)
	bracketed := strings.HasPrefix(body, pasteStart)
	body = strings.TrimPrefix(body, pasteStart)
	body = strings.TrimSuffix(body, pasteEnd)
	t.echoPending = true
	if !bracketed {
		// Typed, not pasted: a control key may submit the line.
		body = strings.Map(func(r rune) rune {
			if r < 0x20 && mayAccept(byte(r)) {
				return '\n'
			}
			return r
		}, body)
	}
	if !strings.ContainsAny(body, "\r\n\x0f") {
		return Segment{Kind: Forward, Data: data}
	}
	body = strings.ReplaceAll(body, "\r\n", "\n")
	body = strings.ReplaceAll(body, "\r", "\n")
	body = strings.ReplaceAll(body, "\x0f", "\n")
	parts := strings.Split(body, "\n")
	before := t.typedSoFar()
	parts[0] = before + parts[0]
	seg := Segment{Kind: Paste, Data: data}
	seg.Secret = strings.TrimSpace(before) == "" && secretWords.MatchString(t.promptText)
	for i, l := range parts {
		l = cook(l)
		if strings.TrimSpace(l) != "" {
			seg.Lines = append(seg.Lines, l)
		}
		if i == len(parts)-1 && !strings.HasSuffix(body, "\n") {
			// The last part stays on the prompt line, not submitted.
			if held := t.cont.Held(); held != "" {
				seg.Joined = append(seg.Joined, held+"\n"+l)
			}
			break
		}
		seg.Joined = t.joinLine(seg.Joined, l)
	}
	return seg
}

// joinLine adds a submitted line to the command the shell reads on and
// appends the command to joined when it spans several lines.
func (t *LineTracker) joinLine(joined []string, line string) []string {
	held := t.cont.Held()
	t.cont.Add(line)
	if t.cont.Size() > maxJoined {
		t.cont.Reset()
	}
	if held != "" {
		joined = append(joined, held+"\n"+line)
	}
	return joined
}

// maxJoined bounds the lines of one command the tracker keeps joined in an
// interactive session: past it, they are forgotten (each line is judged on
// its own in any case).
const maxJoined = 64 << 10

// cook applies the simplest line editing to typed text: backspace, ^U,
// ^W; other control characters and escape sequences are dropped.
func cook(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return s
	}
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == 0x7f || c == 0x08:
			// Drop the last character, whole if multi-byte.
			for len(b) > 0 {
				last := b[len(b)-1]
				b = b[:len(b)-1]
				if last < 0x80 || last >= 0xc0 {
					break
				}
			}
		case c == 0x15:
			b = b[:0]
		case c == 0x17:
			for len(b) > 0 && b[len(b)-1] == ' ' {
				b = b[:len(b)-1]
			}
			for len(b) > 0 && b[len(b)-1] != ' ' {
				b = b[:len(b)-1]
			}
		case c == 0x1b:
			n, _ := escLen([]byte(s[i:]))
			if n == 0 {
				return string(b)
			}
			i += n - 1
		case c == '\t':
			b = append(b, ' ')
		case c < 0x20:
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// WaitEcho waits until the asset has echoed what was forwarded and then
// been quiet for settle, or until ctx ends. Call it on a Submit segment
// before Line, with a deadline (a few hundred milliseconds): an asset that
// does not echo (a password prompt) never answers.
func (t *LineTracker) WaitEcho(ctx context.Context, settle time.Duration) {
	for {
		t.mu.Lock()
		pending := t.echoPending || t.echoBehind()
		t.mu.Unlock()
		if !pending {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-t.outCh:
		}
	}
	timer := time.NewTimer(settle)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.outCh:
			timer.Reset(settle)
		case <-timer.C:
			return
		}
	}
}

// echoBehind reports whether the echo is still on its way: the line on
// the screen is a part of what was typed, its beginning but not all of
// it (a shell that had echoed "ec" of "echo bound" when the first output
// came). A line edited into something else (completion, a transposition)
// is not a beginning of the keystrokes, and a line with nothing echoed
// (a password prompt) is read from the keystrokes: neither waits.
func (t *LineTracker) echoBehind() bool {
	if len(t.typed) == 0 {
		return false
	}
	line := t.lineLocked()
	typed := cook(string(t.typed))
	return strings.TrimSpace(line) != "" && len(line) < len(typed) && strings.HasPrefix(typed, line)
}

// typedSoFar is the line up to the cursor, blanks included.
func (t *LineTracker) typedSoFar() string {
	l := t.lineLocked()
	if !t.anchorOK {
		return l
	}
	cur := t.screen().CursorPosition()
	if n := (cur.Y-t.anchor.Y)*t.w + cur.X - t.anchor.X; n > len([]rune(l)) && n < 1<<16 {
		l += strings.Repeat(" ", n-len([]rune(l)))
	}
	return l
}

func (t *LineTracker) lineLocked() string {
	l, _ := t.read()
	return l
}

// read returns the line and whether it is read from a trusted anchor.
func (t *LineTracker) read() (string, bool) {
	cur := t.screen().CursorPosition()
	if t.anchorOK && cur.Y >= t.anchor.Y && cur.Y < t.h && t.anchor.Y >= 0 {
		ok := true
		for y := t.anchor.Y; y < cur.Y; y++ {
			if !t.rowFull(y) {
				ok = false
				break
			}
		}
		if ok && (cur.Y > t.anchor.Y || cur.X >= t.anchor.X) {
			return t.span(t.anchor.Y, t.anchor.X), true
		}
	}
	// Lost track: read the cursor's logical line and take off a prompt
	// we know, or one that looks like a prompt.
	y0, _ := t.logicalLine(cur.Y)
	whole := t.span(y0, 0)
	for _, p := range []string{t.promptText, t.lastPrompt} {
		if p != "" && strings.HasPrefix(whole, p) {
			return strings.TrimLeft(whole[len(p):], " "), false
		}
	}
	if m := promptLike.FindStringIndex(whole); m != nil {
		return whole[m[1]:], false
	}
	return whole, false
}

// promptLike matches the usual end of a shell prompt: user@host:dir$ ,
// [user@host dir]# , % , > .
var promptLike = regexp.MustCompile(`^[^$#%>]{0,80}?[$#%>] `)

// logicalLine returns the first and last rows of the logical line holding
// row y: rows joined by wrapping.
func (t *LineTracker) logicalLine(y int) (int, int) {
	y0 := y
	for y0 > 0 && t.rowFull(y0-1) {
		y0--
	}
	y1 := y
	for y1 < t.h-1 && t.rowFull(y1) {
		y1++
	}
	return y0, y1
}

// span returns the text from (x, y) to the end of its logical line, with
// trailing blanks removed.
func (t *LineTracker) span(y, x int) string {
	var b strings.Builder
	for ; y < t.h; y++ {
		b.WriteString(t.rowText(y, x, t.w))
		x = 0
		if !t.rowFull(y) {
			break
		}
	}
	return strings.TrimRight(b.String(), " ")
}

// rowText returns the text of row y from column x0 up to x1.
func (t *LineTracker) rowText(y, x0, x1 int) string {
	var b strings.Builder
	for x := x0; x < x1 && x < t.w; x++ {
		c := t.screen().CellAt(x, y)
		switch {
		case c == nil:
			b.WriteByte(' ')
		case c.Content == "":
			if c.Width == 0 && x > 0 {
				if p := t.screen().CellAt(x-1, y); p != nil && p.Width > 1 {
					continue // the right half of a wide character
				}
			}
			b.WriteByte(' ')
		default:
			b.WriteString(c.Content)
		}
	}
	return b.String()
}

// rowFull reports whether row y reaches the last column, which is how a
// line that wraps onto the next row looks. A row ending in a blank counts
// when the one before the blank is not blank and the next row starts with
// text: a wrap that fell on a space.
func (t *LineTracker) rowFull(y int) bool {
	blank := func(x, y int) bool {
		c := t.screen().CellAt(x, y)
		return c == nil || c.Content == "" || c.Content == " "
	}
	if !blank(t.w-1, y) {
		return true
	}
	return y+1 < t.h && !blank(t.w-2, y) && !blank(0, y+1)
}

// screenText returns the emulated screen as text, for tests and debugging.
func (t *LineTracker) screenText() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.screen().String()
}

// sawPrompt reports whether output ending in "$ " arrived, for tests.
func (t *LineTracker) sawPrompt() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return bytes.Contains(t.tail, []byte("$ "))
}
