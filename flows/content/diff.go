package content

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pharmachain/counter/flows"
)

// Op is what happened to a file, an entity or a field.
type Op string

// The operations of a diff.
const (
	Added     Op = "added"
	Removed   Op = "removed"
	Changed   Op = "changed"
	Reordered Op = "reordered" // the same entries in another order (the counter shows them in file order)
)

// Entity kinds: what a change belongs to, for an editor to name it in its own words.
const (
	KindDrug           = "drug"           // catalog entry, key = code
	KindQuestionnaire  = "questionnaire"  // a questionnaire's own fields (title, version), key = class
	KindQuestion       = "question"       // key = question id
	KindKnowledgeBase  = "knowledge base" // the knowledge base's own fields (version)
	KindRecommendation = "recommendation" // knowledge-base item, key = item id
	KindRule           = "rule"           // points rule, key = event kind
	KindMessage        = "message"        // follow-up message text, key = field name
	KindFile           = "file"           // a file that is not valid JSON, compared whole
)

// Change is one difference inside a file: an entity (a question, a recommendation, a
// drug, a points rule, a message) added, removed or reordered, or one of its fields
// added, removed or changed.
type Change struct {
	Op    Op     `json:"op"`
	Kind  string `json:"kind"`            // Kind* constant
	Key   string `json:"key,omitempty"`   // id, code, kind or field name of the entity
	Label string `json:"label,omitempty"` // its human name: question text, item title, drug name
	Field string `json:"field,omitempty"` // path inside the entity, e.g. choices[daily].label; "" = the entity as a whole
	Old   string `json:"old,omitempty"`   // compact JSON of the old value ("" when added)
	New   string `json:"new,omitempty"`   // compact JSON of the new value ("" when removed)
}

// FileDiff is the changes of one file.
type FileDiff struct {
	File    string   `json:"file"`
	Op      Op       `json:"op"` // Added, Removed or Changed
	Changes []Change `json:"changes"`
}

// Diff is what changed from one pack to another, file by file (only files that differ,
// in path order), and within each JSON file per question, recommendation, drug, rule or
// message — not a text diff: reformatting a file changes its hash but shows no change.
type Diff struct {
	From  string     `json:"from_hash"`
	To    string     `json:"to_hash"`
	Files []FileDiff `json:"files"`
}

// Compare returns the diff from a to b.
func Compare(a, b Pack) Diff {
	d := Diff{From: a.Hash(), To: b.Hash(), Files: []FileDiff{}}
	names := map[string]bool{}
	for n := range a.files {
		names[n] = true
	}
	for n := range b.files {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		ab, inA := a.files[n]
		bb, inB := b.files[n]
		if inA && inB && bytes.Equal(ab, bb) {
			continue
		}
		fd := FileDiff{File: n, Op: Changed}
		switch {
		case !inA:
			fd.Op = Added
		case !inB:
			fd.Op = Removed
		}
		fd.Changes = compareFile(n, ab, inA, bb, inB)
		if fd.Op == Changed && len(fd.Changes) == 0 {
			continue // same content, other formatting
		}
		d.Files = append(d.Files, fd)
	}
	return d
}

// Empty reports whether the packs' contents are the same.
func (d Diff) Empty() bool { return len(d.Files) == 0 }

// entity is one unit of a file the diff talks about.
type entity struct {
	kind, key, label string
	value            any
}

func decode(b []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, false
	}
	return v, true
}

func compareFile(name string, ab []byte, inA bool, bb []byte, inB bool) []Change {
	var av, bv any
	okA, okB := true, true
	if inA {
		av, okA = decode(ab)
	}
	if inB {
		bv, okB = decode(bb)
	}
	if !okA || !okB {
		c := Change{Op: Changed, Kind: KindFile, Key: name, Old: textSummary(ab, inA, okA), New: textSummary(bb, inB, okB)}
		switch {
		case !inA:
			c.Op = Added
		case !inB:
			c.Op = Removed
		}
		return []Change{c}
	}
	var ea, eb []entity
	if inA {
		ea = entities(name, av)
	}
	if inB {
		eb = entities(name, bv)
	}
	return compareEntities(ea, eb)
}

func textSummary(b []byte, present, valid bool) string {
	switch {
	case !present:
		return ""
	case !valid:
		return fmt.Sprintf("(%d bytes, not valid JSON)", len(b))
	}
	return fmt.Sprintf("(%d bytes)", len(b))
}

