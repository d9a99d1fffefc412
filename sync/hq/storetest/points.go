package storetest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
)

func points(t *testing.T, open Opener) {
	t.Run("CreditedOnce", func(t *testing.T) {
		st := open(t)
		ev := flows.PointsEvent{ID: "f1:link_opened", StoreID: "S001", PharmacistID: "P01", Kind: flows.PointsLinkOpened, Points: 2, At: t0, Ref: "f1"}
		if ok, err := st.CreditPoints(bg(), ev); err != nil || !ok {
			t.Fatalf("first credit: %v %v", ok, err)
		}
		if ok, err := st.CreditPoints(bg(), ev); err != nil || ok {
			t.Fatalf("second credit: %v %v", ok, err)
		}
		ev2 := ev
		ev2.Points = 100 // same id, other value: still the first one counts
		if ok, _ := st.CreditPoints(bg(), ev2); ok || pointsOf(t, st, "S001", "P01") != 2 {
			t.Fatalf("a repeated id credited again: %d", pointsOf(t, st, "S001", "P01"))
		}
		// The same event arriving with a visit is not credited again either.
		v := visit("f1", "S001", "P01", t0, true)
		ingest(t, st, hq.VisitIngest{Visit: v, Points: []flows.PointsEvent{ev, completeEvent(v, 1)}})
		if p := pointsOf(t, st, "S001", "P01"); p != 3 {
			t.Fatalf("points %d, want 2 + 1", p)
		}
	})
	t.Run("ConcurrentCreditsOnce", func(t *testing.T) {
		st := open(t)
		ev := flows.PointsEvent{ID: "x:revisit_booked", StoreID: "S001", PharmacistID: "P01", Points: 3, At: t0}
		var wg sync.WaitGroup
		var credited atomic.Int32
		for range 16 {
			wg.Go(func() {
				ok, err := st.CreditPoints(bg(), ev)
				if err != nil {
					t.Error(err)
				}
				if ok {
					credited.Add(1)
				}
			})
		}
		wg.Wait()
		if credited.Load() != 1 || pointsOf(t, st, "S001", "P01") != 3 {
			t.Fatalf("16 concurrent credits: %d credited, total %d; want 1 and 3", credited.Load(), pointsOf(t, st, "S001", "P01"))
		}
	})
	t.Run("TotalsFilterAndOrder", func(t *testing.T) {
		st := open(t)
		rows, err := st.Points(bg(), "", "")
		if err != nil || rows == nil || len(rows) != 0 {
			t.Fatalf("empty ledger: %#v %v (want an empty, non-nil list)", rows, err)
		}
		for i, e := range []struct {
			store, pharm string
			pts          int
		}{{"S002", "P01", 5}, {"S001", "P02", 1}, {"S001", "P01", 2}, {"S001", "P01", 3}} {
			ev := flows.PointsEvent{ID: string(rune('a'+i)) + ":k", StoreID: e.store, PharmacistID: e.pharm, Points: e.pts, At: t0}
			if _, err := st.CreditPoints(bg(), ev); err != nil {
				t.Fatal(err)
			}
		}
		rows, _ = st.Points(bg(), "", "")
		if len(rows) != 3 || rows[0].StoreID != "S001" || rows[0].PharmacistID != "P01" || rows[0].Points != 5 ||
			rows[1].PharmacistID != "P02" || rows[2].StoreID != "S002" {
			t.Fatalf("all: %+v", rows)
		}
		if rows, _ := st.Points(bg(), "S001", ""); len(rows) != 2 {
			t.Fatalf("S001: %+v", rows)
		}
		if rows, _ := st.Points(bg(), "", "P01"); len(rows) != 2 || rows[1].StoreID != "S002" {
			t.Fatalf("P01 everywhere: %+v", rows)
		}
		for _, bad := range []flows.PointsEvent{{StoreID: "S1", PharmacistID: "P"}, {ID: "i", PharmacistID: "P"}, {ID: "i", StoreID: "S1"}} {
			if _, err := st.CreditPoints(bg(), bad); !errors.Is(err, hq.ErrInvalid) {
				t.Fatalf("%+v: %v", bad, err)
			}
		}
	})
}
