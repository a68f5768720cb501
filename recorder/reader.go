package recorder

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxLine bounds one line of a recording, so a corrupt file cannot make the
// reader hold gigabytes.
const maxLine = 64 << 20

// Event is one event of a recording.
type Event struct {
	Time float64 // seconds since the start
	Type string  // TypeOutput, TypeInput, TypeResize, TypeMarker or other
	Data string
}

// Reader reads a recording event by event.
type Reader struct {
	Header    Header
	br        *bufio.Reader
	c         io.Closer
	line      int  // number of the last line read
	truncated bool // the last line was cut short (a crash) and skipped
	err       error
	raw       *rawEvents // the session's raw stream file, merged in; nil without one
	merge     mergeState
}

// Open opens a recording file and reads its header. Close the Reader when
// done. When the session's raw stream file is beside it (see RawPath), its
// stdout and stderr come as output events and its stdin as input events,
// so that players and transcripts show a session without a PTY too.
func Open(path string) (*Reader, error) {
	r, err := OpenCast(path)
	if err != nil {
		return nil, err
	}
	if err := r.attachRaw(RawPath(path)); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// OpenCast is Open without the raw stream file: the cast's own events.
func OpenCast(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	r, err := NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	r.c = f
	return r, nil
}

// NewReader reads the header from r and returns a Reader for its events.
func NewReader(r io.Reader) (*Reader, error) {
	rd := &Reader{br: bufio.NewReaderSize(r, 64<<10)}
	line, complete, err := rd.readLine()
	if err != nil && err != io.EOF {
		return nil, err
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return nil, errors.New("recording: empty file, no header")
	}
	if !complete {
		return nil, errors.New("recording: header line is truncated")
	}
	if err := json.Unmarshal(line, &rd.Header); err != nil {
		return nil, fmt.Errorf("recording: line 1: bad header: %w", err)
	}
	if rd.Header.Version != 2 {
		return nil, fmt.Errorf("recording: line 1: asciicast version %d, want 2", rd.Header.Version)
	}
	if rd.Header.Width < 0 || rd.Header.Height < 0 {
		return nil, fmt.Errorf("recording: line 1: bad terminal size %dx%d", rd.Header.Width, rd.Header.Height)
	}
	return rd, nil
}

// Close closes the file opened by Open; it does nothing for NewReader.
func (r *Reader) Close() error {
	if r.raw != nil {
		r.raw.rr.Close()
	}
	if r.c == nil {
		return nil
	}
	c := r.c
	r.c = nil
	return c.Close()
}

// Truncated reports whether the reader met a cut-off last line (as a crash
// leaves) and skipped it, in the cast or in its raw stream file.
func (r *Reader) Truncated() bool { return r.truncated || (r.raw != nil && r.raw.truncated) }

// Next returns the next event, or io.EOF at the end. A last line that is
// cut short and does not parse is skipped (see Truncated); a bad line
// anywhere else is an error naming its line number. A recording with a
// raw stream file (see Open) gives its frames as events too, in time
// order.
func (r *Reader) Next() (Event, error) {
	if r.raw == nil {
		return r.nextCast()
	}
	return r.nextMerged()
}

// nextCast returns the next event of the cast.
func (r *Reader) nextCast() (Event, error) {
	if r.err != nil {
		return Event{}, r.err
	}
	for {
		line, complete, err := r.readLine()
		if err != nil {
			r.err = err
			return Event{}, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			if !complete {
				r.err = io.EOF
				return Event{}, io.EOF
			}
			continue
		}
		ev, perr := parseEvent(line)
		if perr != nil {
			if !complete {
				r.truncated = true
				r.err = io.EOF
				return Event{}, io.EOF
			}
			r.err = fmt.Errorf("recording: line %d: %w", r.line, perr)
			return Event{}, r.err
		}
		return ev, nil
	}
}

// ReadAll returns the remaining events.
func (r *Reader) ReadAll() ([]Event, error) {
	var evs []Event
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return evs, nil
		}
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
}

// readLine returns the next line without its newline; complete is false
// for a last line with no newline. At the end it returns io.EOF.
func (r *Reader) readLine() (line []byte, complete bool, err error) {
	var long []byte
	for {
		chunk, err := r.br.ReadSlice('\n')
		switch {
		case err == nil:
			r.line++
			if long != nil {
				line = append(long, chunk[:len(chunk)-1]...)
			} else {
				line = chunk[:len(chunk)-1]
			}
			return line, true, nil
		case errors.Is(err, bufio.ErrBufferFull):
			if len(long)+len(chunk) > maxLine {
				return nil, false, fmt.Errorf("recording: line %d: longer than %d bytes", r.line+1, maxLine)
			}
			long = append(long, chunk...)
		case err == io.EOF:
			line = append(long, chunk...)
			if len(line) == 0 {
				return nil, false, io.EOF
			}
			r.line++
			return line, false, nil
		default:
			return nil, false, fmt.Errorf("recording: read: %w", err)
		}
	}
}