// entities splits a decoded data file into the units its editors think in.
func entities(name string, v any) []entity {
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	list := func(kind string, items []any, keyField, labelField string) []entity {
		var out []entity
		seen := map[string]int{}
		for i, it := range items {
			m, _ := it.(map[string]any)
			key := str(m, keyField)
			if key == "" {
				key = "#" + strconv.Itoa(i+1)
			}
			if seen[key]++; seen[key] > 1 {
				key += "#" + strconv.Itoa(seen[key])
			}
			out = append(out, entity{kind: kind, key: key, label: str(m, labelField), value: it})
		}
		return out
	}
	rest := func(kind, key string, m map[string]any, listField string) entity {
		r := make(map[string]any, len(m))
		for k, x := range m {
			if k != listField {
				r[k] = x
			}
		}
		return entity{kind: kind, key: key, value: r}
	}
	byKey := func(kind string, m map[string]any) []entity {
		var out []entity
		for _, k := range sortedKeys(m) {
			out = append(out, entity{kind: kind, key: k, value: m[k]})
		}
		return out
	}
	m, isObj := v.(map[string]any)
	switch {
	case name == flows.CatalogFile:
		if items, ok := v.([]any); ok {
			return list(KindDrug, items, "code", "name")
		}
	case strings.HasPrefix(name, flows.QuestionnairesDir+"/") && isObj:
		qs, _ := m["questions"].([]any)
		class := strings.TrimSuffix(strings.TrimPrefix(name, flows.QuestionnairesDir+"/"), ".json")
		return append([]entity{rest(KindQuestionnaire, class, m, "questions")}, list(KindQuestion, qs, "id", "text")...)
	case name == flows.KnowledgeFile && isObj:
		items, _ := m["items"].([]any)
		return append([]entity{rest(KindKnowledgeBase, "", m, "items")}, list(KindRecommendation, items, "id", "title")...)
	case name == flows.PointsFile && isObj:
		return byKey(KindRule, m)
	case name == flows.MessagesFile && isObj:
		return byKey(KindMessage, m)
	}
	return []entity{{kind: KindFile, key: name, value: v}}
}

func compareEntities(ea, eb []entity) []Change {
	var out []Change
	id := func(e entity) string { return e.kind + "\x00" + e.key }
	inA := make(map[string]entity, len(ea))
	for _, e := range ea {
		inA[id(e)] = e
	}
	inB := make(map[string]bool, len(eb))
	for _, e := range eb {
		inB[id(e)] = true
		a, ok := inA[id(e)]
		if !ok {
			if e.kind == KindQuestionnaire || e.kind == KindKnowledgeBase {
				// A new file's own fields are part of "file added".
				continue
			}
			out = append(out, Change{Op: Added, Kind: e.kind, Key: e.key, Label: e.label, New: compact(e.value)})
			continue
		}
		label := e.label
		if label == "" {
			label = a.label
		}
		diffValue("", a.value, e.value, func(op Op, field string, old, new any) {
			c := Change{Op: op, Kind: e.kind, Key: e.key, Label: label, Field: field}
			if op != Added {
				c.Old = compact(old)
			}
			if op != Removed {
				c.New = compact(new)
			}
			out = append(out, c)
		})
	}
	for _, e := range ea {
		if !inB[id(e)] && e.kind != KindQuestionnaire && e.kind != KindKnowledgeBase {
			out = append(out, Change{Op: Removed, Kind: e.kind, Key: e.key, Label: e.label, Old: compact(e.value)})
		}
	}
	// The order of questions, recommendations and drugs is what the counter shows.
	for _, kind := range []string{KindQuestion, KindRecommendation, KindDrug} {
		var oa, ob []string
		for _, e := range ea {
			if e.kind == kind && inB[id(e)] {
				oa = append(oa, e.key)
			}
		}
		for _, e := range eb {
			if _, ok := inA[id(e)]; e.kind == kind && ok {
				ob = append(ob, e.key)
			}
		}
		if strings.Join(oa, "\x00") != strings.Join(ob, "\x00") {
			out = append(out, Change{Op: Reordered, Kind: kind, Old: strings.Join(oa, ", "), New: strings.Join(ob, ", ")})
		}
	}
	return out
}

// diffValue reports the differences between two decoded JSON values under path: object
// fields one by one, lists of objects with an "id" matched by id, other lists of
// objects position by position, lists of plain values and plain values as a whole.
func diffValue(path string, a, b any, emit func(op Op, field string, old, new any)) {
	ma, okA := a.(map[string]any)
	mb, okB := b.(map[string]any)
	if okA && okB {
		keys := map[string]bool{}
		for k := range ma {
			keys[k] = true
		}
		for k := range mb {
			keys[k] = true
		}
		for _, k := range sortedKeys(keys) {
			va, inA := ma[k]
			vb, inB := mb[k]
			p := joinPath(path, k)
			switch {
			case !inA:
				emit(Added, p, nil, vb)
			case !inB:
				emit(Removed, p, va, nil)
			default:
				diffValue(p, va, vb, emit)
			}
		}
		return
	}
	la, okA := a.([]any)
	lb, okB := b.([]any)
	if okA && okB && (objects(la) || objects(lb)) {
		if keyed(la) && keyed(lb) {
			diffKeyed(path, la, lb, emit)
			return
		}
		for i := 0; i < len(la) || i < len(lb); i++ {
			p := fmt.Sprintf("%s[%d]", path, i)
			switch {
			case i >= len(la):
				emit(Added, p, nil, lb[i])
			case i >= len(lb):
				emit(Removed, p, la[i], nil)
			default:
				diffValue(p, la[i], lb[i], emit)
			}
		}
		return
	}
	if compact(a) != compact(b) {
		emit(Changed, path, a, b)
	}
}

