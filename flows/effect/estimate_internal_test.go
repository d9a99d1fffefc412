package effect

import (
	"cmp"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/pharmachain/counter/flows"
)

// cellSpec makes n units of one stratum and cohort, all with the same values unless
// vary is set.
type cellSpec struct {
	store, level, cohort int
	n                    int
	pdcB, pdcA           float64
	rev                  float64
	basket               bool
	bB, bA               float64
	ndB, ndA             float64
}

func unitsOf(specs ...cellSpec) []unit {
	var us []unit
	k := uint64(0)
	for _, s := range specs {
		for range s.n {
			k++
			us = append(us, unit{cust: int32(k), store: int32(s.store), level: int8(s.level), cohort: int8(s.cohort),
				pdcB: s.pdcB, pdcA: s.pdcA, rev: s.rev, basket: s.basket, bB: s.bB, bA: s.bA, ndB: s.ndB, ndA: s.ndA})
		}
	}
	sortUnits(us)
	return us
}

func sortUnits(us []unit) {
	slices.SortFunc(us, func(x, y unit) int {
		return cmp.Or(cmp.Compare(x.store, y.store), cmp.Compare(x.level, y.level), cmp.Compare(x.cohort, y.cohort), cmp.Compare(x.cust, y.cust))
	})
}

func testData() *Data { return &Data{stores: []string{"S1", "S2", "S3", "S4"}} }

func outcome(t *testing.T, outs []Outcome, name string) Outcome {
	t.Helper()
	for _, o := range outs {
		if o.Name == name {
			return o
		}
	}
	t.Fatalf("no outcome %s", name)
	return Outcome{}
}