// ParseResize parses the data of a resize event, "WxH".
func ParseResize(data string) (width, height int, err error) {
	i := bytes.IndexByte([]byte(data), 'x')
	if i < 0 {
		return 0, 0, fmt.Errorf("recording: bad resize %q", data)
	}
	width, err1 := strconv.Atoi(data[:i])
	height, err2 := strconv.Atoi(data[i+1:])
	if err1 != nil || err2 != nil || width <= 0 || height <= 0 || width > 10000 || height > 10000 {
		return 0, 0, fmt.Errorf("recording: bad resize %q", data)
	}
	return width, height, nil
}

// Validate reads a whole recording and reports the first problem: a bad
// header, a malformed event, or times that go backwards. A truncated last
// line is accepted, as a crash leaves one.
func Validate(r io.Reader) error {
	rd, err := NewReader(r)
	if err != nil {
		return err
	}
	last := 0.0
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if ev.Time < last {
			return fmt.Errorf("recording: line %d: time %g goes back (previous %g)", rd.line, ev.Time, last)
		}
		last = ev.Time
		if ev.Type == TypeResize {
			if _, _, err := ParseResize(ev.Data); err != nil {
				return fmt.Errorf("recording: line %d: %w", rd.line, err)
			}
		}
	}
}

var errBadEvent = errors.New(`malformed event, want [time, "type", "data"]`)

// parseEvent parses one event line. The common shape is parsed by hand
// (recordings are large); anything else goes through encoding/json.
func parseEvent(line []byte) (Event, error) {
	if ev, ok := parseEventFast(line); ok {
		return ev, nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(line, &raw); err != nil {
		return Event{}, errBadEvent
	}
	if len(raw) != 3 {
		return Event{}, errBadEvent
	}
	var ev Event
	if json.Unmarshal(raw[0], &ev.Time) != nil ||
		json.Unmarshal(raw[1], &ev.Type) != nil ||
		json.Unmarshal(raw[2], &ev.Data) != nil {
		return Event{}, errBadEvent
	}
	if ev.Time < 0 || math.IsInf(ev.Time, 0) || math.IsNaN(ev.Time) {
		return Event{}, fmt.Errorf("bad event time %v", ev.Time)
	}
	return ev, nil
}

// parseEventFast parses [number, "string", "string"] with optional JSON
// whitespace. It reports false for anything it does not fully understand.
func parseEventFast(b []byte) (Event, bool) {
	var ev Event
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return ev, false
	}
	i = skipSpace(b, i+1)
	j := i
	for j < len(b) && (b[j] >= '0' && b[j] <= '9' || b[j] == '.' || b[j] == 'e' || b[j] == 'E' || b[j] == '+' || b[j] == '-') {
		j++
	}
	if !validJSONNumber(b[i:j]) {
		return ev, false
	}
	t, err := strconv.ParseFloat(string(b[i:j]), 64)
	if err != nil || t < 0 {
		return ev, false
	}
	ev.Time = t
	i = skipSpace(b, j)
	if i >= len(b) || b[i] != ',' {
		return ev, false
	}
	var ok bool
	ev.Type, i, ok = parseString(b, skipSpace(b, i+1))
	if !ok {
		return ev, false
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ',' {
		return ev, false
	}
	ev.Data, i, ok = parseString(b, skipSpace(b, i+1))
	if !ok {
		return ev, false
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ']' {
		return ev, false
	}
	if skipSpace(b, i+1) != len(b) {
		return ev, false
	}
	return ev, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// validJSONNumber reports whether b is a JSON number without a sign
// (negative times are invalid anyway).
func validJSONNumber(b []byte) bool {
	i := 0
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(b)
}

// parseString parses a JSON string starting at b[i] (the opening quote) and
// returns it and the index after the closing quote. Invalid UTF-8 becomes
// U+FFFD, as with encoding/json.
func parseString(b []byte, i int) (string, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return "", i, false
	}
	i++
	// Fast path: no escapes, valid UTF-8.
	j := i
	for j < len(b) {
		c := b[j]
		if c == '"' {
			if utf8.Valid(b[i:j]) {
				return string(b[i:j]), j + 1, true
			}
			break
		}
		if c == '\\' || c < 0x20 {
			break
		}
		j++
	}
	out := make([]byte, 0, len(b)-i)
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return string(out), i + 1, true
		case c < 0x20:
			return "", i, false
		case c == '\\':
			if i+1 >= len(b) {
				return "", i, false
			}
			switch b[i+1] {
			case '"', '\\', '/':
				out = append(out, b[i+1])
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := hex4(b, i+2)
				if !ok {
					return "", i, false
				}
				i += 6
				if utf16.IsSurrogate(r) {
					r2, ok2 := rune(-1), false
					if i+1 < len(b) && b[i] == '\\' && b[i+1] == 'u' {
						r2, ok2 = hex4(b, i+2)
					}
					if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				out = utf8.AppendRune(out, r)
				continue
			default:
				return "", i, false
			}
			i += 2
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				out = append(out, "\uFFFD"...)
			} else {
				out = append(out, b[i:i+size]...)
			}
			i += size
		}
	}
	return "", i, false
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
