package api

import (
	"encoding"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Ingest strictness. encoding/json matches object keys to struct fields
// case-insensitively ("Customer_Key" fills customer_key) and lets a repeated key
// overwrite the first. A record whose key is spelled "Customer_Key" is then stored with
// that spelling in its raw JSON — where the PIPL deletion, which looks for
// "customer_key", does not find it — and a repeated key lets the checked value differ
// from the stored one. checkKeys refuses both, on every route that decodes a JSON
// body (DecodeStrict, and the records fast path).

// errKeySyntax: the walk met invalid JSON; the decoder reports it with a better message.
var errKeySyntax = errors.New("json syntax")

// checkKeys walks the one JSON value in data alongside the Go type it will be decoded
// into and refuses, in every object, a repeated key and — where the object decodes into
// a struct — any key that is not exactly one of the struct's JSON field names. Errors
// are bad requests naming the path (prefixed with path). Invalid JSON is left to the
// decoder (nil).
func checkKeys(data []byte, t reflect.Type, path string) error {
	w := keyWalker{data: data}
	err := w.value(t, path)
	if errors.Is(err, errKeySyntax) {
		return nil
	}
	return err
}

type keyWalker struct {
	data  []byte
	i     int
	depth int
}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// plainType reduces t to what the walk needs: nil when any key is fine (interfaces,
// types with their own UnmarshalJSON or UnmarshalText).
func plainType(t reflect.Type) reflect.Type {
	for t != nil {
		if t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) ||
			t.Implements(textUnmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType) {
			return nil
		}
		switch t.Kind() {
		case reflect.Pointer:
			t = t.Elem()
		case reflect.Interface:
			return nil
		default:
			return t
		}
	}
	return nil
}

func (w *keyWalker) space() {
	for w.i < len(w.data) {
		switch w.data[w.i] {
		case ' ', '\t', '\n', '\r':
			w.i++
		default:
			return
		}
	}
}

func (w *keyWalker) value(t reflect.Type, path string) error {
	w.space()
	if w.i >= len(w.data) {
		return errKeySyntax
	}
	switch w.data[w.i] {
	case '{':
		return w.object(plainType(t), path)
	case '[':
		return w.array(plainType(t), path)
	case '"':
		_, err := w.str()
		return err
	default:
		start := w.i
		for w.i < len(w.data) && !strings.ContainsRune(",}] \t\n\r", rune(w.data[w.i])) {
			w.i++
		}
		if w.i == start {
			return errKeySyntax
		}
		return nil
	}
}

// str reads a JSON string at w.i and returns its text (unescaped when it has escapes).
func (w *keyWalker) str() (string, error) {
	start := w.i
	esc := false
	for w.i++; w.i < len(w.data); w.i++ {
		switch w.data[w.i] {
		case '\\':
			esc = true
			w.i++
		case '"':
			w.i++
			raw := w.data[start:w.i]
			if !esc {
				return string(raw[1 : len(raw)-1]), nil
			}
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return "", errKeySyntax
			}
			return s, nil
		}
	}
	return "", errKeySyntax
}

const maxKeyDepth = 64

func (w *keyWalker) object(t reflect.Type, path string) error {
	if w.depth++; w.depth > maxKeyDepth {
		return badf("%s: nested deeper than %d levels", orBody(path), maxKeyDepth)
	}
	defer func() { w.depth-- }()
	var fields map[string]reflect.Type
	var elem reflect.Type
	if t != nil {
		switch t.Kind() {
		case reflect.Struct:
			fields = structFields(t)
		case reflect.Map:
			elem = t.Elem()
		}
	}
	w.i++ // {
	seen := make(map[string]bool, 8)
	w.space()
	if w.i < len(w.data) && w.data[w.i] == '}' {
		w.i++
		return nil
	}
	for {
		w.space()
		if w.i >= len(w.data) || w.data[w.i] != '"' {
			return errKeySyntax
		}
		key, err := w.str()
		if err != nil {
			return err
		}
		kp := joinPath(path, key)
		if !utf8.ValidString(key) {
			return badf("%s: object key is not valid UTF-8", orBody(path))
		}
		if seen[key] {
			return badf("%s: repeated key (each key once per object)", kp)
		}
		seen[key] = true
		ft := elem
		if fields != nil {
			var ok bool
			if ft, ok = fields[key]; !ok {
				if want := foldedField(fields, key); want != "" {
					return badf("%s: unknown field (field names are case-sensitive: %q)", kp, want)
				}
				return badf("%s: unknown field", kp)
			}
		}
		w.space()
		if w.i >= len(w.data) || w.data[w.i] != ':' {
			return errKeySyntax
		}
		w.i++
		if err := w.value(ft, kp); err != nil {
			return err
		}
		w.space()
		if w.i >= len(w.data) {
			return errKeySyntax
		}
		switch w.data[w.i] {
		case ',':
			w.i++
		case '}':
			w.i++
			return nil
		default:
			return errKeySyntax
		}
	}
}

func (w *keyWalker) array(t reflect.Type, path string) error {
	if w.depth++; w.depth > maxKeyDepth {
		return badf("%s: nested deeper than %d levels", orBody(path), maxKeyDepth)
	}
	defer func() { w.depth-- }()
	var elem reflect.Type
	if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		elem = t.Elem()
	}
	w.i++ // [
	w.space()
	if w.i < len(w.data) && w.data[w.i] == ']' {
		w.i++
		return nil
	}
	for n := 0; ; n++ {
		if err := w.value(elem, path+"["+strconv.Itoa(n)+"]"); err != nil {
			return err
		}
		w.space()
		if w.i >= len(w.data) {
			return errKeySyntax
		}
		switch w.data[w.i] {
		case ',':
			w.i++
		case ']':
			w.i++
			return nil
		default:
			return errKeySyntax
		}
	}
}

// foldedField is the field name key matches only case-insensitively (what
// encoding/json would have filled), or "".
func foldedField(fields map[string]reflect.Type, key string) string {
	for name := range fields {
		if strings.EqualFold(name, key) {
			return name
		}
	}
	return ""
}

var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// structFields returns the JSON field names of struct type t (as encoding/json names
// them: the tag's name, else the Go name; "-" skipped; untagged embedded structs
// promote their fields) with each field's type.
func structFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	addFields(m, t, 0)
	fieldCache.Store(t, m)
	return m
}

func addFields(m map[string]reflect.Type, t reflect.Type, depth int) {
	if depth > 8 {
		return
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				addFields(m, ft, depth+1)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := m[name]; !dup || depth == 0 {
			m[name] = f.Type
		}
	}
}

// DecodeStrict decodes the one JSON value of a request body into v, refusing unknown
// fields, field names that match only in another case, repeated keys and trailing data;
// every error is a bad request (400 through Fail) naming the field. Every HQ route that
// reads a JSON body decodes it with this.
func DecodeStrict(data []byte, v any) error { return decodeStrict(data, v, "") }
