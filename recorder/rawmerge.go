package recorder

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// rawEvents gives the frames of a raw stream file as events: stdout and
// stderr as output, stdin as input, in valid UTF-8 (a rune split across
// frames is joined; invalid bytes become U+FFFD), as the cast writer does.
type rawEvents struct {
	rr        *RawReader
	path      string
	carry     [3][]byte
	pending   []Event // events of carries flushed at the end
	done      bool
	truncated bool
}

// attachRaw merges the raw stream file at path, if there is one, into r.
func (r *Reader) attachRaw(path string) error {
	rr, err := OpenRaw(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	r.raw = &rawEvents{rr: rr, path: path}
	return nil
}

func (e *rawEvents) next() (Event, error) {
	for !e.done {
		fr, err := e.rr.Next()
		if errors.Is(err, ErrRawTruncated) {
			e.truncated = true
			err = io.EOF
		}
		if err == io.EOF {
			e.done = true
			e.flushCarries(fr.Time.Seconds())
			break
		}
		if err != nil {
			return Event{}, err
		}
		if ev, ok := frameEvent(&e.carry, fr); ok {
			return ev, nil
		}
	}
	if len(e.pending) > 0 {
		ev := e.pending[0]
		e.pending = e.pending[1:]
		return ev, nil
	}
	return Event{}, io.EOF
}

// frameEvent turns a frame into an event in valid UTF-8, holding back in
// carry the start of a rune cut at its end for the stream's next frame. It
// returns false when nothing is left to show.
func frameEvent(carry *[3][]byte, fr RawFrame) (Event, bool) {
	c := &carry[fr.Stream]
	p := fr.Data
	if len(*c) > 0 {
		p = append(*c, p...)
		*c = nil
	}
	if n := incompleteTail(p); n > 0 {
		*c = append([]byte(nil), p[len(p)-n:]...)
		p = p[:len(p)-n]
	}
	if len(p) == 0 {
		return Event{}, false
	}
	return Event{Time: fr.Time.Seconds(), Type: streamType(fr.Stream), Data: strings.ToValidUTF8(string(p), "\uFFFD")}, true
}

// flushCarries turns the bytes held back at the end into events.
func (e *rawEvents) flushCarries(t float64) {
	for s, c := range e.carry {
		if len(c) > 0 {
			e.pending = append(e.pending, Event{Time: t, Type: streamType(Stream(s)), Data: strings.ToValidUTF8(string(c), "\uFFFD")})
		}
	}
}

func streamType(s Stream) string {
	if s == StreamStdin {
		return TypeInput
	}
	return TypeOutput
}

// mergeState holds the next event of each side of a merged Reader.
type mergeState struct {
	cast, raw         Event
	haveCast, haveRaw bool
	castEnd, rawEnd   bool
}

// nextMerged returns the earlier of the cast's and the raw file's next
// events (the cast's first at equal times).
func (r *Reader) nextMerged() (Event, error) {
	m := &r.merge
	if !m.haveCast && !m.castEnd {
		ev, err := r.nextCast()
		switch {
		case err == io.EOF:
			m.castEnd = true
		case err != nil:
			return Event{}, err
		default:
			m.cast, m.haveCast = ev, true
		}
	}
	if !m.haveRaw && !m.rawEnd {
		ev, err := r.raw.next()
		switch {
		case err == io.EOF:
			m.rawEnd = true
		case err != nil:
			return Event{}, fmt.Errorf("%w (%s)", err, r.raw.path)
		default:
			m.raw, m.haveRaw = ev, true
		}
	}
	switch {
	case m.haveCast && (!m.haveRaw || m.cast.Time <= m.raw.Time):
		m.haveCast = false
		return m.cast, nil
	case m.haveRaw:
		m.haveRaw = false
		return m.raw, nil
	}
	return Event{}, io.EOF
}

// rawTail reads the whole frames a growing raw stream file has gained
// since the last call, for Follow.
type rawTail struct {
	f     *os.File
	off   int64
	lastT uint64
	carry [3][]byte
}

// openRawTail opens the raw stream file at path and checks its header; it
// returns nil when there is none (a session with a PTY).
func openRawTail(path string) (*rawTail, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	if _, err := NewRawReader(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return &rawTail{f: f, off: int64(rawHdrLen)}, nil
}

// read passes the events of the whole frames written since the last call
// to apply; a frame still being written waits for the next call.
func (t *rawTail) read(apply func(Event)) error { return t.readUntil(apply, nil) }

// readUntil is read that stops after the frame at which full (when not
// nil) reports true; the frames after it wait for the next call.
func (t *rawTail) readUntil(apply func(Event), full func() bool) error {
	fi, err := t.f.Stat()
	if err != nil {
		return fmt.Errorf("recording: %w", err)
	}
	if fi.Size() <= t.off {
		return nil
	}
	rd := &RawReader{br: bufio.NewReaderSize(io.NewSectionReader(t.f, t.off, fi.Size()-t.off), 64<<10), off: t.off, lastT: t.lastT}
	for {
		fr, err := rd.Next()
		if err == io.EOF || errors.Is(err, ErrRawTruncated) {
			break
		}
		if err != nil {
			return fmt.Errorf("%w (%s)", err, t.f.Name())
		}
		if fr.Stream != StreamStdin {
			if ev, ok := frameEvent(&t.carry, fr); ok {
				apply(ev)
			}
		}
		if full != nil && full() {
			break
		}
	}
	t.off, t.lastT = rd.off, rd.lastT
	return nil
}

func (t *rawTail) close() { t.f.Close() }
