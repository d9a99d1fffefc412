package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
)

// capsArea: the daily cap of link points (hq.LinkOpen.DailyCap).
func capsArea(t *testing.T, open Opener) {
	t.Run("ConcurrentOpensNeverPassTheCap", func(t *testing.T) {
		st := open(t)
		const n = 6
		for i := range n {
			schedule(t, st, t0, visit(fmt.Sprintf("c%d", i), "S001", "P01", t0.Add(-24*time.Hour), true))
		}
		schedule(t, st, t0, visit("other", "S001", "P02", t0.Add(-24*time.Hour), true))
		before := pointsOf(t, st, "S001", "P01")
		at := t0.Add(time.Hour)
		var wg sync.WaitGroup
		var capped, first atomic.Int32
		for i := range n {
			wg.Go(func() {
				id := fmt.Sprintf("c%d-f1", i)
				o, err := st.OpenLink(bg(), hq.LinkOpen{ID: id, At: at, Points: linkEvent(id, flows.PointsLinkOpened, 2, at), DailyCap: 5,
					Flags: []hq.Flag{{At: at, Kind: hq.FlagFastOpen, StoreID: "S001", PharmacistID: "P01", Ref: id, Points: 2}}})
				if err != nil {
					t.Error(err)
					return
				}
				if o.First {
					first.Add(1)
				}
				if o.Capped {
					capped.Add(1)
				}
			})
		}
		wg.Wait()
		// 2 points each under a cap of 5: two opens credited, the rest withheld.
		if got := pointsOf(t, st, "S001", "P01") - before; got != 4 || first.Load() != n || capped.Load() != n-2 {
			t.Fatalf("%d opens under a cap of 5: +%d points, %d first, %d capped; want +4, %d, %d", n, got, first.Load(), capped.Load(), n, n-2)
		}
		fs, err := st.Flags(bg(), hq.FlagQuery{Kind: hq.FlagDailyCap})
		if err != nil || len(fs) != n-2 || fs[0].PharmacistID != "P01" || fs[0].Points != 0 {
			t.Fatalf("cap flags: %+v %v", fs, err)
		}
		fast, _ := st.Flags(bg(), hq.FlagQuery{Kind: hq.FlagFastOpen})
		zero := 0
		for _, f := range fast {
			if f.Points == 0 {
				zero++
			}
		}
		if len(fast) != n || zero != n-2 {
			t.Fatalf("the opens' own flags: %d, %d of them with 0 points; want %d and %d", len(fast), zero, n, n-2)
		}
		for i := range n {
			if it := status(t, st, fmt.Sprintf("c%d-f1", i)); it.OpenedAt.IsZero() {
				t.Fatalf("c%d: a capped open must still be recorded", i)
			}
		}
		// Another pharmacist, another kind and the next day have their own tallies.
		if o, err := st.OpenLink(bg(), hq.LinkOpen{ID: "other-f1", At: at, Points: flows.PointsEvent{ID: "other-f1:link_opened", StoreID: "S001",
			PharmacistID: "P02", Kind: flows.PointsLinkOpened, Points: 2, At: at, Ref: "other-f1"}, DailyCap: 5}); err != nil || o.Capped {
			t.Fatalf("P02's open: %+v %v", o, err)
		}
		if o, err := st.BookRevisit(bg(), hq.RevisitBooking{ID: "c0-f1", Date: day0 + 3, Slot: "am", At: at,
			Points: linkEvent("c0-f1", flows.PointsRevisitBooked, 3, at), DailyCap: 5}); err != nil || o.Capped || !o.First {
			t.Fatalf("a booking (its own kind's tally): %+v %v", o, err)
		}
		schedule(t, st, t0, visit("next", "S001", "P01", t0.Add(-24*time.Hour), true))
		next := at.Add(24 * time.Hour)
		if o, err := st.OpenLink(bg(), hq.LinkOpen{ID: "next-f1", At: next, Points: linkEvent("next-f1", flows.PointsLinkOpened, 2, next), DailyCap: 5}); err != nil || o.Capped {
			t.Fatalf("the next day's open: %+v %v", o, err)
		}
	})
	t.Run("NoCapNoTally", func(t *testing.T) {
		st := open(t)
		for i := range 3 {
			schedule(t, st, t0, visit(fmt.Sprintf("u%d", i), "S001", "P01", t0.Add(-24*time.Hour), true))
			id := fmt.Sprintf("u%d-f1", i)
			if o, err := st.OpenLink(bg(), hq.LinkOpen{ID: id, At: t0, Points: linkEvent(id, flows.PointsLinkOpened, 400, t0)}); err != nil || o.Capped {
				t.Fatalf("uncapped open: %+v %v", o, err)
			}
		}
		if p := pointsOf(t, st, "S001", "P01"); p != 1200 {
			t.Fatalf("points %d, want 1200", p)
		}
	})
}