func diffKeyed(path string, la, lb []any, emit func(op Op, field string, old, new any)) {
	idOf := func(x any) string { s, _ := x.(map[string]any)["id"].(string); return s }
	ia := map[string]any{}
	var oa []string
	for _, x := range la {
		ia[idOf(x)] = x
		oa = append(oa, idOf(x))
	}
	ib := map[string]bool{}
	var ob []string
	for _, x := range lb {
		k := idOf(x)
		ib[k] = true
		p := path + "[" + k + "]"
		if old, ok := ia[k]; ok {
			ob = append(ob, k)
			diffValue(p, old, x, emit)
		} else {
			emit(Added, p, nil, x)
		}
	}
	var common []string
	for _, k := range oa {
		if ib[k] {
			common = append(common, k)
		} else {
			emit(Removed, path+"["+k+"]", ia[k], nil)
		}
	}
	if strings.Join(common, "\x00") != strings.Join(ob, "\x00") {
		emit(Reordered, path, strings.Join(common, ", "), strings.Join(ob, ", "))
	}
}

// objects reports whether a list holds objects.
func objects(l []any) bool {
	for _, x := range l {
		if _, ok := x.(map[string]any); ok {
			return true
		}
	}
	return false
}

// keyed reports whether every element is an object with a distinct string "id".
func keyed(l []any) bool {
	seen := map[string]bool{}
	for _, x := range l {
		m, ok := x.(map[string]any)
		if !ok {
			return false
		}
		id, ok := m["id"].(string)
		if !ok || id == "" || seen[id] {
			return false
		}
		seen[id] = true
	}
	return true
}

// compact is the one-line JSON of a decoded value; "" for nil.
func compact(v any) string {
	if v == nil {
		return ""
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func joinPath(base, key string) string {
	if base == "" {
		return key
	}
	return base + "." + key
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// String renders the diff for a terminal: one block per file, one line per change.
//
//	questionnaires/hypertension.json: changed
//	  ~ question bp_measure (您多久测一次血压？): text "您多久测一次血压？" → "您多久量一次血压？"
//	  + question sleep (您睡得好吗？)
//	knowledge/kb.json: changed
//	  ~ recommendation pill_organiser (分格药盒): rules[0].weight 20 → 30
func (d Diff) String() string {
	if d.Empty() {
		return "no changes\n"
	}
	var b strings.Builder
	for _, f := range d.Files {
		fmt.Fprintf(&b, "%s: %s\n", f.File, f.Op)
		for _, c := range f.Changes {
			b.WriteString("  " + c.String() + "\n")
		}
	}
	return b.String()
}

// String renders one change on one line.
func (c Change) String() string {
	sign := map[Op]string{Added: "+", Removed: "-", Changed: "~", Reordered: "↕"}[c.Op]
	what := c.Kind
	if c.Key != "" {
		what += " " + c.Key
	}
	if c.Label != "" && c.Label != c.Key {
		what += " (" + short(c.Label) + ")"
	}
	if c.Op == Reordered && c.Field == "" {
		return fmt.Sprintf("%s %s order: %s → %s", sign, plural(c.Kind), short(c.Old), short(c.New))
	}
	if c.Field == "" {
		switch c.Op {
		case Added, Removed:
			return sign + " " + what
		}
		return fmt.Sprintf("%s %s: %s → %s", sign, what, short(c.Old), short(c.New))
	}
	switch c.Op {
	case Added:
		return fmt.Sprintf("%s %s: %s = %s", sign, what, c.Field, short(c.New))
	case Removed:
		return fmt.Sprintf("%s %s: %s (was %s)", sign, what, c.Field, short(c.Old))
	case Reordered:
		return fmt.Sprintf("%s %s: %s order %s → %s", sign, what, c.Field, short(unquote(c.Old)), short(unquote(c.New)))
	}
	return fmt.Sprintf("%s %s: %s %s → %s", sign, what, c.Field, short(c.Old), short(c.New))
}

func plural(kind string) string {
	if kind == KindQuestion || kind == KindRecommendation || kind == KindDrug {
		return kind + "s"
	}
	return kind
}

func unquote(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return s
}

// short cuts a value to 60 characters for a one-line display.
func short(s string) string {
	const max = 60
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}
