package recorder

import (
	"encoding/binary"
	"slices"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// plain[b] is true for ASCII bytes that go into a JSON string unchanged.
var plain = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

// appendJSONString appends p to dst as a quoted JSON string. Valid UTF-8 is
// copied as is; each byte of an invalid sequence becomes U+FFFD (as
// encoding/json does when decoding); control characters are escaped.
func appendJSONString(dst, head, p []byte) []byte {
	dst = append(dst, '"')
	dst = appendEscaped(dst, head)
	dst = appendEscaped(dst, p)
	return append(dst, '"')
}

// appendEscaped appends the JSON string escaping of p, without quotes.
func appendEscaped(dst, p []byte) []byte {
	start := 0 // start of the pending run of bytes to copy unchanged
	for i := 0; i < len(p); {
		b := p[i]
		if b < utf8.RuneSelf {
			if plain[b] {
				i++
				// In a run of plain text (most terminal output), skip 8
				// bytes at a time.
				for i+8 <= len(p) && plain8(binary.LittleEndian.Uint64(p[i:])) {
					i += 8
				}
				continue
			}
			dst = append(dst, p[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				// A run of one control byte (NULs from /dev/zero, fill
				// bytes of binary output) is copied in blocks rather than
				// escaped byte by byte.
				if i+1 < len(p) && p[i+1] == b {
					n := runLen(p[i:], b)
					esc := [6]byte{'\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf]}
					dst = appendRepeated(dst, esc[:], n)
					i += n
					start = i
					continue
				}
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(p[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, p[start:i]...)
			dst = append(dst, "\uFFFD"...)
			i++
			start = i
			continue
		}
		i += size
	}
	return append(dst, p[start:]...)
}

// runLen returns how many bytes at the start of p equal b (at least one:
// p[0] is b).
func runLen(p []byte, b byte) int {
	n := 1
	word := uint64(b) * ones
	for n+8 <= len(p) && binary.LittleEndian.Uint64(p[n:]) == word {
		n += 8
	}
	for n < len(p) && p[n] == b {
		n++
	}
	return n
}

// appendRepeated appends n copies of pat to dst. Beyond a few copies it
// doubles what it has written, so a long run costs a few memmoves.
func appendRepeated(dst, pat []byte, n int) []byte {
	total := len(pat) * n
	dst = slices.Grow(dst, total)
	start := len(dst)
	dst = append(dst, pat...)
	for done := len(pat); done < total; {
		k := min(done, total-done)
		dst = append(dst, dst[start:start+k]...)
		done += k
	}
	return dst
}

// incompleteTail returns how many bytes at the end of p form the beginning
// of a UTF-8 sequence that more bytes could still complete. Those bytes are
// held back until the next chunk so that a rune split across two reads is
// recorded whole.
func incompleteTail(p []byte) int {
	// A UTF-8 sequence is at most 4 bytes, so look at most 3 bytes back for
	// its lead byte.
	for n := 1; n <= 3 && n <= len(p); n++ {
		b := p[len(p)-n]
		if b < utf8.RuneSelf {
			return 0 // ASCII: nothing pending
		}
		if !utf8.RuneStart(b) {
			continue // continuation byte: keep looking for the lead byte
		}
		need := runeLen(b)
		if need == 1 {
			return 0 // not a valid lead byte
		}
		if n >= need {
			return 0 // the sequence is complete (valid or not)
		}
		if !utf8.FullRune(p[len(p)-n:]) {
			// FullRune also reports true for sequences that can never be
			// valid (e.g. a bad second byte); only hold back real prefixes.
			return n
		}
		return 0
	}
	return 0
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plain8 reports whether the 8 bytes packed in v are all plain: ASCII, not a
// control character, not '"' and not '\\'.
func plain8(v uint64) bool {
	hasZero := func(x uint64) uint64 { return (x - ones) & ^x & highs }
	special := v&highs | // non-ASCII
		(v-0x20*ones)&^v&highs | // a byte below 0x20
		hasZero(v^('"'*ones)) |
		hasZero(v^('\\'*ones))
	return special == 0
}
