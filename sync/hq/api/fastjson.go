package api

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/pharmachain/counter/flows"
)

// One-pass decoding of the records HQ ingests in bulk (visits, purchases).
//
// The strict path (checkKeys, then encoding/json) reads every record twice and decodes
// it by reflection: ≈ 25 µs of CPU for a 760-byte visit, the largest single cost of
// ingest. jsonReader reads a record once, validating the JSON grammar as it goes, and
// fills the Go value with code written for its type (fastjson_records.go). It is the
// fast path only: whatever it does not handle — invalid JSON, an unknown, repeated,
// escaped or case-folded key, a wrong type, a number out of range, more keys in one
// object than it tracks — makes it report false, and the caller then takes the strict
// path, which accepts or refuses the record and words the error. Where it does accept,
// it yields exactly what the strict path yields: it never accepts a record the strict
// path refuses (FuzzVisitJSON, FuzzPurchaseJSON, FuzzFastRecords, FuzzFastPurchases
// check both).
//
// What encoding/json does that the fast path mirrors, for a value decoded into a fresh
// zero value: null leaves any field as it was (nil pointers, maps and slices stay nil; a
// time.Time's UnmarshalJSON ignores it; a TextUnmarshaler is not called); `[]` and `{}`
// give an empty non-nil slice or map; a string with escapes or invalid UTF-8 is unquoted
// by encoding/json itself (which replaces invalid UTF-8 with U+FFFD); a time.Time gets
// the raw token through its UnmarshalJSON; ints go through strconv.ParseInt and floats
// through strconv.ParseFloat, as encoding/json's literalStore does.

// jsonReader reads one JSON value from b.
type jsonReader struct {
	b []byte
	i int
}

// maxObjectKeys bounds the keys of one object the fast path checks for repeats; an
// object with more takes the strict path.
const maxObjectKeys = 32

// ws skips white space.
func (r *jsonReader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// peek skips white space and returns the next byte (0 at the end).
func (r *jsonReader) peek() byte {
	r.ws()
	if r.i < len(r.b) {
		return r.b[r.i]
	}
	return 0
}

// end reports whether only white space is left.
func (r *jsonReader) end() bool {
	r.ws()
	return r.i == len(r.b)
}

// literal consumes lit (true, false, null) at the next byte.
func (r *jsonReader) literal(lit string) bool {
	if r.peek() != lit[0] || !bytes.HasPrefix(r.b[r.i:], []byte(lit)) {
		return false
	}
	r.i += len(lit)
	return true
}

// null consumes a null if one is next.
func (r *jsonReader) null() bool {
	return r.peek() == 'n' && r.literal("null")
}

// String token kinds.
const (
	strASCII   = iota // printable ASCII, no escapes: the bytes are the string
	strUTF8           // no escapes, some bytes ≥ 0x80 (valid UTF-8 or not)
	strEscaped        // has escapes: unquoted by encoding/json
)

// token reads a string token and returns its contents (between the quotes) and kind.
// Control characters are refused, as in JSON; escapes are checked by whoever unquotes.
func (r *jsonReader) token() (s []byte, kind int, ok bool) {
	if r.peek() != '"' {
		return nil, 0, false
	}
	b := r.b
	start := r.i + 1
	for i := start; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			r.i = i + 1
			return b[start:i], kind, true
		case c == '\\':
			kind = strEscaped
			i++
		case c < 0x20:
			return nil, 0, false
		case c >= utf8.RuneSelf && kind == strASCII:
			kind = strUTF8
		}
	}
	return nil, 0, false
}

// str reads a string (or null: dst unchanged) into dst.
func (r *jsonReader) str(dst *string) bool {
	if r.null() {
		return true
	}
	start := r.i
	s, kind, ok := r.token()
	switch {
	case !ok:
		return false
	case kind == strASCII || kind == strUTF8 && utf8.Valid(s):
		*dst = string(s)
		return true
	default:
		return json.Unmarshal(r.b[start:r.i], dst) == nil
	}
}

// number reads a number token (JSON grammar) and returns its text.
func (r *jsonReader) number() ([]byte, bool) {
	r.ws()
	b, i, start := r.b, r.i, r.i
	digits := func() bool {
		n := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > n
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return nil, false
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		digits()
	default:
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return nil, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return nil, false
		}
	}
	r.i = i
	return b[start:i], true
}