func approx(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

// TestEffectFormula checks the weighted difference-in-differences, the standardised
// cohort means, unmatched and comparison-only strata and the n < 30 rule on strata
// whose customers all have the same values (so every resample gives the estimate).
func TestEffectFormula(t *testing.T) {
	p := Params{Resamples: 200, Seed: 7}
	specs := []cellSpec{
		{store: 0, level: levelOK, cohort: 0, n: 20, pdcB: .8, pdcA: .9, rev: 1, basket: true, bB: 1000, bA: 1500, ndB: 0, ndA: 300},
		{store: 0, level: levelOK, cohort: 1, n: 10, pdcB: .8, pdcA: .8, rev: 0, basket: true, bB: 1000, bA: 1000, ndB: 0, ndA: 0},
		{store: 1, level: levelRed, cohort: 0, n: 10, pdcB: .3, pdcA: .6, rev: 1, basket: true, bB: 2000, bA: 2000, ndB: 100, ndA: 100},
		{store: 1, level: levelRed, cohort: 1, n: 5, pdcB: .3, pdcA: .4, rev: 0, basket: false},
		{store: 2, level: levelYl, cohort: 0, n: 7, pdcB: .5, pdcA: .9, rev: 1}, // no comparison: unmatched
		{store: 3, level: levelOK, cohort: 1, n: 4, pdcB: .9, pdcA: .9},         // comparison only
	}
	outs := testData().estimate(unitsOf(specs...), flows.ClassHypertension, p)
	if len(outs) != 4 || outs[0].Name != OutcomePDC || outs[1].Name != OutcomeRevisit30 || outs[2].Name != OutcomeRxBasket || outs[3].Name != OutcomeNonDrug {
		t.Fatalf("outcomes %v", outs)
	}
	pdc := outcome(t, outs, OutcomePDC)
	// (20 × 0.1 + 10 × (0.3 − 0.1)) / 30
	if pdc.Status != StatusOK || pdc.MatchedServed != 30 || pdc.UnmatchedServed != 7 || pdc.MatchedComparison != 15 ||
		!approx(*pdc.Effect, 4.0/30) || !approx(*pdc.Low, 4.0/30) || !approx(*pdc.High, 4.0/30) {
		t.Errorf("pdc %+v effect %v [%v, %v]", pdc, *pdc.Effect, *pdc.Low, *pdc.High)
	}
	// Served means over the matched served; comparison stratum means weighted by n_served.
	if !approx(*pdc.Served.Before, 19.0/30) || !approx(pdc.Served.After, 24.0/30) ||
		!approx(*pdc.Comparison.Before, 19.0/30) || !approx(pdc.Comparison.After, 20.0/30) ||
		!approx(*pdc.Served.Change-*pdc.Comparison.Change, *pdc.Effect) {
		t.Errorf("means served %+v comparison %+v", *pdc.Served, *pdc.Comparison)
	}
	if len(pdc.Strata) != 4 {
		t.Fatalf("strata %+v", pdc.Strata)
	}
	s0, s2, s3 := pdc.Strata[0], pdc.Strata[2], pdc.Strata[3]
	if s0.StoreID != "S1" || s0.Level != flows.LevelOK || !s0.Matched || s0.Served.N != 20 || s0.Comparison.N != 10 || !approx(*s0.Diff, 0.1) {
		t.Errorf("stratum S1/ok %+v", s0)
	}
	if s2.StoreID != "S3" || s2.Matched || s2.Diff != nil || s2.Served.N != 7 || s2.Comparison.N != 0 || s2.Comparison.Before != nil {
		t.Errorf("unmatched stratum %+v", s2)
	}
	if s3.StoreID != "S4" || s3.Matched || s3.Served.N != 0 || s3.Comparison.N != 4 {
		t.Errorf("comparison-only stratum %+v", s3)
	}
	// revisit30: difference of shares, no before.
	rv := outcome(t, outs, OutcomeRevisit30)
	if !approx(*rv.Effect, 1) || rv.Served.Before != nil || rv.Served.Change != nil || !approx(rv.Served.After, 1) || !approx(rv.Comparison.After, 0) {
		t.Errorf("revisit %+v", rv)
	}
	// Rx basket: S2's comparison has no basket, so only S1 is matched: 20 < 30.
	bk := outcome(t, outs, OutcomeRxBasket)
	if bk.Status != StatusInsufficient || bk.Effect != nil || bk.Served != nil || bk.MatchedServed != 20 || bk.UnmatchedServed != 10+0 {
		t.Errorf("basket %+v", bk)
	}
	// non-drug: (20 × 300 + 10 × 0) / 30
	nd := outcome(t, outs, OutcomeNonDrug)
	if !approx(*nd.Effect, 200) || !approx(*nd.Served.Before, 100.0/3) {
		t.Errorf("non-drug %+v", nd)
	}

	// 29 matched served: insufficient data, no number; 30: a number.
	specs[2].n = 9
	outs = testData().estimate(unitsOf(specs...), flows.ClassHypertension, p)
	if o := outcome(t, outs, OutcomePDC); o.Status != StatusInsufficient || o.Effect != nil || o.Low != nil || o.MatchedServed != 29 || len(o.Strata) != 4 {
		t.Errorf("n = 29: %+v", o)
	}
	specs[2].n = 10
	specs[0].basket, specs[1].basket = true, true
	specs[3].basket, specs[3].bB, specs[3].bA = true, 2000, 2500
	outs = testData().estimate(unitsOf(specs...), flows.ClassHypertension, p)
	// basket: (20 × 500 + 10 × (0 − 500)) / 30
	if o := outcome(t, outs, OutcomeRxBasket); o.Status != StatusOK || !approx(*o.Effect, 5000.0/30) || o.DroppedResamples != 0 {
		t.Errorf("basket n = 30: %+v", o)
	}
}

// TestBootstrapSpread: for one stratum of normal values the interval's half-width is
// 1.96 standard errors of the difference of means, and the effect lies inside.
func TestBootstrapSpread(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var us []unit
	ns, nc := 400, 300
	var sum [2]float64
	var sq [2]float64
	for i := range ns + nc {
		k := 0
		if i >= ns {
			k = 1
		}
		x := 0.05 + 0.2*r.NormFloat64()
		if k == 1 {
			x -= 0.05
		}
		sum[k] += x
		sq[k] += x * x
		us = append(us, unit{cust: int32(i), cohort: int8(k), pdcB: 0.5, pdcA: 0.5 + x})
	}
	sortUnits(us)
	var se2 float64
	for k, n := range []int{ns, nc} {
		m := sum[k] / float64(n)
		v := (sq[k] - float64(n)*m*m) / float64(n) // the bootstrap's plug-in variance
		se2 += v / float64(n)
	}
	se := math.Sqrt(se2)
	o := outcome(t, testData().estimate(us, flows.ClassDiabetes, Params{Resamples: 1000, Seed: DefaultSeed}), OutcomePDC)
	half := (*o.High - *o.Low) / 2
	if math.Abs(half/(1.96*se)-1) > 0.1 || *o.Effect < *o.Low || *o.Effect > *o.High {
		t.Errorf("half-width %.5f, want 1.96 × %.5f; effect %.4f in [%.4f, %.4f]", half, se, *o.Effect, *o.Low, *o.High)
	}
	// Reproducible with the seed; another seed moves the interval a little.
	o2 := outcome(t, testData().estimate(slices.Clone(us), flows.ClassDiabetes, Params{Resamples: 1000, Seed: DefaultSeed}), OutcomePDC)
	if !reflect.DeepEqual(o, o2) {
		t.Error("same seed, different report")
	}
	o3 := outcome(t, testData().estimate(slices.Clone(us), flows.ClassDiabetes, Params{Resamples: 1000, Seed: 99}), OutcomePDC)
	if *o3.Low == *o.Low || math.Abs(*o3.Low-*o.Low) > 0.2*se {
		t.Errorf("seed 99: low %.5f vs %.5f", *o3.Low, *o.Low)
	}
}

func TestQuantile(t *testing.T) {
	xs := []float64{1, 2, 3, 4}
	for q, want := range map[float64]float64{0: 1, 1: 4, 0.5: 2.5, 0.025: 1.075, 0.975: 3.925} {
		if got := quantile(xs, q); !approx(got, want) {
			t.Errorf("quantile(%v) = %v, want %v", q, got, want)
		}
	}
	// selection (and, from 2^16 values, radix selection) agrees with sorting on random
	// data, with ties.
	r := rand.New(rand.NewPCG(5, 6))
	for trial := range 206 {
		n := 1 + r.IntN(300)
		if trial >= 200 {
			n = 1<<16 + r.IntN(1<<17)
		}
		xs := make([]float32, n)
		for i := range xs {
			xs[i] = float32(r.IntN(50))
			if trial%2 == 1 {
				xs[i] = float32(r.ExpFloat64() * 40)
			}
		}
		sorted := slices.Clone(xs)
		slices.Sort(sorted)
		f := make([]float64, n)
		for i, x := range sorted {
			f[i] = float64(x)
		}
		for _, q := range []float64{0.5, 0.9} {
			if got, want := quantile7(slices.Clone(xs), q), quantile(f, q); !approx(got, want) {
				t.Fatalf("trial %d n %d q %v: select %v, sort %v", trial, n, q, got, want)
			}
		}
		if got := quantiles7(slices.Clone(xs), 0.1, 0.5, 0.9, 1); !approx(got[0], quantile(f, 0.1)) || !approx(got[1], quantile(f, 0.5)) ||
			!approx(got[2], quantile(f, 0.9)) || !approx(got[3], quantile(f, 1)) {
			t.Fatalf("trial %d n %d: quantiles %v", trial, n, got)
		}
	}
}

func TestBoundedUniform(t *testing.T) {
	r := newRNG(1)
	var counts [7]int
	for range 70000 {
		counts[r.bounded(uint32(r.next()), 7)]++
	}
	for i, c := range counts {
		if c < 9500 || c > 10500 {
			t.Errorf("value %d drawn %d times of 70000", i, c)
		}
	}
	if r.bounded(^uint32(0), 1) != 0 {
		t.Error("n = 1")
	}
}

// TestWorkedExample is docs/effect.md's worked example.
func TestWorkedExample(t *testing.T) {
	specs := []cellSpec{
		{store: 0, level: levelOK, cohort: 0, n: 120, pdcB: .91, pdcA: .95},
		{store: 0, level: levelOK, cohort: 1, n: 300, pdcB: .90, pdcA: .88},
		{store: 0, level: levelRed, cohort: 0, n: 40, pdcB: .35, pdcA: .62},
		{store: 0, level: levelRed, cohort: 1, n: 60, pdcB: .33, pdcA: .45},
		{store: 1, level: levelYl, cohort: 0, n: 25, pdcB: .6, pdcA: .7},
	}
	d := &Data{stores: []string{"S001", "S002"}}
	o := outcome(t, d.estimate(unitsOf(specs...), flows.ClassHypertension, Params{Resamples: 100, Seed: 1}), OutcomePDC)
	if !approx(*o.Effect, 0.0825) || o.MatchedServed != 160 || o.UnmatchedServed != 25 ||
		!approx(*o.Served.Before, 0.77) || !approx(o.Served.After, 0.8675) ||
		!approx(*o.Comparison.Before, 0.7575) || !approx(o.Comparison.After, 0.7725) {
		t.Errorf("%+v served %+v comparison %+v", o, *o.Served, *o.Comparison)
	}
}
