// Package printable makes text from untrusted sources safe to print on a
// terminal: login names, commands, comments and paths that came from
// people or assets, shown to admins and auditors.
package printable

import (
	"strings"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// Escape returns s with every character a terminal would act on instead of
// showing written out visibly, so that nothing in s can move the cursor,
// clear the screen, set the window title or make the terminal answer:
//
//   - C0 controls and DEL as \t, \n, \r or \xHH (ESC is \x1b);
//   - C1 controls (U+0080–U+009F) as \u0085 or \u009b;
//   - the Unicode format characters that reorder or break a line (bidi
//     overrides, embeddings and isolates, LRM, RLM, ALM, U+2028, U+2029)
//     as \u202e and the like;
//   - each byte of invalid UTF-8 as \xHH (a lone 0x9b is CSI to an
//     8-bit terminal).
//
// Everything else, Chinese text and emoji included, is kept as it is.
// Backslashes are not doubled: JSON output is the exact form.
func Escape(s string) string {
	i := firstUnsafe(s)
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			writeHex(&b, `\x`, uint32(s[i]), 2)
		case !unsafeRune(r):
			b.WriteString(s[i : i+size])
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < utf8.RuneSelf:
			writeHex(&b, `\x`, uint32(r), 2)
		default:
			writeHex(&b, `\u`, uint32(r), 4)
		}
		i += size
	}
	return b.String()
}

// firstUnsafe returns the index of the first byte of s that Escape
// changes, or len(s).
func firstUnsafe(s string) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || unsafeRune(r) {
			return i
		}
		i += size
	}
	return len(s)
}

// unsafeRune reports whether r is a control or a format character that
// reorders or breaks the text around it.
func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r == 0x2028, r == 0x2029,
		r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

func writeHex(b *strings.Builder, prefix string, v uint32, digits int) {
	b.WriteString(prefix)
	for shift := 4 * (digits - 1); shift >= 0; shift -= 4 {
		b.WriteByte(hexDigits[v>>uint(shift)&0xf])
	}
}

// JSON returns the encoding/json output b with the characters that
// encoding/json leaves raw (DEL, C1 controls, bidi formatting) written as
// \uXXXX escapes. Outside strings JSON is printable ASCII and white
// space, so the result decodes to the same value. b must be valid UTF-8,
// as encoding/json writes it.
func JSON(b []byte) []byte {
	i := jsonUnsafe(b)
	if i == len(b) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	for i < len(b) {
		out = append(out, b[:i]...)
		r, size := utf8.DecodeRune(b[i:])
		out = append(out, '\\', 'u',
			hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
		b = b[i+size:]
		i = jsonUnsafe(b)
	}
	return append(out, b...)
}

// jsonUnsafe returns the index of the first character of b that JSON
// escapes, or len(b).
func jsonUnsafe(b []byte) int {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c == 0x7f {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if unsafeRune(r) {
			return i
		}
		i += size
	}
	return len(b)
}
