package effectreport_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/effect"
	"github.com/pharmachain/counter/flows/effect/effectgen"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/boltstore"
	"github.com/pharmachain/counter/sync/hq/effectreport"
)

// The HQ benchmark chain: 10 stores × 3 300 customers of flows/effect's benchmark chain
// (one store-year ≈ 34 k visits, 78 k purchase lines), stored in a bbolt HQ file through
// the ordinary ingest (visits with their facts and indexes, purchases).
// benchStore builds the file in the top-level benchmark's temporary directory (the
// top-level function runs once; its sub-benchmarks iterate).
func benchStore(b *testing.B) *boltstore.Store {
	var benchErr error
	benchSt, err := boltstore.Open(filepath.Join(b.TempDir(), "hq.db"), boltstore.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { benchSt.Close() })
	{
		ctx := context.Background()
		byStore := map[string][]hq.VisitIngest{}
		var ps []flows.Purchase
		n := 0
		flush := func() {
			if len(ps) > 0 {
				if _, err := benchSt.IngestPurchases(ctx, ps); err != nil && benchErr == nil {
					benchErr = err
				}
				ps = ps[:0]
			}
			for s, vs := range byStore {
				if _, err := benchSt.IngestVisits(ctx, s, vs); err != nil && benchErr == nil {
					benchErr = err
				}
				delete(byStore, s)
			}
		}
		effectgen.Generate(effectgen.Config{Seed: 42, Stores: 10, CustomersPerStore: 3300, PDCEffect: 0.5, NonDrugFen: 2990, AbandonedVisits: 0.75},
			effectgen.Sink{
				Visit: func(f *effect.VisitFact) {
					n++
					v := effectgen.VisitOf(f, fmt.Sprintf("V%08d", n))
					byStore[v.StoreID] = append(byStore[v.StoreID], hq.VisitIngest{Visit: v})
					if len(byStore[v.StoreID]) >= 5000 {
						flush()
					}
				},
				Purchase: func(f *effect.PurchaseFact) {
					n++
					p := effectgen.PurchaseOf(f, n)
					flows.ResolvePurchase(effectgen.Catalog(), &p)
					ps = append(ps, p)
					if len(ps) >= 20000 {
						flush()
					}
				},
			})
		flush()
	}
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchSt
}

var benchNow = flows.DayFromDate(2027, 1, 1).Time().Add(10 * time.Hour)

func benchService(st hq.EffectStore) *effectreport.Service {
	return effectreport.New(st, effectreport.Config{Catalog: effectgen.Catalog(), Knowledge: effectgen.Knowledge(),
		Now: func() time.Time { return benchNow }})
}

// BenchmarkHQEffectReport: the reports as HQ serves them from its bbolt file, facts
// read from storage in the op: one store's year (≤ 500 ms), its process health, and
// the chain-wide snapshot of this 10-store file (the nightly job; ×20 for 200 stores).
func BenchmarkHQEffectReport(b *testing.B) {
	st := benchStore(b)
	p := effect.Params{From: flows.DayFromDate(2026, 1, 1), To: flows.DayFromDate(2026, 12, 31), StoreID: "S001"}
	ctx := context.Background()
	b.Run("store-year", func(b *testing.B) {
		svc := benchService(st)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := svc.Effect(ctx, p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("store-year-health", func(b *testing.B) {
		svc := benchService(st)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := svc.Health(ctx, effect.HealthParams{From: p.From, To: p.To, StoreID: "S001"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("snapshot-10-stores", func(b *testing.B) {
		svc := benchService(st)
		b.ReportAllocs()
		for b.Loop() {
			if err := svc.Refresh(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("chain-report-from-snapshot-10-stores", func(b *testing.B) {
		svc := benchService(st)
		if err := svc.Refresh(ctx); err != nil {
			b.Fatal(err)
		}
		q := p
		q.StoreID = ""
		b.ReportAllocs()
		for b.Loop() {
			if _, err := svc.Effect(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
	})
}
