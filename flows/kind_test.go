package flows

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCatalogKind(t *testing.T) {
	cat, err := LoadCatalog([]byte(`[
	 {"code":"X1","name":"amlodipine","atc":"C08CA01"},
	 {"code":"X2","name":"ibuprofen","atc":"M01AE01","kind":"otc"},
	 {"code":"6945670010000","name":"血压计","kind":"nondrug","alt_codes":["FY1"]}]`))
	if err != nil {
		t.Fatal(err)
	}
	for code, want := range map[string]string{"X1": KindRx, "X2": KindOTC, "FY1": KindNonDrug, "06945670010000": KindNonDrug, "nope": ""} {
		if got := cat.KindOf(code); got != want {
			t.Errorf("KindOf(%s) = %q, want %q", code, got, want)
		}
	}
	// NewCatalog (unvalidated) fills the same defaults.
	c2 := NewCatalog([]Drug{{Code: "A", ATC: "C10AA05"}, {Code: "B"}})
	if c2.KindOf("A") != KindRx || c2.KindOf("B") != KindNonDrug {
		t.Errorf("NewCatalog defaults: %q %q", c2.KindOf("A"), c2.KindOf("B"))
	}
	var nilCat *Catalog
	if nilCat.KindOf("X1") != "" {
		t.Error("nil catalog knows a kind")
	}
	cases := map[string]string{
		`[{"code":"X1","name":"a","atc":"C08","kind":"drug"}]`:    `kind (drug "X1"): is "drug"`,
		`[{"code":"X1","name":"a","atc":"C08","kind":" rx"}]`:     `kind (drug "X1"): is " rx"`,
		`[{"code":"X1","name":"a","atc":"C08","kind":"nondrug"}]`: "on a nondrug product",
		`[{"code":"X1","name":"a","kind":"otc"}]`:                 "atc (drug \"X1\"): is empty",
		`[{"code":"X1","name":"a"}]`:                              `"kind": "nondrug"`,
		`[{"code":"X1","name":"","kind":"nondrug"}]`:              "name (drug \"X1\"): is empty",
		`[{"code":"6901234567891","name":"a","kind":"nondrug"}]`:  "check digit",
	}
	for in, want := range cases {
		_, err := LoadCatalog([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadCatalog(%s) = %v, want error containing %q", in, err, want)
		}
	}
}

func TestKnowledgeProductCodes(t *testing.T) {
	withCodes := strings.Replace(miniKB, `"id":"u2","kind":"product",`, `"id":"u2","kind":"product","product_codes":["6945670010000","FY1"],`, 1)
	kb, err := LoadKnowledgeBase([]byte(withCodes))
	if err != nil {
		t.Fatal(err)
	}
	if it, _ := kb.Item("u2"); len(it.ProductCodes) != 2 {
		t.Fatalf("u2 codes %v", it.ProductCodes)
	}
	// Old files without product_codes still load.
	if old, err := LoadKnowledgeBase([]byte(miniKB)); err != nil || len(old.Items[1].ProductCodes) != 0 {
		t.Fatalf("old file: %v", err)
	}
	cat := NewCatalog([]Drug{{Code: "6945670010000", Name: "血压计", Kind: KindNonDrug, AltCodes: []string{"FY1"}}})
	if err := kb.CheckProducts(cat); err != nil {
		t.Errorf("codes in catalog: %v", err)
	}
	missing, _ := LoadKnowledgeBase([]byte(strings.Replace(withCodes, `"FY1"`, `"FY9"`, 1)))
	if err := missing.CheckProducts(cat); err == nil || !strings.Contains(err.Error(), `product_codes[1] (item "u2"): "FY9" is not in the catalog`) || !strings.Contains(err.Error(), `"u2"`) {
		t.Errorf("missing code: %v", err)
	}
	if err := kb.CheckProducts(nil); err == nil {
		t.Error("no catalog: every code is missing")
	}
	for in, want := range map[string]string{
		strings.Replace(withCodes, `"FY1"`, `""`, 1):                   "product_codes[1]",
		strings.Replace(withCodes, `"FY1"`, `" FY1"`, 1):               "without surrounding spaces",
		strings.Replace(withCodes, `"FY1"`, `"06945670010000"`, 1):     "listed twice", // the same GTIN
		strings.Replace(withCodes, `"product_codes"`, `"products"`, 1): "unknown field",
	} {
		if _, err := LoadKnowledgeBase([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q", err, want)
		}
	}
}

func TestReadPurchaseKinds(t *testing.T) {
	cat := NewCatalog([]Drug{
		{Code: "AML", Ingredient: "amlodipine", ATC: "C08CA01", PackDaysSupply: 28},
		{Code: "IBU", Ingredient: "ibuprofen", ATC: "M01AE01", Kind: KindOTC},
		{Code: "BPM", Name: "血压计", Kind: KindNonDrug},
	})
	p := func(code, kind string) Purchase {
		return Purchase{ID: code, DrugCode: code, Quantity: 1, Kind: kind, SoldAt: DayFromDate(2026, 6, 1).Time()}
	}
	for _, c := range []struct {
		p               Purchase
		kind, unknown   string
		counted         bool
		uncountedInAnal bool
	}{
		{p("AML", ""), KindRx, "", true, false},
		{p("AML", KindOTC), KindOTC, "", true, false}, // the sale's kind wins; the class still comes from the ATC
		{p("IBU", ""), KindOTC, "", false, false},
		{p("BPM", ""), KindNonDrug, "", false, false},           // a monitor is not an unknown drug
		{p("GIFT", KindNonDrug), KindNonDrug, "", false, false}, // nor is a non-drug sale outside the catalog
		{p("GIFT", ""), "", "drug", false, true},
	} {
		ln := ReadPurchase(c.p, cat)
		if ln.Kind != c.kind || ln.Unknown != c.unknown || ln.Counted != c.counted {
			t.Errorf("%s/%s: %+v", c.p.DrugCode, c.p.Kind, ln)
		}
		a := Analyze([]Purchase{c.p}, cat, DayFromDate(2026, 6, 30), AdherenceOptions{})
		if got := len(a.Uncounted) == 1; got != c.uncountedInAnal || (UnknownDrugs(a) != 0) != c.uncountedInAnal {
			t.Errorf("%s/%s: uncounted %v, unknown drugs %d", c.p.DrugCode, c.p.Kind, a.Uncounted, UnknownDrugs(a))
		}
	}
}

func TestResolvePurchase(t *testing.T) {
	cat := NewCatalog([]Drug{
		{Code: "AML", Name: "氨氯地平", Ingredient: "amlodipine", ATC: "C08CA01", PackDaysSupply: 28},
		{Code: "BPM", Name: "血压计", Kind: KindNonDrug},
	})
	p := Purchase{DrugCode: "AML", Quantity: 1.5}
	if !ResolvePurchase(cat, &p) || p.Name != "氨氯地平" || p.Ingredient != "amlodipine" || p.ATC != "C08CA01" || p.DaysSupply != 42 || p.Kind != KindRx {
		t.Errorf("AML: %+v", p)
	}
	p = Purchase{DrugCode: "AML", Quantity: 1, Kind: KindOTC, DaysSupply: 7, Name: "own"}
	if ResolvePurchase(cat, &p); p.Kind != KindOTC || p.DaysSupply != 7 || p.Name != "own" {
		t.Errorf("given fields must win: %+v", p)
	}
	p = Purchase{DrugCode: "BPM", Quantity: 1}
	if !ResolvePurchase(cat, &p) || p.Kind != KindNonDrug || p.DaysSupply != 0 {
		t.Errorf("BPM: %+v", p)
	}
	p = Purchase{DrugCode: "??", Quantity: 1}
	if ResolvePurchase(cat, &p) || p.Kind != "" {
		t.Errorf("unknown: %+v", p)
	}
	p = Purchase{DrugCode: "??", Quantity: 1, Ingredient: "x", ATC: "C10AA05"}
	if !ResolvePurchase(cat, &p) {
		t.Error("a sale describing its drug is known")
	}
	// Days' supply is bounded wherever it came from, and blank drug facts are not given.
	p = Purchase{DrugCode: "AML", Quantity: 1, DaysSupply: 100000, Ingredient: "  ", ATC: " C09CA03 "}
	if ResolvePurchase(cat, &p); p.DaysSupply != MaxDaysSupply || p.Ingredient != "amlodipine" || p.ATC != "C09CA03" {
		t.Errorf("clamp and trim: %+v", p)
	}
	p = Purchase{DrugCode: "AML", Quantity: 1e9}
	if ResolvePurchase(cat, &p); p.DaysSupply != MaxDaysSupply {
		t.Errorf("pack supply clamp: %+v", p)
	}
}

// The analysis reads a purchase exactly as ResolvePurchase stores it: enriching first
// changes nothing the analysis sees.
func TestReadPurchaseIsResolvePurchase(t *testing.T) {
	cat := NewCatalog([]Drug{
		{Code: "AML", Name: "氨氯地平", Ingredient: "amlodipine", ATC: "C08CA01", PackDaysSupply: 28},
		{Code: "BPM", Name: "血压计", Kind: KindNonDrug},
		{Code: "IBU", Name: "布洛芬", Ingredient: "ibuprofen", ATC: "M01AE01", Kind: KindOTC},
	})
	sold := time.Date(2026, 6, 1, 10, 0, 0, 0, Shanghai())
	for _, p := range []Purchase{
		{ID: "1", DrugCode: "AML", Quantity: 2, SoldAt: sold},
		{ID: "2", DrugCode: "AML", Quantity: 1, DaysSupply: 99999, SoldAt: sold},
		{ID: "3", DrugCode: "AML", Quantity: -1, SoldAt: sold},
		{ID: "4", DrugCode: "BPM", Quantity: 1, SoldAt: sold},
		{ID: "5", DrugCode: "IBU", Quantity: 1, SoldAt: sold},
		{ID: "6", DrugCode: "??", Quantity: 1, SoldAt: sold},
		{ID: "7", DrugCode: "??", Quantity: 1, Ingredient: " x ", ATC: "C10AA05", DaysSupply: 30, SoldAt: sold},
	} {
		direct := ReadPurchase(p, cat)
		q := p
		ResolvePurchase(cat, &q)
		if stored := ReadPurchase(q, cat); stored != direct {
			t.Errorf("purchase %s: read directly %+v, after enrichment %+v", p.ID, direct, stored)
		}
		if direct.DaysSupply > 0 && direct.DaysSupply != q.DaysSupply {
			t.Errorf("purchase %s: analysis reads %d days, enrichment stores %d", p.ID, direct.DaysSupply, q.DaysSupply)
		}
	}
}

// TestClassCoverageMatchesAnalyze: for random histories, ClassCoverage over one sorted
// fill list (horizon filtering inside) gives Analyze's result at every as-of date.
func TestClassCoverageMatchesAnalyze(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ingrs := []string{"amlodipine", "valsartan", "nifedipine"}
	base := DayFromDate(2026, 1, 1)
	for trial := 0; trial < 300; trial++ {
		var ps []Purchase
		n := rng.IntN(25)
		for i := 0; i < n; i++ {
			ing := ingrs[rng.IntN(len(ingrs))]
			d := base + Day(rng.IntN(400))
			ps = append(ps, Purchase{ID: string(rune('a' + i)), SoldAt: d.Time().Add(9e9), DrugCode: ing, Ingredient: ing,
				ATC: atcOf[ing], Quantity: 1, DaysSupply: 1 + rng.IntN(60)})
		}
		// One list for all dates: date order, then stable by ingredient.
		slices.SortStableFunc(ps, func(a, b Purchase) int { return int(DayOf(a.SoldAt) - DayOf(b.SoldAt)) })
		var fills []CoverFill
		order := append([]string(nil), ingrs...)
		for _, ing := range order {
			for _, p := range ps {
				if p.Ingredient == ing {
					fills = append(fills, CoverFill{Day: DayOf(p.SoldAt), Supply: int32(p.DaysSupply), Ingr: int32(slices.Index(ingrs, ing))})
				}
			}
		}
		for k := 0; k < 5; k++ {
			E := base + Day(rng.IntN(500))
			a := Analyze(ps, nil, E, AdherenceOptions{})
			want, hasWant := a.Class(ClassHypertension)
			got, ok := ClassCoverage(fills, E, AdherenceOptions{}, nil)
			if ok != hasWant {
				t.Fatalf("trial %d E %s: ok %v, Analyze has class %v", trial, E, ok, hasWant)
			}
			if ok && (got.PDC != want.PDC || got.Level != want.Level || got.PeriodDays != want.PeriodDays ||
				got.CoveredDays != want.CoveredDays || got.DaysWithoutSupply != want.DaysWithoutSupply || got.Fills != want.Fills || got.PeriodStart != want.PeriodStart) {
				t.Fatalf("trial %d E %s: ClassCoverage %+v, Analyze %+v", trial, E, got, want)
			}
		}
	}
}

func BenchmarkClassCoverage(b *testing.B) {
	var fills []CoverFill
	d := DayFromDate(2026, 1, 1)
	for i := 0; i < 14; i++ {
		fills = append(fills, CoverFill{Day: d + Day(i*29), Supply: 28})
	}
	E := d + 300
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := ClassCoverage(fills, E, AdherenceOptions{}, nil); !ok {
			b.Fatal("no result")
		}
	}
}
