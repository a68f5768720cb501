package recorder

import "io"

// A terminal filter passes a recording's output to a viewer's terminal
// (replay --cat, replay --plain) with only what draws: text, colours
// (SGR), cursor moves, erases, scrolling and a few harmless modes. It
// drops everything that could make the viewer's terminal answer into
// her input or change how her keyboard and clipboard behave: device
// attribute and status queries (DA, DSR/CPR, DECRQM, DECID), window
// operations and reports, OSC strings (titles, colour queries, OSC 52
// clipboard), DCS (DECRQSS, XTGETTCAP), APC/PM/SOS, mouse, focus and
// bracketed-paste modes, keyboard protocol changes, and C1 controls.
//
// The filter is a byte-level state machine after ECMA-48, so sequences
// split across writes are handled; a CSI longer than maxCSI bytes is
// dropped whole.

const maxCSI = 64

type filterState uint8

const (
	stGround    filterState = iota
	stEsc                   // after ESC
	stEscInter              // ESC and intermediates (0x20-0x2F)
	stCSI                   // ESC [ … until a final byte
	stCSIDrop               // an overlong CSI: dropped until its final byte
	stString                // OSC, DCS, APC, PM, SOS: dropped until BEL or ST
	stStringEsc             // ESC inside a string: ST if '\' follows
)

// TerminalFilter is an io.Writer that writes to W what is safe to show.
type TerminalFilter struct {
	W     io.Writer
	state filterState
	csi   []byte
	utf   int  // continuation bytes expected
	c2    bool // the last byte was 0xC2 (a C1 control may follow)
	out   []byte
}

// NewTerminalFilter returns a filter writing to w.
func NewTerminalFilter(w io.Writer) *TerminalFilter { return &TerminalFilter{W: w} }

