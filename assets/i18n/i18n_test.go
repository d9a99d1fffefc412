package i18n

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/pharmachain/counter/flows"
)

func load(t *testing.T, l Locale) *Texts {
	t.Helper()
	tx, err := Load(l)
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

var field = regexp.MustCompile(`\{\{\s*\.([A-Za-z0-9_]+)`)

// fields lists the parameters a text uses.
func fields(s string) []string {
	var out []string
	for _, m := range field.FindAllStringSubmatch(s, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	slices.Sort(out)
	return out
}

// Every key is in both files, uses the same parameters in both, and the English file
// says nothing in Chinese.
func TestFilesMatch(t *testing.T) {
	zh, en := load(t, ZhHans), load(t, En)
	if !slices.Equal(zh.Keys(), en.Keys()) {
		for _, k := range zh.Keys() {
			if !en.Has(k) {
				t.Errorf("en.json lacks %q", k)
			}
		}
		for _, k := range en.Keys() {
			if !zh.Has(k) {
				t.Errorf("zh_Hans.json lacks %q", k)
			}
		}
	}
	for _, k := range zh.Keys() {
		if !en.Has(k) {
			continue
		}
		if fz, fe := fields(zh.Raw(k)), fields(en.Raw(k)); !slices.Equal(fz, fe) {
			t.Errorf("%q: zh_Hans uses %v, en uses %v", k, fz, fe)
		}
		if strings.ContainsFunc(en.Raw(k), func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
			t.Errorf("en.json %q is Chinese: %q", k, en.Raw(k))
		}
	}
}

// Every code flows gives the UI has its words in both files.
func TestFlowsCodesHaveWords(t *testing.T) {
	for _, l := range []Locale{ZhHans, En} {
		tx := load(t, l)
		var keys []string
		for _, c := range append(flows.Classes(), flows.ClassGeneral) {
			keys = append(keys, "class."+c)
		}
		for _, lv := range []string{flows.LevelOK, flows.LevelYellow, flows.LevelRed, flows.LevelUnknown, "none"} {
			keys = append(keys, "level."+lv, "level_word."+lv)
		}
		for s := flows.StepIdentify; s <= flows.StepFollowUp; s++ {
			keys = append(keys, "step."+string(rune('0'+s)))
		}
		for _, c := range []string{flows.AlertGap, flows.AlertNotComputable, flows.AlertUncounted, "gap_uncounted", "unknown_drugs"} {
			keys = append(keys, "alert."+c)
		}
		keys = append(keys, "error.step_order", "followup.class_general")
		for _, k := range keys {
			if !tx.Has(k) {
				t.Errorf("%s lacks %q", l, k)
			}
		}
	}
}

func alertOf(t *testing.T, r flows.ClassResult) flows.Alert {
	t.Helper()
	a, ok := flows.AlertOf(r)
	if !ok {
		t.Fatalf("no alert for %+v", r)
	}
	return a
}

// The counter's alerts in their reference wording, and their English.
func TestAlertWording(t *testing.T) {
	zh, en := load(t, ZhHans), load(t, En)
	gap := flows.ClassResult{Class: flows.ClassHypertension, Level: flows.LevelYellow, PDC: 60.0 / 90, CoveredDays: 60, PeriodDays: 90,
		DaysWithoutSupply: 12, LookbackDays: 90}
	for _, c := range []struct {
		r      flows.ClassResult
		zh, en string
	}{
		{gap, "高血压用药连续性存疑：近90天覆盖率 67%，已断药 12 天",
			"Hypertension adherence in doubt: 90-day coverage 67%, 12 days without supply"},
		{flows.ClassResult{Class: flows.ClassDiabetes, Level: flows.LevelRed, PDC: 0.3, CoveredDays: 27, PeriodDays: 90, DaysWithoutSupply: 20},
			"糖尿病用药连续性存疑：近90天覆盖率 30%，已断药 20 天", "Diabetes adherence in doubt: 90-day coverage 30%, 20 days without supply"},
		{func() flows.ClassResult { r := gap; r.Uncounted = []string{"x"}; return r }(),
			"高血压用药连续性存疑：近90天覆盖率 67%，已断药 12 天（另有 1 笔购药缺少用药天数，未计入覆盖率）", ""},
		{flows.ClassResult{Class: flows.ClassHypertension, Level: flows.LevelOK, Uncounted: []string{"x"}},
			"高血压用药：另有 1 笔购药缺少用药天数，未计入覆盖率", "Hypertension: purchases without days' supply, not counted: 1"},
		{flows.ClassResult{Class: flows.ClassHyperlipidemia, Level: flows.LevelUnknown, Uncounted: []string{"x", "y"}},
			"高血脂用药连续性无法计算：2 笔购药缺少用药天数，未计入覆盖率", ""},
		{func() flows.ClassResult { r := gap; r.LookbackDays = 30; return r }(), "高血压用药连续性存疑：近30天覆盖率 67%，已断药 12 天",
			"Hypertension adherence in doubt: 30-day coverage 67%, 12 days without supply"},
	} {
		a := alertOf(t, c.r)
		if got := AlertText(zh.L, a); got != c.zh {
			t.Errorf("zh %+v:\n got %q\nwant %q", a, got, c.zh)
		}
		got := AlertText(en.L, a)
		if c.en != "" && got != c.en {
			t.Errorf("en %+v:\n got %q\nwant %q", a, got, c.en)
		}
		if strings.Contains(got, "{{") || strings.Contains(got, "<no value>") || strings.ContainsFunc(got, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
			t.Errorf("en %+v: %q", a, got)
		}
	}
	if got := UnknownDrugsText(zh.L, 2); got != "另有 2 笔购药无法识别药品，未计入覆盖率" {
		t.Errorf("unknown drugs: %q", got)
	}
	if UnknownDrugsText(zh.L, 0) != "" {
		t.Error("a note for no unknown drugs")
	}
}

func TestWords(t *testing.T) {
	zh, en := load(t, ZhHans), load(t, En)
	w := ReasonWords(zh.L, en.L, flows.ClassHypertension, flows.LevelRed)
	if w != (flows.ReasonWords{Class: "高血压", Level: "高风险", ClassEn: "Hypertension", LevelEn: "at risk"}) {
		t.Errorf("reason words %+v", w)
	}
	if w := ReasonWords(zh.L, en.L, "", ""); w.Class != "综合" || w.Level != "未评估" {
		t.Errorf("general, no level: %+v", w)
	}
	names := FollowUpClassNames(zh.L)
	if names[flows.ClassDiabetes] != "糖尿病" || names[flows.ClassGeneral] != "慢病" {
		t.Errorf("follow-up class names %v", names)
	}
	if got := zh.L("error.step_order", map[string]any{"Step": StepName(zh.L, 3), "Next": StepName(zh.L, 2)}); got != "还不能记录“方案推荐”：请先完成“需求挖掘”" {
		t.Errorf("step order: %q", got)
	}
	if LevelWord(en.L, "") != "not assessed" || LevelWord(zh.L, flows.LevelRed) != "高风险" {
		t.Error("level words")
	}
	// A missing key is said as itself; a bad template as its raw text.
	if zh.L("no.such.key") != "no.such.key" {
		t.Error("missing key")
	}
	tx, err := Parse(En, []byte(`{"a": "{{.X}} and {{.Y}}", "b": "{{.X.Y}}"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := tx.L("a", map[string]any{"X": 1, "Y": "two"}); got != "1 and two" {
		t.Errorf("template: %q", got)
	}
	if got := tx.L("b", map[string]any{"X": 1}); got != "{{.X.Y}}" {
		t.Errorf("failing template: %q", got)
	}
	if _, err := Parse(En, []byte(`{"a": "{{.X"}`)); err == nil || !strings.Contains(err.Error(), `"a"`) {
		t.Errorf("broken template: %v", err)
	}
}
