package effect_test

import (
	"sync"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows/effect"
	"github.com/pharmachain/counter/flows/effect/effectgen"
)

// The benchmark chain: 200 stores × 3 300 customers, one year (2026) of visits and
// purchases plus 200 days of purchase history before it: ≈ 7 M visits and 10 M
// purchases in the year, 15.5 M purchase lines in all, 2.5 M follow-ups.
func chainConfig(stores int) effectgen.Config {
	return effectgen.Config{Seed: 42, Stores: stores, CustomersPerStore: 3300, PDCEffect: 0.5, NonDrugFen: 2990, AbandonedVisits: 0.75}
}

var (
	chainOnce sync.Once
	chainData *effect.Data
	chainCnt  effectgen.Counts
)

func chainYear(b *testing.B) *effect.Data {
	chainOnce.Do(func() {
		chainData, _, chainCnt = buildChain(b, chainConfig(200))
	})
	return chainData
}

// facts are one chain's facts held in memory.
type facts struct {
	ps []effect.PurchaseFact
	vs []effect.VisitFact
	fs []effect.FollowUpFact
}

func collect(cfg effectgen.Config) facts {
	var f facts
	effectgen.Generate(cfg, effectgen.Sink{
		Purchase: func(p *effect.PurchaseFact) { f.ps = append(f.ps, *p) },
		Visit:    func(v *effect.VisitFact) { f.vs = append(f.vs, *v) },
		FollowUp: func(x *effect.FollowUpFact) { f.fs = append(f.fs, *x) },
	})
	return f
}

func (f facts) build(b *testing.B) *effect.Data {
	bl := effect.NewBuilder(effectgen.Catalog(), effectgen.Knowledge())
	bl.Grow(len(f.vs), len(f.ps), len(f.fs))
	for i := range f.ps {
		if err := bl.AddPurchase(f.ps[i]); err != nil {
			b.Fatal(err)
		}
	}
	for i := range f.vs {
		if err := bl.AddVisit(f.vs[i]); err != nil {
			b.Fatal(err)
		}
	}
	for i := range f.fs {
		if err := bl.AddFollowUp(f.fs[i]); err != nil {
			b.Fatal(err)
		}
	}
	return bl.Build()
}

// timed runs fn b.N times and reports CPU seconds per op next to the wall time (the
// machine is shared: CPU time shows what the work costs, wall time what it took).
func timed(b *testing.B, fn func(), metrics ...any) {
	b.ReportAllocs()
	c0 := cpuSeconds()
	b.ResetTimer()
	for b.Loop() {
		fn()
	}
	b.StopTimer()
	b.ReportMetric((cpuSeconds()-c0)/float64(b.N), "cpu-s/op")
	for i := 0; i+1 < len(metrics); i += 2 {
		b.ReportMetric(float64(metrics[i].(int)), metrics[i+1].(string))
	}
}

var yearParams = effect.Params{From: genFrom, To: genTo, AsOf: genTo}

// BenchmarkEffectReport: the effect report (all three classes, 1 000 resamples) for
// the whole chain's year from built facts, and one store's year from its facts (build
// included): ≤ 10 s and ≤ 500 ms.
func BenchmarkEffectReport(b *testing.B) {
	b.Run("store-year", func(b *testing.B) {
		f := collect(chainConfig(1))
		timed(b, func() {
			d := f.build(b)
			if _, err := d.Effect(yearParams); err != nil {
				b.Fatal(err)
			}
		}, len(f.vs), "visits", len(f.ps), "purchases")
	})
	b.Run("chain-year", func(b *testing.B) {
		d := chainYear(b)
		timed(b, func() {
			if _, err := d.Effect(yearParams); err != nil {
				b.Fatal(err)
			}
		}, chainCnt.Visits, "visits", chainCnt.PeriodPurchases, "purchases")
	})
}

// BenchmarkHealthReport: the process-health report for the chain's year (every store
// and the chain row).
func BenchmarkHealthReport(b *testing.B) {
	d := chainYear(b)
	now := genTo.Time().Add(24 * time.Hour)
	timed(b, func() {
		if _, err := d.Health(effect.HealthParams{From: genFrom, To: genTo, Now: now}); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkBuild: interning, grouping and sorting the chain's facts (7 M visits, 15.5 M
// purchase lines, 2.5 M follow-ups) streamed from the generator. The generator's own
// cost is measured in the same run with sinks that drop the facts (gen-cpu-s) and
// subtracted: build-cpu-s/op is the builder's CPU time.
func BenchmarkBuild(b *testing.B) {
	cfg := chainConfig(200)
	c0 := cpuSeconds()
	effectgen.Generate(cfg, effectgen.Sink{Purchase: func(*effect.PurchaseFact) {}, Visit: func(*effect.VisitFact) {}, FollowUp: func(*effect.FollowUpFact) {}})
	gen := cpuSeconds() - c0
	c1 := cpuSeconds()
	b.ResetTimer()
	for b.Loop() {
		buildChain(b, cfg)
	}
	b.StopTimer()
	total := (cpuSeconds() - c1) / float64(b.N)
	b.ReportMetric(gen, "gen-cpu-s")
	b.ReportMetric(total-gen, "build-cpu-s/op")
}
