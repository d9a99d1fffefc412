package flows

import (
	"errors"
	"fmt"
	"strings"
)

// DataError is one problem in a domain data file: the file, the field (a JSON path such
// as items[3].rules[0].levels), the thing it belongs to and what is wrong, in words the
// author of the file can act on. Every loader in this package returns one (wrapped at
// most by the caller) so that a content editor can point at the offending field.
//
// It marshals to JSON as {"file", "field", "line", "entity", "message"} for an editor
// to show next to the field.
type DataError struct {
	File   string `json:"file"`             // data file inside the tree, e.g. knowledge/kb.json; "" when parsed alone
	Field  string `json:"field,omitempty"`  // JSON path of the offending value; "" = the file as a whole
	Line   int    `json:"line,omitempty"`   // 1-based line of the value when known (syntax, key and type errors), else 0
	Entity string `json:"entity,omitempty"` // what the field belongs to, e.g. item "bp_monitor_calibration"; may be ""
	Msg    string `json:"message"`
}

func (e *DataError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	switch {
	case e.Field != "" && e.Entity != "":
		fmt.Fprintf(&b, "field %s (%s): ", e.Field, e.Entity)
	case e.Field != "":
		fmt.Fprintf(&b, "field %s: ", e.Field)
	case e.Entity != "":
		fmt.Fprintf(&b, "%s: ", e.Entity)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// fieldErr builds a DataError without a file (the loader names it).
func fieldErr(field, entity, format string, args ...any) *DataError {
	return &DataError{Field: field, Entity: entity, Msg: fmt.Sprintf(format, args...)}
}

// inFile names the file of a DataError that has none yet; other errors become a
// DataError of the whole file.
func inFile(err error, file string) error {
	if err == nil {
		return nil
	}
	var de *DataError
	if errors.As(err, &de) {
		if de.File == "" {
			c := *de
			c.File = file
			return &c
		}
		return err
	}
	return &DataError{File: file, Msg: err.Error()}
}

// joinPath appends a key or an index to a JSON path: items + [3] → items[3],
// items[3] + rules → items[3].rules; keys that are not plain ids are quoted.
func joinPath(base, key string) string {
	if strings.HasPrefix(key, "[") {
		return base + key
	}
	if !plainKey(key) {
		key = fmt.Sprintf("[%q]", key)
		return base + key
	}
	if base == "" {
		return key
	}
	return base + "." + key
}

func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func index(base string, i int) string { return fmt.Sprintf("%s[%d]", base, i) }
