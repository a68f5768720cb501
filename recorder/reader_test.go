package recorder

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sampleCast = `{"version": 2, "width": 80, "height": 24, "timestamp": 1700000000, "title": "t", "env": {"TERM": "xterm"}}
[0.1, "o", "hello "]
[0.2, "i", "x"]
[0.25, "o", "w\u00f6rld\r\n"]
[0.3, "r", "100x30"]
[0.4, "m", "mark"]
[1.5, "o", "\u001b[1mbye\u001b[0m"]
`

func readEvents(t *testing.T, s string) ([]Event, *Reader, error) {
	t.Helper()
	r, err := NewReader(strings.NewReader(s))
	if err != nil {
		return nil, nil, err
	}
	evs, err := r.ReadAll()
	return evs, r, err
}

func TestReader(t *testing.T) {
	evs, r, err := readEvents(t, sampleCast)
	if err != nil {
		t.Fatal(err)
	}
	if r.Header.Width != 80 || r.Header.Height != 24 || r.Header.Env["TERM"] != "xterm" || r.Header.Timestamp != 1700000000 {
		t.Errorf("header = %+v", r.Header)
	}
	want := []Event{
		{0.1, "o", "hello "}, {0.2, "i", "x"}, {0.25, "o", "wörld\r\n"},
		{0.3, "r", "100x30"}, {0.4, "m", "mark"}, {1.5, "o", "\x1b[1mbye\x1b[0m"},
	}
	if !equalEvents(evs, want) {
		t.Errorf("events = %v", evs)
	}
	if r.Truncated() {
		t.Error("Truncated on a whole file")
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("Next after the end = %v", err)
	}
}

func TestReaderTruncatedLastLine(t *testing.T) {
	full := strings.TrimSuffix(sampleCast, "\n")
	lastNL := strings.LastIndexByte(full, '\n')
	// Every cut inside the last line loses that event only.
	for cut := lastNL + 2; cut < len(full); cut++ {
		evs, r, err := readEvents(t, full[:cut])
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		if len(evs) != 5 || !r.Truncated() {
			t.Fatalf("cut at %d: %d events, truncated %v", cut, len(evs), r.Truncated())
		}
		if err := Validate(strings.NewReader(full[:cut])); err != nil {
			t.Errorf("Validate cut at %d: %v", cut, err)
		}
	}
	// A whole last line without its newline still counts.
	evs, r, err := readEvents(t, full)
	if err != nil || len(evs) != 6 || r.Truncated() {
		t.Errorf("no final newline: %d events, %v, truncated %v", len(evs), err, r.Truncated())
	}
}

func TestReaderErrors(t *testing.T) {
	hdr := `{"version": 2, "width": 80, "height": 24}` + "\n"
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "empty file"},
		{"header cut", `{"version": 2, "wid`, "header line is truncated"},
		{"not json", "hello\n", "line 1: bad header"},
		{"version 1", `{"version": 1, "width": 80, "height": 24}` + "\n", "version 1, want 2"},
		{"negative size", `{"version": 2, "width": -1, "height": 24}` + "\n", "bad terminal size"},
		{"bad middle line", hdr + `[0.1, "o", "a"]` + "\n" + `[0.2, "o", "b"` + "\n" + `[0.3, "o", "c"]` + "\n", "line 3: malformed event"},
		{"bad complete last line", hdr + `[0.1, "o", "a"]` + "\n" + `{}` + "\n", "line 3: malformed event"},
		{"two elements", hdr + `[0.1, "o"]` + "\n" + `[0.3, "o", "c"]` + "\n", "line 2: malformed"},
		{"number data", hdr + `[0.1, "o", 5]` + "\n" + "\n", "line 2: malformed"},
		{"negative time", hdr + `[-1, "o", "x"]` + "\n", "line 2: bad event time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readEvents(t, tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
			if err := Validate(strings.NewReader(tt.in)); err == nil {
				t.Error("Validate accepted it")
			}
		})
	}
}

