package flows

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// fills are written "MM-DD ingredient days" (year 2026) as in the reference's worked
// examples (copied into testdata/adherence-reference.md).
func mkFills(t testing.TB, specs ...string) []Purchase {
	t.Helper()
	var out []Purchase
	for i, s := range specs {
		var md, ingr string
		var days int
		if _, err := fmt.Sscanf(s, "%s %s %d", &md, &ingr, &days); err != nil {
			t.Fatalf("bad fill spec %q: %v", s, err)
		}
		d, err := ParseDay("2026-" + md)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Purchase{
			ID:         fmt.Sprintf("p%d", i+1),
			SoldAt:     d.Time().Add(10 * time.Hour),
			DrugCode:   "POS-" + ingr,
			Ingredient: ingr,
			ATC:        atcOf[ingr],
			Quantity:   1,
			DaysSupply: days,
		})
	}
	return out
}

var atcOf = map[string]string{
	"amlodipine":   "C08CA01",
	"valsartan":    "C09CA03",
	"nifedipine":   "C08CA05",
	"metformin":    "A10BA02",
	"gliclazide":   "A10BB09",
	"atorvastatin": "C10AA05",
	"insulin":      "A10AB01",
	"amoxicillin":  "J01CA04",
}

func day(t testing.TB, s string) Day {
	t.Helper()
	d, err := ParseDay(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

type want struct {
	class       string
	start       string
	covered     int
	period      int
	pdc         float64
	gap         int
	fills       int
	level       string
	uncountedNo int
}

func check(t *testing.T, a Analysis, w want) {
	t.Helper()
	r, ok := a.Class(w.class)
	if !ok {
		t.Fatalf("class %s absent from %+v", w.class, a.Classes)
	}
	if w.start != "" && r.PeriodStart.String() != w.start {
		t.Errorf("%s: period start %s, want %s", w.class, r.PeriodStart, w.start)
	}
	if r.CoveredDays != w.covered || r.PeriodDays != w.period {
		t.Errorf("%s: covered %d/%d, want %d/%d", w.class, r.CoveredDays, r.PeriodDays, w.covered, w.period)
	}
	if math.Abs(r.PDC-w.pdc) > 0.00005 {
		t.Errorf("%s: pdc %.5f, want %.4f", w.class, r.PDC, w.pdc)
	}
	if r.DaysWithoutSupply != w.gap {
		t.Errorf("%s: days without supply %d, want %d", w.class, r.DaysWithoutSupply, w.gap)
	}
	if w.fills != 0 && r.Fills != w.fills {
		t.Errorf("%s: fills %d, want %d", w.class, r.Fills, w.fills)
	}
	if r.Level != w.level {
		t.Errorf("%s: level %s, want %s", w.class, r.Level, w.level)
	}
	if len(r.Uncounted) != w.uncountedNo {
		t.Errorf("%s: uncounted %v, want %d", w.class, r.Uncounted, w.uncountedNo)
	}
}

// TestWorkedExamples runs every worked example of the reference (E = 2026-06-30).
func TestWorkedExamples(t *testing.T) {
	E := day(t, "2026-06-30")
	cases := []struct {
		name  string
		fills []string
		want  want
	}{
		{"three monthly fills", []string{"04-02 amlodipine 30", "05-02 amlodipine 30", "06-01 amlodipine 30"},
			want{ClassHypertension, "2026-04-02", 90, 90, 1.0, 0, 3, LevelOK, 0}},
		{"gap of 12 days", []string{"04-02 amlodipine 30", "05-20 amlodipine 30"},
			want{ClassHypertension, "2026-04-02", 60, 90, 0.6667, 12, 2, LevelYellow, 0}},
		{"carry-in before W", []string{"03-01 valsartan 30", "06-15 valsartan 7"},
			want{ClassHypertension, "2026-04-02", 7, 90, 0.0778, 9, 2, LevelRed, 0}},
		{"single recent fill", []string{"06-10 metformin 30"},
			want{ClassDiabetes, "2026-06-10", 21, 21, 1.0, 0, 1, LevelOK, 0}},
		{"early refill shifts", []string{"04-02 amlodipine 30", "04-20 amlodipine 30", "06-01 amlodipine 30"},
			want{ClassHypertension, "2026-04-02", 90, 90, 1.0, 0, 3, LevelOK, 0}},
		{"class union", []string{"04-02 amlodipine 60", "04-02 valsartan 30"},
			want{ClassHypertension, "2026-04-02", 60, 90, 0.6667, 30, 2, LevelRed, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := Analyze(mkFills(t, c.fills...), nil, E, DefaultAdherenceOptions())
			if len(a.Classes) != 1 {
				t.Fatalf("classes %+v, want one", a.Classes)
			}
			check(t, a, c.want)
		})
	}
}

// The reference case (高血压用药连续性存疑：近90天覆盖率 67%，已断药 12 天 once rendered;
// the wording is tested in assets/i18n) as a code and its numbers.
func TestAlertReference(t *testing.T) {
	E := day(t, "2026-06-30")
	a := Analyze(mkFills(t, "04-02 amlodipine 30", "05-20 amlodipine 30"), nil, E, DefaultAdherenceOptions())
	got, show := AlertOf(a.Classes[0])
	want := Alert{Code: AlertGap, Class: ClassHypertension, Level: LevelYellow, LookbackDays: 90, Percent: 67, DaysWithoutSupply: 12}
	if !show || got != want {
		t.Fatalf("alert %+v, want %+v", got, want)
	}
	ok := Analyze(mkFills(t, "04-02 amlodipine 30", "05-02 amlodipine 30", "06-01 amlodipine 30"), nil, E, DefaultAdherenceOptions())
	if a, show := AlertOf(ok.Classes[0]); show {
		t.Fatalf("ok class alert %+v, want none", a)
	}
	got, _ = AlertOf(ClassResult{Class: ClassDiabetes, Level: LevelRed, PDC: 0.3, CoveredDays: 27, PeriodDays: 90, DaysWithoutSupply: 20})
	if want := (Alert{Code: AlertGap, Class: ClassDiabetes, Level: LevelRed, LookbackDays: 90, Percent: 30, DaysWithoutSupply: 20}); got != want {
		t.Fatalf("diabetes alert %+v", got)
	}
}

func TestLevelBoundaries(t *testing.T) {
	E := day(t, "2026-06-30")
	cases := []struct {
		name  string
		fills []string
		want  want
	}{
		// days without supply 3 / 4 (period < 30, so pdc is not judged)
		{"gap 3 ok", []string{"06-10 metformin 18"}, want{ClassDiabetes, "2026-06-10", 18, 21, 18.0 / 21, 3, 1, LevelOK, 0}},
		{"gap 4 yellow", []string{"06-10 metformin 17"}, want{ClassDiabetes, "2026-06-10", 17, 21, 17.0 / 21, 4, 1, LevelYellow, 0}},
		// days without supply 14 / 15
		{"gap 14 yellow", []string{"06-05 metformin 12"}, want{ClassDiabetes, "2026-06-05", 12, 26, 12.0 / 26, 14, 1, LevelYellow, 0}},
		{"gap 15 red", []string{"06-05 metformin 11"}, want{ClassDiabetes, "2026-06-05", 11, 26, 11.0 / 26, 15, 1, LevelRed, 0}},
		// pdc exactly 0.5 is not red; one day less is
		{"pdc 0.5 yellow", []string{"04-02 amlodipine 20", "06-06 amlodipine 25"}, want{ClassHypertension, "2026-04-02", 45, 90, 0.5, 0, 2, LevelYellow, 0}},
		{"pdc 44/90 red", []string{"04-02 amlodipine 19", "06-06 amlodipine 25"}, want{ClassHypertension, "2026-04-02", 44, 90, 44.0 / 90, 0, 2, LevelRed, 0}},
		// pdc exactly 0.8 is ok; one day less is yellow
		{"pdc 0.8 ok", []string{"04-02 amlodipine 47", "06-06 amlodipine 25"}, want{ClassHypertension, "2026-04-02", 72, 90, 0.8, 0, 2, LevelOK, 0}},
		{"pdc 71/90 yellow", []string{"04-02 amlodipine 46", "06-06 amlodipine 25"}, want{ClassHypertension, "2026-04-02", 71, 90, 71.0 / 90, 0, 2, LevelYellow, 0}},
		// period 29 is not judged on pdc, period 30 is
		{"period 29 not judged", []string{"06-02 atorvastatin 10", "06-28 atorvastatin 3"}, want{ClassHyperlipidemia, "2026-06-02", 13, 29, 13.0 / 29, 0, 2, LevelOK, 0}},
		{"period 30 judged", []string{"06-01 atorvastatin 10", "06-28 atorvastatin 3"}, want{ClassHyperlipidemia, "2026-06-01", 13, 30, 13.0 / 30, 0, 2, LevelRed, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check(t, Analyze(mkFills(t, c.fills...), nil, E, DefaultAdherenceOptions()), c.want)
		})
	}
}

func TestHorizon(t *testing.T) {
	E := day(t, "2026-06-30") // W = 04-02, horizon starts 2025-10-04
	in := mkFills(t, "06-29 amlodipine 1")
	in[0].SoldAt = day(t, "2025-10-04").Time().Add(9 * time.Hour)
	in[0].DaysSupply = 300 // covers up to 2026-07-30
	a := Analyze(in, nil, E, DefaultAdherenceOptions())
	check(t, a, want{ClassHypertension, "2026-04-02", 90, 90, 1, 0, 1, LevelOK, 0})
	if len(a.Shown) != 1 {
		t.Fatalf("shown %d", len(a.Shown))
	}

	in[0].SoldAt = day(t, "2025-10-03").Time().Add(23 * time.Hour) // one day before the horizon
	a = Analyze(in, nil, E, DefaultAdherenceOptions())
	if len(a.Classes) != 0 || len(a.Shown) != 0 {
		t.Fatalf("out-of-horizon fill used: %+v", a)
	}
	// Fills after E are ignored too.
	late := mkFills(t, "07-01 amlodipine 30")
	if a := Analyze(late, nil, E, DefaultAdherenceOptions()); len(a.Classes) != 0 || len(a.Shown) != 0 {
		t.Fatalf("future fill used: %+v", a)
	}
	// Local date is Asia/Shanghai: 2026-06-30 16:30 UTC is 07-01 00:30 in Shanghai.
	utc := mkFills(t, "06-30 amlodipine 30")
	utc[0].SoldAt = time.Date(2026, 6, 30, 16, 30, 0, 0, time.UTC)
	if a := Analyze(utc, nil, E, DefaultAdherenceOptions()); len(a.Classes) != 0 {
		t.Fatalf("fill on Shanghai date 07-01 counted as of 06-30: %+v", a.Classes)
	}
}

func TestOverlaps(t *testing.T) {
	E := day(t, "2026-06-30")
	// Different ingredients never shift each other: union only.
	a := Analyze(mkFills(t, "06-01 amlodipine 30", "06-01 valsartan 30"), nil, E, DefaultAdherenceOptions())
	check(t, a, want{ClassHypertension, "2026-06-01", 30, 30, 1, 0, 2, LevelOK, 0})
	// Same ingredient, several early refills stack up past E.
	a = Analyze(mkFills(t, "05-01 amlodipine 30", "05-05 amlodipine 30", "05-10 amlodipine 30"), nil, E, DefaultAdherenceOptions())
	check(t, a, want{ClassHypertension, "2026-05-01", 61, 61, 1, 0, 3, LevelOK, 0})
	lines := a.Lines
	if lines[2].CoverFrom.String() != "2026-06-30" || lines[2].CoverTo.String() != "2026-07-29" {
		t.Errorf("third fill shifted to %s..%s, want 2026-06-30..2026-07-29", lines[2].CoverFrom, lines[2].CoverTo)
	}
	// Carry-in fill that shifts a fill inside the window.
	a = Analyze(mkFills(t, "03-20 amlodipine 30", "04-05 amlodipine 30"), nil, E, DefaultAdherenceOptions())
	// 03-20..04-18 then shifted 04-19..05-18: window covered 04-02..05-18 = 47 days
	check(t, a, want{ClassHypertension, "2026-04-02", 47, 90, 47.0 / 90, 43, 2, LevelRed, 0})
	// Ingredient case does not matter.
	p := mkFills(t, "06-01 amlodipine 15", "06-01 amlodipine 15")
	p[1].Ingredient = "Amlodipine"
	a = Analyze(p, nil, E, DefaultAdherenceOptions())
	check(t, a, want{ClassHypertension, "2026-06-01", 30, 30, 1, 0, 2, LevelOK, 0})
}

func testCatalog() *Catalog {
	return NewCatalog([]Drug{
		{Code: "6901234567892", Name: "苯磺酸氨氯地平片", Ingredient: "amlodipine", ATC: "C08CA01", PackDaysSupply: 28, AltCodes: []string{"8101000"}},
		{Code: "POS-MET", Name: "盐酸二甲双胍片", Ingredient: "metformin", ATC: "A10BA02", PackDaysSupply: 20},
		{Code: "POS-INS", Name: "门冬胰岛素注射液", Ingredient: "insulin aspart", ATC: "A10AB05"},
		{Code: "POS-AMOX", Name: "阿莫西林胶囊", Ingredient: "amoxicillin", ATC: "J01CA04"},
		{Code: "POS-ATOR", Name: "阿托伐他汀钙片", Ingredient: "atorvastatin", ATC: "C10AA05"}, // pack days unknown
	})
}

func purchase(t testing.TB, id, date, code string, qty float64, ds int) Purchase {
	return Purchase{ID: id, SoldAt: day(t, date).Time().Add(11 * time.Hour), DrugCode: code, Quantity: qty, DaysSupply: ds}
}

func TestCatalogDaysSupplyAndMixedClasses(t *testing.T) {
	E := day(t, "2026-06-30")
	ps := []Purchase{
		purchase(t, "a1", "2026-04-02", "6901234567892", 2, 0),        // 2 × 28 = 56 days via GTIN
		purchase(t, "a2", "2026-05-28", "81010001234567890123", 1, 0), // trace code → amlodipine, 28 → shifted to 05-28..06-24
		purchase(t, "m1", "2026-06-10", "POS-MET", 1.5, 0),            // 30 days
		purchase(t, "i1", "2026-06-01", "POS-INS", 1, 0),              // insulin: no class
		purchase(t, "x1", "2026-06-02", "POS-AMOX", 1, 0),             // not chronic
		purchase(t, "s1", "2026-06-03", "POS-ATOR", 1, 0),             // chronic, days unknown
		purchase(t, "u1", "2026-06-04", "UNKNOWN-CODE", 1, 0),         // unknown drug
		purchase(t, "u2", "2026-06-05", "UNKNOWN-CODE", 1, 30),        // unknown drug, days known but no ATC
	}
	a := Analyze(ps, testCatalog(), E, DefaultAdherenceOptions())
	if len(a.Shown) != len(ps) {
		t.Fatalf("shown %d, want %d", len(a.Shown), len(ps))
	}
	if got := []string{a.Classes[0].Class, a.Classes[1].Class, a.Classes[2].Class}; len(a.Classes) != 3 ||
		got[0] != ClassHypertension || got[1] != ClassDiabetes || got[2] != ClassHyperlipidemia {
		t.Fatalf("classes %+v", a.Classes)
	}
	// 04-02..05-27 (56) + 05-28..06-24 (28) = 84 covered, gap 6
	check(t, a, want{ClassHypertension, "2026-04-02", 84, 90, 84.0 / 90, 6, 2, LevelYellow, 0})
	check(t, a, want{ClassDiabetes, "2026-06-10", 21, 21, 1, 0, 1, LevelOK, 0})
	check(t, a, want{ClassHyperlipidemia, "", 0, 0, 0, 0, 0, LevelUnknown, 1})
	ids := map[string]bool{}
	for _, p := range a.Uncounted {
		ids[p.ID] = true
	}
	if len(ids) != 3 || !ids["s1"] || !ids["u1"] || !ids["u2"] {
		t.Errorf("uncounted %v, want s1 u1 u2", ids)
	}
	if al, _ := AlertOf(a.Classes[2]); al.Code != AlertNotComputable || al.Class != ClassHyperlipidemia || al.Uncounted != 1 {
		t.Errorf("unknown-level alert %+v", al)
	}
	if n := UnknownDrugs(a); n != 2 {
		t.Errorf("unknown drugs %d", n)
	}
	if al, _ := AlertOf(a.Classes[0]); al.Code != AlertGap || al.Percent != 93 || al.DaysWithoutSupply != 6 {
		t.Errorf("alert %+v", al)
	}
	if r, _ := a.Worst(); r.Class != ClassHypertension || a.PrimaryClass() != ClassHypertension {
		t.Errorf("worst %s / primary %s", r.Class, a.PrimaryClass())
	}
	if a.Lines[0].Name != "苯磺酸氨氯地平片" || a.Lines[0].DaysSupply != 56 || !a.Lines[0].Counted {
		t.Errorf("line 0 %+v", a.Lines[0])
	}
}

func TestUncountedNoteOnJudgedClass(t *testing.T) {
	E := day(t, "2026-06-30")
	ps := mkFills(t, "04-02 amlodipine 30", "05-20 amlodipine 30", "06-25 valsartan 0")
	a := Analyze(ps, nil, E, DefaultAdherenceOptions())
	check(t, a, want{ClassHypertension, "2026-04-02", 60, 90, 0.6667, 12, 2, LevelYellow, 1})
	want := Alert{Code: AlertGap, Class: ClassHypertension, Level: LevelYellow, LookbackDays: 90, Percent: 67, DaysWithoutSupply: 12, Uncounted: 1}
	if got, _ := AlertOf(a.Classes[0]); got != want {
		t.Errorf("alert %+v\nwant  %+v", got, want)
	}
	ok := Analyze(mkFills(t, "06-01 amlodipine 30", "06-02 valsartan 0"), nil, E, DefaultAdherenceOptions())
	if got, show := AlertOf(ok.Classes[0]); !show || got.Code != AlertUncounted || got.Uncounted != 1 {
		t.Errorf("ok-with-uncounted alert %+v", got)
	}
}

func TestIngredientAndATCOverride(t *testing.T) {
	E := day(t, "2026-06-30")
	cat := testCatalog()
	// Both sold under the amlodipine GTIN; the second sale says it is valsartan, so the
	// two do not shift each other (union 30 days, not 60).
	p1 := purchase(t, "o1", "2026-06-01", "6901234567892", 1, 30)
	p2 := purchase(t, "o2", "2026-06-01", "6901234567892", 1, 30)
	p2.Ingredient = "valsartan"
	a := Analyze([]Purchase{p1, p2}, cat, E, DefaultAdherenceOptions())
	check(t, a, want{ClassHypertension, "2026-06-01", 30, 30, 1, 0, 2, LevelOK, 0})
	p2.Ingredient = ""
	a = Analyze([]Purchase{p1, p2}, cat, E, DefaultAdherenceOptions())
	if a.Lines[1].CoverFrom.String() != "2026-07-01" {
		t.Errorf("same ingredient must shift: %+v", a.Lines[1])
	}
	// The sale's ATC overrides the catalog's class.
	p2.ATC = "A10BA02"
	a = Analyze([]Purchase{p1, p2}, cat, E, DefaultAdherenceOptions())
	if _, ok := a.Class(ClassDiabetes); !ok || len(a.Classes) != 2 {
		t.Errorf("ATC override ignored: %+v", a.Classes)
	}
	// The sale's days' supply wins over quantity × pack.
	p3 := purchase(t, "o3", "2026-06-01", "6901234567892", 3, 10)
	a = Analyze([]Purchase{p3}, cat, E, DefaultAdherenceOptions())
	check(t, a, want{ClassHypertension, "2026-06-01", 10, 30, 10.0 / 30, 20, 1, LevelRed, 0})
}

func TestClassOf(t *testing.T) {
	cases := map[string]string{
		"C02AC01": ClassHypertension, "C03AA03": ClassHypertension, "C07AB02": ClassHypertension,
		"C08CA01": ClassHypertension, "C09CA03": ClassHypertension, "c09ca03": ClassHypertension,
		"A10BA02": ClassDiabetes, "A10AB05": "", "A10": "", "C10AA05": ClassHyperlipidemia,
		"C01": "", "J01CA04": "", "": "", " C10AA05 ": ClassHyperlipidemia,
	}
	for atc, want := range cases {
		if got := ClassOf(atc); got != want {
			t.Errorf("ClassOf(%q) = %q, want %q", atc, got, want)
		}
	}
}

func TestPercentNeverCrossesThreshold(t *testing.T) {
	r := ClassResult{CoveredDays: 71, PeriodDays: 89, PDC: 71.0 / 89} // 0.7978
	if p := Percent(r); p != 79 {
		t.Errorf("71/89 shows %d%%, want 79", p)
	}
	r = ClassResult{CoveredDays: 89, PeriodDays: 179, PDC: 89.0 / 179} // 0.4972
	if p := Percent(r); p != 49 {
		t.Errorf("89/179 shows %d%%, want 49", p)
	}
	if p := Percent(ClassResult{CoveredDays: 60, PeriodDays: 90, PDC: 60.0 / 90}); p != 67 {
		t.Errorf("60/90 shows %d%%", p)
	}
}

func TestConfigurableLookback(t *testing.T) {
	E := day(t, "2026-06-30")
	a := Analyze(mkFills(t, "05-01 amlodipine 30", "06-10 amlodipine 10"), nil, E, AdherenceOptions{LookbackDays: 30, HorizonDays: 31})
	// W = 06-01; 05-01 fill covers to 05-30 → nothing in window; 06-10..06-19 → 10/30
	check(t, a, want{ClassHypertension, "2026-06-01", 10, 30, 10.0 / 30, 11, 2, LevelRed, 0})
	if al, _ := AlertOf(a.Classes[0]); al.LookbackDays != 30 {
		t.Errorf("alert %+v does not carry the 30-day lookback", al)
	}
	// Long lookback needs more than 4 bitset words.
	a = Analyze(mkFills(t, "01-01 amlodipine 400"), nil, E, AdherenceOptions{LookbackDays: 400})
	if r := a.Classes[0]; r.CoveredDays != r.PeriodDays || r.PeriodDays != 181 {
		t.Errorf("long lookback %+v", r)
	}
}

func TestAnalyzeEmptyAndGarbage(t *testing.T) {
	E := day(t, "2026-06-30")
	a := Analyze(nil, nil, E, AdherenceOptions{})
	if len(a.Classes) != 0 || a.PrimaryClass() != ClassGeneral {
		t.Fatalf("empty analysis %+v", a)
	}
	p := mkFills(t, "06-01 amlodipine 30")
	p[0].DaysSupply = 0
	p[0].Quantity = math.Inf(1)
	a = Analyze(p, testCatalog(), E, DefaultAdherenceOptions())
	if a.Classes[0].Level != LevelUnknown {
		t.Fatalf("infinite quantity: %+v", a.Classes)
	}
	p[0].DaysSupply = 1 << 30
	a = Analyze(p, nil, E, DefaultAdherenceOptions())
	if a.Classes[0].CoveredDays != 30 {
		t.Fatalf("huge days supply: %+v", a.Classes[0])
	}
}

// BenchmarkAnalyze is the counter's budget: ~30 purchases of three classes plus noise.
func BenchmarkAnalyze(b *testing.B) {
	cat := testCatalog()
	E := DayFromDate(2026, 6, 30)
	var ps []Purchase
	codes := []string{"6901234567892", "POS-MET", "POS-ATOR", "POS-AMOX", "POS-INS"}
	for i := 0; i < 30; i++ {
		d := E - Day(i*9)
		ps = append(ps, Purchase{ID: fmt.Sprintf("p%d", i), SoldAt: d.Time().Add(10 * time.Hour),
			DrugCode: codes[i%len(codes)], Quantity: 1, DaysSupply: []int{0, 0, 14, 0, 0}[i%5]})
	}
	b.ReportAllocs()
	for b.Loop() {
		a := Analyze(ps, cat, E, DefaultAdherenceOptions())
		if len(a.Classes) != 3 {
			b.Fatal(a.Classes)
		}
		for _, r := range a.Classes {
			_, _ = AlertOf(r)
		}
		_ = UnknownDrugs(a)
	}
	// Share of the 2 ms scan-to-alert budget one analysis uses.
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/2e6*100, "%budget")
}

func TestReturnsAndAbsurdSupply(t *testing.T) {
	E := day(t, "2026-06-30")
	p := mkFills(t, "06-01 amlodipine 30", "06-02 amlodipine 30")
	p[1].Quantity = -1 // refund line
	a := Analyze(p, nil, E, DefaultAdherenceOptions())
	check(t, a, want{ClassHypertension, "2026-06-01", 30, 30, 1, 0, 1, LevelOK, 0})
	if a.Lines[1].Unknown != "return" || len(a.Uncounted) != 0 || len(a.Shown) != 2 {
		t.Errorf("return line %+v, uncounted %d", a.Lines[1], len(a.Uncounted))
	}
	p = mkFills(t, "06-01 amlodipine 1")
	p[0].DaysSupply = math.MaxInt
	a = Analyze(p, nil, E, DefaultAdherenceOptions())
	check(t, a, want{ClassHypertension, "2026-06-01", 30, 30, 1, 0, 1, LevelOK, 0})
	if a.Lines[0].DaysSupply != MaxDaysSupply {
		t.Errorf("days supply not clamped: %d", a.Lines[0].DaysSupply)
	}
}

// FuzzAnalyze feeds arbitrary fills and checks the invariants of every class result.
func FuzzAnalyze(f *testing.F) {
	f.Add([]byte{0, 30, 1, 20, 30, 2, 85, 7, 3}, uint8(90))
	f.Add([]byte{200, 255, 4, 0, 0, 0, 1, 1, 5}, uint8(7))
	cat := testCatalog()
	codes := []string{"6901234567892", "POS-MET", "POS-ATOR", "POS-INS", "POS-AMOX", "??"}
	ingr := []string{"", "amlodipine", "valsartan", "metformin", "atorvastatin"}
	f.Fuzz(func(t *testing.T, data []byte, lookback uint8) {
		E := DayFromDate(2026, 6, 30)
		var ps []Purchase
		for i := 0; i+2 < len(data) && len(ps) < 64; i += 3 {
			d := E - Day(int(data[i])*2) + 20 // some after E
			ps = append(ps, Purchase{
				ID: fmt.Sprint(i), SoldAt: d.Time().Add(time.Duration(data[i+2]) * time.Hour),
				DrugCode: codes[int(data[i+2])%len(codes)], Ingredient: ingr[int(data[i+1])%len(ingr)],
				Quantity: float64(int(data[i+2])%5) - 1, DaysSupply: int(data[i+1]) - 10,
			})
		}
		a := Analyze(ps, cat, E, AdherenceOptions{LookbackDays: int(lookback)})
		if len(a.Shown) != len(a.Lines) {
			t.Fatal("shown and lines differ")
		}
		for _, r := range a.Classes {
			if r.Level == LevelUnknown {
				if len(r.Uncounted) == 0 || r.Fills != 0 {
					t.Fatalf("unknown level without uncounted: %+v", r)
				}
				continue
			}
			if r.CoveredDays < 0 || r.CoveredDays > r.PeriodDays || r.PeriodDays < 1 || r.PeriodDays > a.Options.LookbackDays ||
				r.DaysWithoutSupply < 0 || r.DaysWithoutSupply > a.Options.LookbackDays+a.Options.HorizonDays ||
				r.PDC < 0 || r.PDC > 1 || r.Fills != len(r.FillIDs) || r.Fills == 0 {
				t.Fatalf("broken result %+v", r)
			}
			if r.DaysWithoutSupply == 0 && r.CoveredDays == 0 {
				t.Fatalf("E covered but no covered days: %+v", r)
			}
			if al, show := AlertOf(r); (r.Level == LevelOK) != (!show || al.Code == AlertUncounted) {
				t.Fatalf("alert %+v for level %s", al, r.Level)
			}
		}
	})
}
