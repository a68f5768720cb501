package recorder

import "strconv"

// RawCastTail turns what the raw stream file of a session without a PTY
// gains into asciicast output event lines: what the node holding the
// session streams to a watcher on another node after the cast's own lines
// (FollowReader then shows stdout and stderr as Follow does locally).
// Stdin is left out, as Follow leaves it out.
type RawCastTail struct{ t *rawTail }

// OpenRawCastTail opens the raw stream file beside the recording at
// castPath; it returns nil, and no error, when there is none (a session
// with a PTY, or one whose raw file is not made yet).
func OpenRawCastTail(castPath string) (*RawCastTail, error) {
	t, err := openRawTail(RawPath(castPath))
	if t == nil || err != nil {
		return nil, err
	}
	return &RawCastTail{t: t}, nil
}

// AppendLines appends to dst the event lines of the whole frames written
// since the last call, one line per frame, and stops after the frame that
// takes dst to max bytes or more (a frame is never cut: dst may pass max
// by one frame's line). A frame still being written waits for the next
// call.
func (r *RawCastTail) AppendLines(dst []byte, max int) ([]byte, error) {
	err := r.t.readUntil(func(ev Event) {
		dst = append(dst, '[')
		dst = strconv.AppendFloat(dst, ev.Time, 'f', 6, 64)
		dst = append(dst, ", \""...)
		dst = append(dst, ev.Type...)
		dst = append(dst, "\", "...)
		dst = appendJSONString(dst, nil, []byte(ev.Data))
		dst = append(dst, ']', '\n')
	}, func() bool { return len(dst) >= max })
	return dst, err
}

// Close closes the raw stream file.
func (r *RawCastTail) Close() { r.t.close() }
