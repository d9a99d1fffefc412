package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
)

func completion(t *testing.T, open Opener) {
	t.Run("Grouping", func(t *testing.T) {
		st := open(t)
		d := day0.Time()
		var batch1, batch2 []hq.VisitIngest
		add := func(b *[]hq.VisitIngest, id, store, pharm string, start time.Time, complete bool) {
			*b = append(*b, hq.VisitIngest{Visit: visit(id, store, pharm, start, complete)})
		}
		add(&batch1, "v1", "S001", "P01", d.Add(9*time.Hour), true)
		add(&batch1, "v2", "S001", "P01", d.Add(10*time.Hour), false)
		add(&batch1, "v3", "S001", "P02", d.Add(23*time.Hour+30*time.Minute), true) // late evening: still day0
		add(&batch1, "v4", "S001", "P01", d.Add(33*time.Hour), true)                // day0+1
		add(&batch2, "w1", "S002", "P07", d.Add(9*time.Hour), true)
		add(&batch2, "w2", "S002", "P07", d.Add(-15*time.Hour), false) // day0-1
		ingest(t, st, batch1...)
		ingest(t, st, batch2...)
		type want struct {
			key              string
			visits, complete int
		}
		check := func(name string, q hq.CompletionQuery, ws []want) {
			t.Helper()
			gs, err := st.Completion(bg(), q)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if len(gs) != len(ws) {
				t.Fatalf("%s: %d groups %+v, want %+v", name, len(gs), gs, ws)
			}
			for i, w := range ws {
				g := gs[i]
				if g.Key != w.key || g.Rollup.Visits != w.visits || g.Rollup.Completed != w.complete {
					t.Fatalf("%s: group %d = %s %d/%d, want %+v", name, i, g.Key, g.Rollup.Completed, g.Rollup.Visits, w)
				}
			}
		}
		check("by store", hq.CompletionQuery{GroupBy: hq.GroupByStore}, []want{{"S001", 4, 3}, {"S002", 2, 1}})
		check("by store, day0 only", hq.CompletionQuery{GroupBy: hq.GroupByStore, From: day0, To: day0}, []want{{"S001", 3, 2}, {"S002", 1, 1}})
		check("by pharmacist", hq.CompletionQuery{GroupBy: hq.GroupByPharmacist}, []want{{"S001/P01", 3, 2}, {"S001/P02", 1, 1}, {"S002/P07", 2, 1}})
		check("by day of S001", hq.CompletionQuery{StoreID: "S001", GroupBy: hq.GroupByDay}, []want{{day0.String(), 3, 2}, {(day0 + 1).String(), 1, 1}})
		check("by day, all stores, from day0", hq.CompletionQuery{GroupBy: hq.GroupByDay, From: day0}, []want{{day0.String(), 4, 3}, {(day0 + 1).String(), 1, 1}})
		check("one pharmacist", hq.CompletionQuery{PharmacistID: "P01", GroupBy: hq.GroupByStore}, []want{{"S001", 3, 2}})
		check("to before everything", hq.CompletionQuery{To: day0 - 5, GroupBy: hq.GroupByStore}, nil)
		gs, _ := st.Completion(bg(), hq.CompletionQuery{GroupBy: hq.GroupByPharmacist, StoreID: "S002"})
		if len(gs) != 1 || gs[0].StoreID != "S002" || gs[0].PharmacistID != "P07" {
			t.Fatalf("pharmacist group fields: %+v", gs)
		}
		gs, _ = st.Completion(bg(), hq.CompletionQuery{GroupBy: hq.GroupByDay, StoreID: "S002", From: day0 - 1, To: day0 - 1})
		if len(gs) != 1 || gs[0].Day != day0-1 {
			t.Fatalf("day group fields: %+v", gs)
		}
		// The funnel and step counters of a complete visit reach the report.
		gs, _ = st.Completion(bg(), hq.CompletionQuery{GroupBy: hq.GroupByStore, StoreID: "S002", From: day0, To: day0})
		if want := flows.VisitContribution(batch2[0].Visit); len(gs) != 1 || gs[0].Rollup != want {
			t.Fatalf("rollup of one visit: %+v, want %+v", gs, want)
		}
	})
	t.Run("AddRollupsMergesWithIngest", func(t *testing.T) {
		st := open(t)
		ingest(t, st, hq.VisitIngest{Visit: visit("v1", "S001", "P01", t0, true)})
		rows := []hq.RollupRow{
			{StoreID: "S001", PharmacistID: "P01", Day: day0, Rollup: flows.Rollup{Visits: 10, Completed: 4}},
			{StoreID: "S001", PharmacistID: "P01", Day: day0, Rollup: flows.Rollup{Visits: 1, Completed: 1}},
			{StoreID: "S003", PharmacistID: "P09", Day: day0 - 40, Rollup: flows.Rollup{Visits: 7}},
		}
		if err := st.AddRollups(bg(), rows); err != nil {
			t.Fatal(err)
		}
		gs, _ := st.Completion(bg(), hq.CompletionQuery{GroupBy: hq.GroupByStore})
		if len(gs) != 2 || gs[0].Rollup.Visits != 12 || gs[0].Rollup.Completed != 6 || gs[1].Rollup.Visits != 7 {
			t.Fatalf("%+v", gs)
		}
		if err := st.AddRollups(bg(), []hq.RollupRow{{PharmacistID: "P01", Day: day0}}); !errors.Is(err, hq.ErrInvalid) {
			t.Fatalf("row without store: %v", err)
		}
	})
}
