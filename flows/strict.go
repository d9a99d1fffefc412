package flows

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"
)

// decodeStrict decodes the one JSON value in data into v (a pointer), refusing what
// encoding/json lets through silently: unknown object fields (also a field spelled in
// another case), duplicate keys, invalid UTF-8 and anything after the value. A leading
// UTF-8 byte-order mark (Windows Notepad writes one) is ignored. Errors are *DataError
// with the JSON path and line of the offending value.
func decodeStrict(data []byte, v any) error {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		i := 0
		for i < len(data) {
			r, n := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			i += n
		}
		return &DataError{Line: lineAt(data, i), Msg: "not UTF-8 text (save the file as UTF-8)"}
	}
	values, err := walkJSON(data, reflect.TypeOf(v))
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// The walk already refused syntax errors, unknown fields and wrong JSON types;
		// what is left are values the Go type cannot hold (an int too large, 1.5 for an
		// int, a bad date).
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &DataError{Field: pathAt(values, te.Offset), Line: lineAt(data, int(te.Offset)), Msg: fmt.Sprintf("%s does not fit (want %s)", te.Value, kindWord(te.Type))}
		}
		return &DataError{Msg: strings.TrimPrefix(err.Error(), "json: ")}
	}
	return nil
}

// lineAt is the 1-based line of byte offset off in data.
func lineAt(data []byte, off int) int {
	if off > len(data) {
		off = len(data)
	}
	if off < 0 {
		off = 0
	}
	return bytes.Count(data[:off], []byte{'\n'}) + 1
}

// valueEnd is where a scalar value ends in the input and its path.
type valueEnd struct {
	end  int64
	path string
}

// pathAt is the path of the scalar value ending at input offset off (encoding/json's
// type errors give the offset after the value but no index of the lists on its path).
func pathAt(values []valueEnd, off int64) string {
	for _, v := range values {
		if v.end == off {
			return v.path
		}
	}
	return ""
}

// walkJSON reads data token by token alongside the Go type it will be decoded into and
// refuses syntax errors, duplicate keys, fields the type does not have, values of the
// wrong JSON type and trailing data, naming the path and line of each. It returns where
// each scalar value ends, for the errors the decoder reports later.
func walkJSON(data []byte, t reflect.Type) ([]valueEnd, error) {
	var values []valueEnd
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		obj     bool
		path    string
		typ     reflect.Type   // nil: anything goes
		fields  map[string]int // of typ when it is a struct
		keys    map[string]bool
		key     string
		wantKey bool
		n       int
	}
	var stack []*frame
	started := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if !started {
				return nil, &DataError{Line: 1, Msg: "empty file (want a JSON value)"}
			}
			if len(stack) > 0 {
				return nil, &DataError{Line: lineAt(data, len(data)), Msg: "not valid JSON: unexpected end of file (a } or ] is missing)"}
			}
			return values, nil
		}
		if err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				return nil, &DataError{Line: lineAt(data, int(se.Offset)), Msg: "not valid JSON: " + se.Error()}
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, &DataError{Line: lineAt(data, len(data)), Msg: "not valid JSON: unexpected end of file (a } or ] is missing)"}
			}
			return nil, &DataError{Line: lineAt(data, int(dec.InputOffset())), Msg: "not valid JSON: " + err.Error()}
		}
		line := lineAt(data, int(dec.InputOffset()))
		if started && len(stack) == 0 {
			return nil, &DataError{Line: line, Msg: "trailing data after the JSON value"}
		}
		started = true
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			if len(stack) > 0 {
				stack[len(stack)-1].wantKey = stack[len(stack)-1].obj
			}
			continue
		}
		if top != nil && top.obj && top.wantKey {
			key, ok := tok.(string)
			if !ok { // the decoder returns only strings in key position
				return nil, &DataError{Field: top.path, Line: line, Msg: "not valid JSON: an object key must be a string"}
			}
			p := joinPath(top.path, key)
			if top.keys[key] {
				return nil, &DataError{Field: p, Line: line, Msg: fmt.Sprintf("duplicate key %q", key)}
			}
			top.keys[key] = true
			top.key = key
			top.wantKey = false
			if top.fields != nil {
				if _, ok := top.fields[key]; !ok {
					return nil, &DataError{Field: p, Line: line, Msg: fmt.Sprintf("unknown field %q (known: %s)", key, strings.Join(fieldNames(top.typ), ", "))}
				}
			}
			continue
		}
		// A value: its path and the Go type it goes into.
		var path string
		var vt reflect.Type
		switch {
		case top == nil:
			vt = t
		case top.obj:
			path = joinPath(top.path, top.key)
			vt = childType(top.typ, top.fields, top.key)
		default:
			path = index(top.path, top.n)
			top.n++
			vt = childType(top.typ, nil, "")
		}
		vt = deref(vt)
		if want, ok := jsonKind(vt); ok && tok == nil && top == nil {
			return nil, &DataError{Line: line, Msg: fmt.Sprintf("want %s, got null", want)}
		}
		if want, ok := jsonKind(vt); ok && tok != nil {
			if got := tokenKind(tok); got != want {
				return nil, &DataError{Field: path, Line: line, Msg: fmt.Sprintf("want %s, got %s", want, got)}
			}
		}
		if d, ok := tok.(json.Delim); ok {
			f := &frame{obj: d == '{', path: path, typ: vt}
			if f.obj {
				if vt != nil && vt.Kind() == reflect.Struct {
					f.fields = jsonFields(vt)
				}
				f.keys = map[string]bool{}
				f.wantKey = true
			}
			stack = append(stack, f)
			continue
		}
		values = append(values, valueEnd{end: dec.InputOffset(), path: path})
		if top != nil && top.obj {
			top.wantKey = true
		}
	}
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// childType is the Go type of a struct's field key (fields = jsonFields(t)) or of a
// map's, slice's or array's element; nil when unknown.
func childType(t reflect.Type, fields map[string]int, key string) reflect.Type {
	t = deref(t)
	if t == nil {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if i, ok := fields[key]; ok {
			return t.Field(i).Type
		}
	case reflect.Map, reflect.Slice, reflect.Array:
		return t.Elem()
	}
	return nil
}

// jsonKind is the JSON type a Go type decodes from ("" and false: anything).
func jsonKind(t reflect.Type) (string, bool) {
	if t == nil {
		return "", false
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		return "a string", true
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object", true
	case reflect.Slice, reflect.Array:
		return "a list", true
	case reflect.String:
		return "a string", true
	case reflect.Bool:
		return "true or false", true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number", true
	}
	return "", false
}

func kindWord(t reflect.Type) string {
	if w, ok := jsonKind(t); ok {
		if t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64 {
			return "a whole number"
		}
		return w
	}
	return t.String()
}

func tokenKind(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		return "a list"
	case string:
		return "a string"
	case bool:
		return "true or false"
	case json.Number:
		return "a number"
	}
	return "null"
}

// jsonFields maps the exact JSON names of a struct's fields to their index. (Data files
// are small: no cache.)
func jsonFields(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		if name := jsonName(t.Field(i)); name != "" {
			m[name] = i
		}
	}
	return m
}

// fieldNames lists a struct's JSON field names in declaration order.
func fieldNames(t reflect.Type) []string {
	var names []string
	for i := 0; i < t.NumField(); i++ {
		if name := jsonName(t.Field(i)); name != "" {
			names = append(names, name)
		}
	}
	return names
}

func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	switch name {
	case "-":
		return ""
	case "":
		return f.Name
	}
	return name
}