// int reads a whole number that fits an int (or null) into dst.
func (r *jsonReader) int(dst *int) bool {
	if r.null() {
		return true
	}
	tok, ok := r.number()
	if !ok {
		return false
	}
	n, err := strconv.ParseInt(string(tok), 10, 64)
	if err != nil || int64(int(n)) != n {
		return false
	}
	*dst = int(n)
	return true
}

// int64p reads a whole number (null: dst stays nil) into a new *int64.
func (r *jsonReader) int64p(dst **int64) bool {
	if r.null() {
		return true
	}
	tok, ok := r.number()
	if !ok {
		return false
	}
	n, err := strconv.ParseInt(string(tok), 10, 64)
	if err != nil {
		return false
	}
	*dst = &n
	return true
}

// float reads a number (or null) into dst.
func (r *jsonReader) float(dst *float64) bool {
	if r.null() {
		return true
	}
	tok, ok := r.number()
	if !ok {
		return false
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	if err != nil {
		return false
	}
	*dst = f
	return true
}

// bool reads true or false (or null) into dst.
func (r *jsonReader) bool(dst *bool) bool {
	switch r.peek() {
	case 't':
		if r.literal("true") {
			*dst = true
			return true
		}
	case 'f':
		if r.literal("false") {
			*dst = false
			return true
		}
	case 'n':
		return r.literal("null")
	}
	return false
}

// boolp reads true or false (null: dst stays nil) into a new *bool.
func (r *jsonReader) boolp(dst **bool) bool {
	if r.null() {
		return true
	}
	var b bool
	if !r.bool(&b) {
		return false
	}
	*dst = &b
	return true
}

// time reads an RFC 3339 string (or null) into dst through time.Time's UnmarshalJSON,
// given the raw token as encoding/json gives it.
func (r *jsonReader) time(dst *time.Time) bool {
	if r.null() {
		return true
	}
	start := r.i
	if _, _, ok := r.token(); !ok {
		return false
	}
	return dst.UnmarshalJSON(r.b[start:r.i]) == nil
}

// day reads a YYYY-MM-DD string (or null) into dst through its UnmarshalText.
func (r *jsonReader) day(dst *flows.Day) bool {
	if r.null() {
		return true
	}
	start := r.i
	s, kind, ok := r.token()
	if !ok {
		return false
	}
	if kind != strASCII {
		var u string
		if json.Unmarshal(r.b[start:r.i], &u) != nil {
			return false
		}
		s = []byte(u)
	}
	return dst.UnmarshalText(s) == nil
}

// object reads an object, calling field with each key (after its colon) to read the
// value. Keys must be unescaped valid UTF-8, each at most once, at most maxObjectKeys.
func (r *jsonReader) object(field func(key []byte) bool) bool {
	if r.peek() != '{' {
		return false
	}
	r.i++
	if r.peek() == '}' {
		r.i++
		return true
	}
	var seen [maxObjectKeys][]byte
	n := 0
	for {
		key, kind, ok := r.token()
		if !ok || kind == strEscaped || kind == strUTF8 && !utf8.Valid(key) || n == len(seen) {
			return false
		}
		for _, k := range seen[:n] {
			if string(k) == string(key) {
				return false
			}
		}
		seen[n] = key
		n++
		if r.peek() != ':' {
			return false
		}
		r.i++
		if !field(key) {
			return false
		}
		switch r.peek() {
		case ',':
			r.i++
		case '}':
			r.i++
			return true
		default:
			return false
		}
	}
}

// array reads an array, calling elem to read each element.
func (r *jsonReader) array(elem func() bool) bool {
	if r.peek() != '[' {
		return false
	}
	r.i++
	if r.peek() == ']' {
		r.i++
		return true
	}
	for {
		if !elem() {
			return false
		}
		switch r.peek() {
		case ',':
			r.i++
		case ']':
			r.i++
			return true
		default:
			return false
		}
	}
}

// strings reads an array of strings (null: dst stays nil; [] an empty slice).
func (r *jsonReader) strings(dst *[]string) bool {
	if r.null() {
		return true
	}
	out := []string{}
	ok := r.array(func() bool {
		var s string
		if !r.str(&s) {
			return false
		}
		out = append(out, s)
		return true
	})
	*dst = out
	return ok
}
