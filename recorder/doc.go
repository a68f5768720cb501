// Package recorder writes, reads, validates and plays session recordings in
// the asciicast v2 format (https://docs.asciinema.org/manual/asciicast/v2/).
//
// A recording is a header line (a JSON object) followed by one JSON array per
// event: [time, type, data], where time is seconds since the start of the
// session, type is "o" (output), "i" (input), "r" (resize, data "WxH") or "m"
// (marker). The [Writer] writes each event with a single write call so a
// crash loses at most the last event; the [Reader] tolerates such a truncated
// last line.
package recorder
