// Package i18n says flows' codes and numbers in words, from the translation files
// (assets/data/translations: zh_Hans.json, en.json). The counter's screens look keys up
// through Fyne's lang.L; the HQ dashboard, the command-line reports and the texts the
// counter records (in both languages) read the same files through Texts. The render
// functions (AlertText, ClassName, …) take either lookup, so a code is said the same way
// everywhere. It reads only the embedded files; it has no Fyne.
package i18n

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/template"

	"github.com/pharmachain/counter/assets"
	"github.com/pharmachain/counter/flows"
)

// Locale names a translation file.
type Locale string

// The translation files.
const (
	ZhHans Locale = "zh_Hans"
	En     Locale = "en"
)

// Dir is the translation files' directory inside the assets.
const Dir = "translations"

// File is the asset path of a locale's file, e.g. translations/en.json.
func File(l Locale) string { return Dir + "/" + string(l) + ".json" }

// Lookup says a key with its parameters (a map[string]any as the only data argument):
// Fyne's lang.L in the counter, (*Texts).L elsewhere.
type Lookup func(key string, data ...any) string

// Texts is one translation file, its templates parsed.
type Texts struct {
	raw  map[string]string
	tmpl map[string]*template.Template
}

// Load reads a locale's embedded translation file.
func Load(l Locale) (*Texts, error) {
	b, err := assets.Read(File(l))
	if err != nil {
		return nil, fmt.Errorf("translations %s: %w", l, err)
	}
	return Parse(l, b)
}

// Parse reads a translation file: a JSON object of key → text/template (the format
// Fyne's lang reads). A text that is not a valid template is an error naming its key.
func Parse(l Locale, data []byte) (*Texts, error) {
	raw := map[string]string{}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("translations %s: %w", l, err)
	}
	t := &Texts{raw: raw, tmpl: make(map[string]*template.Template, len(raw))}
	for k, v := range raw {
		if !strings.Contains(v, "{{") {
			continue
		}
		tm, err := template.New(k).Parse(v)
		if err != nil {
			return nil, fmt.Errorf("translations %s: key %q: %w", l, k, err)
		}
		t.tmpl[k] = tm
	}
	return t, nil
}

// Has reports whether the file has key.
func (t *Texts) Has(key string) bool {
	_, ok := t.raw[key]
	return ok
}

// Keys lists the file's keys in order.
func (t *Texts) Keys() []string {
	ks := make([]string, 0, len(t.raw))
	for k := range t.raw {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Raw is the text of key as written in the file (templates unexpanded).
func (t *Texts) Raw(key string) string { return t.raw[key] }

// L says key with data (one map[string]any of parameters), as lang.L does: a missing
// key is said as the key itself, a template that fails as its raw text.
func (t *Texts) L(key string, data ...any) string {
	v, ok := t.raw[key]
	if !ok {
		return key
	}
	tm := t.tmpl[key]
	if tm == nil {
		return v
	}
	var arg any
	if len(data) > 0 {
		arg = data[0]
	}
	var b strings.Builder
	if err := tm.Execute(&b, arg); err != nil {
		return v
	}
	return b.String()
}

// ClassName is a chronic class's name ("class."+class; ClassGeneral too).
func ClassName(l Lookup, class string) string { return l("class." + class) }

// LevelWord is the level as a word inside a sentence (a knowledge-base reason).
func LevelWord(l Lookup, level string) string {
	switch level {
	case flows.LevelOK, flows.LevelYellow, flows.LevelRed, flows.LevelUnknown:
		return l("level_word." + level)
	}
	return l("level_word.none")
}

// StepName is the name of a step of the four-step method ("step.1" … "step.4").
func StepName(l Lookup, step int) string { return l(fmt.Sprintf("step.%d", step)) }

// AlertText is a class's alert (flows.AlertOf), e.g.
// 高血压用药连续性存疑：近90天覆盖率 67%，已断药 12 天.
func AlertText(l Lookup, a flows.Alert) string {
	key := "alert." + a.Code
	if a.Code == flows.AlertGap && a.Uncounted > 0 {
		key = "alert.gap_uncounted"
	}
	return l(key, map[string]any{"Class": ClassName(l, a.Class), "Days": a.LookbackDays, "PDC": a.Percent,
		"Gap": a.DaysWithoutSupply, "N": a.Uncounted})
}

// UnknownDrugsText is the note for n shown purchases whose drug is unknown (flows.UnknownDrugs);
// "" for none.
func UnknownDrugsText(l Lookup, n int) string {
	if n == 0 {
		return ""
	}
	return l("alert.unknown_drugs", map[string]any{"N": n})
}

// ReasonWords are the words a knowledge-base reason puts in for the class and level, in
// both languages (a recommendation records its reason in Chinese and English whatever
// the counter's language).
func ReasonWords(zh, en Lookup, class, level string) flows.ReasonWords {
	if class == "" {
		class = flows.ClassGeneral
	}
	return flows.ReasonWords{Class: ClassName(zh, class), Level: LevelWord(zh, level),
		ClassEn: ClassName(en, class), LevelEn: LevelWord(en, level)}
}

// FollowUpClassNames are the words the follow-up reminder (always Chinese: it goes to
// the customer) uses for each class.
func FollowUpClassNames(zh Lookup) map[string]string {
	m := map[string]string{flows.ClassGeneral: zh("followup.class_general")}
	for _, c := range flows.Classes() {
		m[c] = ClassName(zh, c)
	}
	return m
}

// Both loads the Chinese and the English file: what a visit records in both languages
// (recommendation reasons) and the customer's Chinese reminder need them whatever the
// counter's language.
func Both() (zh, en *Texts, err error) {
	if zh, err = Load(ZhHans); err != nil {
		return nil, nil, err
	}
	if en, err = Load(En); err != nil {
		return nil, nil, err
	}
	return zh, en, nil
}