func TestValidate(t *testing.T) {
	hdr := `{"version": 2, "width": 80, "height": 24}` + "\n"
	tests := []struct {
		name, in, want string
	}{
		{"sample", sampleCast, ""},
		{"header only", hdr, ""},
		{"blank lines", hdr + "\n" + `[0.1, "o", "a"]` + "\n\n", ""},
		{"time goes back", hdr + `[0.5, "o", "a"]` + "\n" + `[0.2, "o", "b"]` + "\n", "line 3: time 0.2 goes back"},
		{"bad resize", hdr + `[0.5, "r", "80by24"]` + "\n", `line 2: recording: bad resize "80by24"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(strings.NewReader(tt.in))
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Validate = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestReaderLongLine(t *testing.T) {
	// Lines longer than the bufio buffer, with escapes and multi-byte runes.
	big := strings.Repeat("ab\x1bc€\"", 50000)
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Header{Width: 80, Height: 24}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.Output([]byte(big))
	w.Output([]byte("tail"))
	w.Close()
	evs, _, err := readEvents(t, buf.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Data != big || evs[1].Data != "tail" {
		t.Errorf("got %d events", len(evs))
	}
}

func TestParseEventFastMatchesJSON(t *testing.T) {
	lines := []string{
		`[0, "o", ""]`,
		` [ 1.5 , "o" , "a\"b\\c\/d\b\f\n\r\t" ] `,
		`[1e-3, "o", "\u00e9\u20ac\ud83d\ude00"]`,
		`[2E+2, "i", "\ud83d"]`,
		`[2, "i", "\ude00x"]`,
		`[2, "i", "\ud83d\u0041"]`,
		"[3, \"o\", \"bad \xff utf8\"]",
		`[0.000001, "m", "label"]`,
	}
	for _, l := range lines {
		ev, ok := parseEventFast([]byte(l))
		if !ok {
			t.Errorf("%s: fast parser refused it", l)
			continue
		}
		var raw []any
		if err := json.Unmarshal([]byte(l), &raw); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		if ev.Time != raw[0].(float64) || ev.Type != raw[1].(string) || ev.Data != raw[2].(string) {
			t.Errorf("%s: fast %+v, json %q", l, ev, raw)
		}
	}
}

func TestCat(t *testing.T) {
	r, err := NewReader(strings.NewReader(sampleCast))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Cat(&out, r); err != nil {
		t.Fatal(err)
	}
	if want := "hello wörld\r\n\x1b[1mbye\x1b[0m"; out.String() != want {
		t.Errorf("Cat = %q, want %q", out.String(), want)
	}

	bad := strings.Replace(sampleCast, `[0.3, "r", "100x30"]`, `[0.3, "r"`, 1)
	r, _ = NewReader(strings.NewReader(bad))
	out.Reset()
	if err := Cat(&out, r); err == nil || !strings.Contains(err.Error(), "line 5") {
		t.Errorf("Cat of a bad file = %v", err)
	}
	if out.String() != "hello wörld\r\n" {
		t.Errorf("Cat wrote %q before the error", out.String())
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "missing.cast")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open missing = %v", err)
	}
	p := filepath.Join(t.TempDir(), "bad.cast")
	os.WriteFile(p, []byte("nope\n"), 0o600)
	if _, err := Open(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("Open bad = %v, want the path in it", err)
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte(sampleCast))
	f.Add([]byte(`{"version": 2, "width": 80, "height": 24}` + "\n" + `[0.1, "o", "\ud83d\ude00\u0000"]`))
	f.Add([]byte(`{"version": 2}` + "\n" + `[1e400, "r", "0x0"]` + "\n" + `[-0, "o", null]`))
	f.Add([]byte("{\"version\":2}\n[0,\"o\",\"\xff\\u12\"]\n\n[0 , \"r\",\"5x5\"] "))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = Validate(bytes.NewReader(data))
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		for i := 0; i < 10000; i++ {
			ev, err := r.Next()
			if err != nil {
				break
			}
			if ev.Time < 0 {
				t.Fatalf("negative time %v", ev.Time)
			}
		}
		// The hand parser must agree with encoding/json whenever it accepts.
		for _, line := range bytes.Split(data, []byte("\n")) {
			ev, ok := parseEventFast(line)
			if !ok {
				continue
			}
			var raw []any
			if err := json.Unmarshal(line, &raw); err != nil {
				t.Fatalf("fast parser accepted %q, encoding/json: %v", line, err)
			}
			if len(raw) != 3 || ev.Time != raw[0] || ev.Type != raw[1] || ev.Data != raw[2] {
				t.Fatalf("line %q: fast %+v, json %q", line, ev, raw)
			}
		}
	})
}

func FuzzOutput(f *testing.F) {
	f.Add([]byte("a€😀\xff\xe2\x82"), uint8(3), uint8(5))
	f.Add([]byte("\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00x\x01\x01\x1b\x1b"), uint8(4), uint8(12))
	f.Fuzz(func(t *testing.T, data []byte, i, j uint8) {
		a, b := int(i)%(len(data)+1), int(j)%(len(data)+1)
		if a > b {
			a, b = b, a
		}
		file := writeChunks(t, [][]byte{data[:a], data[a:b], data[b:]})
		if got, want := outputOf(t, file), decoded(data); got != want {
			t.Fatalf("output %q, want %q", got, want)
		}
		r, err := NewReader(bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		if err := Cat(&out, r); err != nil {
			t.Fatal(err)
		}
		if out.String() != decoded(data) {
			t.Fatalf("Cat %q, want %q", out.String(), decoded(data))
		}
	})
}
