package flows

import (
	"fmt"
	"math"
	"strings"
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

func TestAlertTextReference(t *testing.T) {
	E := day(t, "2026-06-30")
	a := Analyze(mkFills(t, "04-02 amlodipine 30", "05-20 amlodipine 30"), nil, E, DefaultAdherenceOptions())
	got := AlertText(a.Classes[0])
	const want = "高血压用药连续性存疑：近90天覆盖率 67%，已断药 12 天"
	if got != want {
		t.Fatalf("alert %q, want %q", got, want)
	}
	ok := Analyze(mkFills(t, "04-02 amlodipine 30", "05-02 amlodipine 30", "06-01 amlodipine 30"), nil, E, DefaultAdherenceOptions())
	if s := AlertText(ok.Classes[0]); s != "" {
		t.Fatalf("ok class alert %q, want empty", s)
	}
	if !strings.Contains(AlertText(ClassResult{Class: ClassDiabetes, Level: LevelRed, PDC: 0.3, CoveredDays: 27, PeriodDays: 90, DaysWithoutSupply: 20}), "糖尿病用药连续性存疑：近90天覆盖率 30%，已断药 20 天") {
		t.Fatal("diabetes alert wrong")
	}
}
