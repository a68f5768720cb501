package recorder

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// followInterval is how often Follow polls a growing recording.
const followInterval = 100 * time.Millisecond

// FollowOptions says when Follow stops and how it draws.
type FollowOptions struct {
	// Stop reports that the session has ended: Follow reads the recording
	// to its end, draws it and returns nil. Nil follows until ctx is done.
	Stop func() bool
	// Title is the first line of every frame (who, where, since when);
	// empty for none. Its control characters are written out.
	Title string
	// Size returns the size of the watcher's terminal, read before each
	// frame so that a resize takes effect at the next one; frames are cut
	// to it. Nil, or a zero, means the recording's size.
	Size func() (width, height int)

	interval time.Duration // how often to poll; followInterval when zero
}

// Follow shows the recording at path on w as it is written, from its
// beginning, for a person watching a live session.
//
// The session's output never reaches w as it is: it is played into a
// terminal emulator, as replay does, and w gets whole frames of that
// emulator's screen drawn with cursor moves and colours only. Whatever the
// asset writes (queries such as device attributes, cursor position or
// DECRQSS, OSC 52 clipboard writes, window operations, a new title), the
// watcher's terminal neither runs it nor answers it into her input.
//
// Follow reads whole lines only, polling for growth. It returns nil once
// opts.Stop reports that the session has ended and the file has been read
// to its end, or ctx's error when ctx is done.
func Follow(ctx context.Context, path string, w io.Writer, opts FollowOptions) error {
	if opts.interval <= 0 {
		opts.interval = followInterval
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("recording: %w", err)
	}
	defer f.Close()
	// A session without a PTY writes its output to its raw stream file.
	raw, err := openRawTail(RawPath(path))
	if err != nil {
		return err
	}
	if raw != nil {
		defer raw.close()
	}
	if err := followWith(ctx, f, w, opts, raw); err != nil {
		return fmt.Errorf("%w (%s)", err, path)
	}
	return nil
}

// FollowReader is Follow for a recording read from r, which returns
// io.EOF when no more bytes are there yet (as a growing file does) and
// more on a later Read: a recording streamed from another node.
// (The output of a session without a PTY, in its raw stream file, comes
// in such a stream as output events: see RawCastTail.)
func FollowReader(ctx context.Context, r io.Reader, w io.Writer, opts FollowOptions) error {
	return followWith(ctx, r, w, opts, nil)
}

// followWith follows the cast read from r and, when raw is not nil, the
// raw stream file beside it.
func followWith(ctx context.Context, r io.Reader, w io.Writer, opts FollowOptions, raw *rawTail) error {
	if opts.interval <= 0 {
		opts.interval = followInterval
	}
	v := &liveView{w: w, opts: opts, raw: raw}
	return v.follow(ctx, bufio.NewReaderSize(r, 64<<10))
}

// liveView is the watcher's side of Follow: the emulator fed with the
// session's output and the frames drawn from it.
type liveView struct {
	w     io.Writer
	opts  FollowOptions
	scr   *Screen  // nil until the header is read
	line  int      // lines of the recording read
	dirty bool     // the screen changed since the last frame
	raw   *rawTail // the raw stream file of a session without a PTY; nil without one
}

// follow reads the recording until the session ends or ctx is done,
// drawing a frame after each read that changed the screen.
func (v *liveView) follow(ctx context.Context, br *bufio.Reader) error {
	var partial []byte // the start of a line not yet whole
	finished := false  // opts.Stop said so: one last read to the end
	for {
		var err error
		if partial, err = v.readLines(ctx, br, partial); err != nil {
			return err
		}
		if v.raw != nil && v.scr != nil {
			if err := v.raw.read(func(ev Event) { v.scr.Apply(ev); v.dirty = true }); err != nil {
				return err
			}
		}
		if err := v.draw(); err != nil {
			return err
		}
		if finished {
			return nil
		}
		if v.opts.Stop != nil && v.opts.Stop() {
			finished = true
			continue
		}
		if err := sleepContext(ctx, v.opts.interval); err != nil {
			return err
		}
	}
}

// readLines applies every whole line available now and returns the start
// of a line not yet whole.
func (v *liveView) readLines(ctx context.Context, br *bufio.Reader, partial []byte) ([]byte, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		chunk, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			l := chunk
			if len(partial) > 0 {
				partial = append(partial, chunk...)
				l = partial
			}
			if err := v.apply(l[:len(l)-1]); err != nil {
				return nil, err
			}
			partial = partial[:0]
		case errors.Is(err, bufio.ErrBufferFull) || err == io.EOF:
			partial = append(partial, chunk...)
			if len(partial) > maxLine {
				return nil, fmt.Errorf("recording: line %d: longer than %d bytes", v.line+1, maxLine)
			}
			if err == io.EOF {
				return partial, nil
			}
		default:
			return nil, fmt.Errorf("recording: %w", err)
		}
	}
}

// apply handles one whole line of the recording: the header makes the
// screen, output and resizes change it.
func (v *liveView) apply(l []byte) error {
	v.line++
	if v.line == 1 {
		r, err := NewReader(bytes.NewReader(append(l, '\n')))
		if err != nil {
			return err
		}
		v.scr = NewScreen(r.Header.Width, r.Header.Height)
		v.dirty = true // the title over an empty screen, at once
		return nil
	}
	if len(bytes.TrimSpace(l)) == 0 {
		return nil
	}
	ev, err := parseEvent(l)
	if err != nil {
		return fmt.Errorf("recording: line %d: %w", v.line, err)
	}
	if ev.Type == TypeOutput || ev.Type == TypeResize {
		v.scr.Apply(ev)
		v.dirty = true
	}
	return nil
}

// draw writes a frame when the screen changed since the last one.
func (v *liveView) draw() error {
	if !v.dirty || v.scr == nil {
		return nil
	}
	v.dirty = false
	var w, h int
	if v.opts.Size != nil {
		w, h = v.opts.Size()
	}
	if _, err := io.WriteString(v.w, v.scr.Frame(v.opts.Title, w, h)); err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	return nil
}