// Write filters p. It reports len(p) written unless w fails.
func (f *TerminalFilter) Write(p []byte) (int, error) {
	f.out = f.out[:0]
	for _, b := range p {
		f.step(b)
	}
	if len(f.out) == 0 {
		return len(p), nil
	}
	if _, err := f.W.Write(f.out); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (f *TerminalFilter) step(b byte) {
	if b == 0x18 || b == 0x1a { // CAN, SUB: abort any sequence
		f.state, f.utf, f.c2 = stGround, 0, false
		return
	}
	switch f.state {
	case stGround:
		f.ground(b)
	case stEsc:
		f.esc(b)
	case stEscInter:
		switch {
		case b >= 0x20 && b <= 0x2f && len(f.csi) < 8:
			f.csi = append(f.csi, b)
		case b >= 0x30 && b <= 0x7e: // final: charset designations and the like
			f.emit(append(f.csi, b)...)
			f.state = stGround
		default:
			f.state = stGround
			f.ground(b)
		}
	case stCSI:
		f.csiByte(b)
	case stCSIDrop:
		if b >= 0x40 && b <= 0x7e {
			f.state = stGround
		} else if b == 0x1b {
			f.state = stEsc
		}
	case stString:
		switch b {
		case 0x07:
			f.state = stGround
		case 0x1b:
			f.state = stStringEsc
		}
	case stStringEsc:
		if b == '\\' {
			f.state = stGround
			return
		}
		f.state = stEsc
		f.esc(b)
	}
}

// ground passes text (whole UTF-8 characters, no C1 controls) and the
// layout controls: BS, TAB, LF, CR.
func (f *TerminalFilter) ground(b byte) {
	switch {
	case b == 0x1b:
		f.utf, f.c2 = 0, false
		f.state = stEsc
	case b < 0x20 || b == 0x7f:
		f.utf, f.c2 = 0, false
		if b == '\b' || b == '\t' || b == '\n' || b == '\r' {
			f.emit(b)
		}
	case b < 0x80:
		f.utf, f.c2 = 0, false
		f.emit(b)
	case b < 0xc0: // a continuation byte
		switch {
		case f.utf == 0:
			// stray: dropped (a raw C1 control, or broken UTF-8)
		case f.c2 && b < 0xa0:
			f.utf, f.c2 = 0, false // U+0080-U+009F, a C1 control: dropped
		default:
			if f.c2 {
				f.emit(0xc2)
				f.c2 = false
			}
			f.emit(b)
			f.utf--
		}
	default: // a lead byte
		f.utf, f.c2 = 0, false
		switch {
		case b == 0xc2:
			f.utf, f.c2 = 1, true // held until the next byte says it is no C1
		case b < 0xe0:
			f.utf = 1
			f.emit(b)
		case b < 0xf0:
			f.utf = 2
			f.emit(b)
		case b < 0xf8:
			f.utf = 3
			f.emit(b)
		}
	}
}

func (f *TerminalFilter) esc(b byte) {
	switch {
	case b == '[':
		f.state, f.csi = stCSI, append(f.csi[:0], 0x1b, '[')
	case b == ']' || b == 'P' || b == '_' || b == '^' || b == 'X':
		f.state = stString
	case b >= 0x20 && b <= 0x2f:
		f.state, f.csi = stEscInter, append(f.csi[:0], 0x1b, b)
	case b == 'Z': // DECID: the terminal answers with its attributes
		f.state = stGround
	case b >= 0x30 && b <= 0x7e: // ESC 7, ESC 8, ESC M, ESC =, ESC c …
		f.emit(0x1b, b)
		f.state = stGround
	case b == 0x1b:
		// ESC ESC: start again
	default:
		f.state = stGround
	}
}

func (f *TerminalFilter) csiByte(b byte) {
	f.csi = append(f.csi, b)
	switch {
	case b >= 0x40 && b <= 0x7e:
		if safeCSI(f.csi[2:]) {
			f.emit(f.csi...)
		}
		f.state = stGround
	case b < 0x20 && b != 0x1b:
		// a control inside CSI: the terminal would run it; we drop it
		f.csi = f.csi[:len(f.csi)-1]
	case b == 0x1b:
		f.state = stEsc
	case len(f.csi) > maxCSI:
		f.state = stCSIDrop
	}
}

// safeModes are the DEC private modes a recording may set or reset:
// cursor keys, origin, wrap, blinking and visible cursor, the alternate
// screen.
var safeModes = map[string]bool{"1": true, "6": true, "7": true, "12": true, "25": true,
	"47": true, "1047": true, "1048": true, "1049": true}

// safeCSI reports whether a CSI sequence (what follows ESC [) only
// draws.
func safeCSI(seq []byte) bool {
	final := seq[len(seq)-1]
	body := seq[:len(seq)-1]
	var prefix byte
	if len(body) > 0 && body[0] >= '<' && body[0] <= '?' {
		prefix, body = body[0], body[1:]
	}
	for _, c := range body {
		if c >= 0x20 && c <= 0x2f { // intermediates: DECRQM, DECSCUSR, …
			return final == 'q' && c == ' ' && prefix == 0 // cursor style
		}
		if c < '0' || c > ';' {
			return false
		}
	}
	switch final {
	case 'm', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'f', 'd', 'e', 'a', '`',
		'L', 'M', 'P', '@', 'X', 'S', 'T', 'r', 's', 'u', 'b', 'I', 'Z':
		return prefix == 0
	case 'J', 'K':
		return prefix == 0 || prefix == '?'
	case 'h', 'l':
		if prefix == 0 {
			return string(body) == "4" || string(body) == "20"
		}
		if prefix != '?' {
			return false
		}
		for _, m := range splitParams(body) {
			if !safeModes[m] {
				return false
			}
		}
		return true
	}
	return false
}

func splitParams(b []byte) []string {
	var out []string
	start := 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == ';' {
			out = append(out, string(b[start:i]))
			start = i + 1
		}
	}
	return out
}

func (f *TerminalFilter) emit(b ...byte) { f.out = append(f.out, b...) }
