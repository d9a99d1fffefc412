package storetest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
)

func linkEvent(id, kind string, pts int, at time.Time) flows.PointsEvent {
	return flows.PointsEvent{ID: flows.PointsEventID(id, kind), StoreID: "S001", PharmacistID: "P01", Kind: kind, Points: pts, At: at, Ref: id}
}

func openLink(st hq.Store, id string, at time.Time) (hq.LinkOutcome, error) {
	return st.OpenLink(bg(), hq.LinkOpen{ID: id, At: at, Points: linkEvent(id, flows.PointsLinkOpened, 2, at),
		Audit: []hq.AuditEntry{{At: at, Actor: "customer-link", Action: "link.click", Detail: "followup=" + id}}})
}

func book(st hq.Store, id string, at time.Time) (hq.LinkOutcome, error) {
	return st.BookRevisit(bg(), hq.RevisitBooking{ID: id, Date: flows.DayOf(at) + 3, Slot: "pm", At: at,
		Points: linkEvent(id, flows.PointsRevisitBooked, 3, at),
		Audit:  []hq.AuditEntry{{At: at, Actor: "customer-link", Action: "link.book", Detail: "followup=" + id}}})
}

func links(t *testing.T, open Opener) {
	t.Run("ClickAndCreditOnceUnderConcurrency", func(t *testing.T) {
		st := open(t)
		schedule(t, st, t0, visit("v", "S001", "P01", t0.Add(-24*time.Hour), true))
		before := pointsOf(t, st, "S001", "P01")
		var wg sync.WaitGroup
		var first atomic.Int32
		for range 16 {
			wg.Go(func() {
				o, err := openLink(st, "v-f1", t0.Add(time.Hour))
				if err != nil {
					t.Error(err)
					return
				}
				if !o.Opened || o.Item.OpenedAt.IsZero() {
					t.Errorf("outcome %+v: the link is opened", o)
				}
				if o.First {
					first.Add(1)
				}
			})
		}
		wg.Wait()
		if first.Load() != 1 || pointsOf(t, st, "S001", "P01")-before != 2 {
			t.Fatalf("16 concurrent opens: %d first, +%d points; want 1 and +2", first.Load(), pointsOf(t, st, "S001", "P01")-before)
		}
		if it := status(t, st, "v-f1"); !it.OpenedAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("opened at %v", it.OpenedAt)
		}
		if a := auditActions(t, st); a["link.click"] != 1 {
			t.Fatalf("audit %v", a)
		}
		if its, _ := st.Unopened(bg(), hq.UnopenedQuery{DueBefore: t0.Add(time.Hour), SentBefore: t0.Add(time.Hour)}); len(its) != 0 {
			t.Fatalf("an opened follow-up is still unopened: %+v", its)
		}
		if _, err := openLink(st, "zz", t0); !errors.Is(err, hq.ErrNotFound) {
			t.Fatalf("unknown follow-up: %v", err)
		}
	})
	t.Run("RefusedCreditRecordsNoClick", func(t *testing.T) {
		st := open(t)
		schedule(t, st, t0, visit("v", "S001", "P01", t0.Add(-24*time.Hour), true))
		wrong := linkEvent("v-f1", flows.PointsLinkOpened, 2, t0)
		wrong.PharmacistID = "P99" // another pharmacist of the store
		_, err := st.OpenLink(bg(), hq.LinkOpen{ID: "v-f1", At: t0, Points: wrong,
			Audit: []hq.AuditEntry{{At: t0, Actor: "customer-link", Action: "link.click"}}})
		if !errors.Is(err, hq.ErrInvalid) {
			t.Fatalf("points of another pharmacist: %v, want ErrInvalid", err)
		}
		if it := status(t, st, "v-f1"); !it.OpenedAt.IsZero() {
			t.Fatal("the click was recorded although its credit was refused")
		}
		if p := pointsOf(t, st, "", "P99"); p != 0 {
			t.Fatalf("P99 got %d points", p)
		}
		if a := auditActions(t, st); a["link.click"] != 0 {
			t.Fatalf("audit of a refused click: %v", a)
		}
		if o, err := openLink(st, "v-f1", t0); err != nil || !o.First {
			t.Fatalf("the proper open afterwards: %+v %v", o, err)
		}
		// Already credited through CreditPoints: the click is recorded, the points not again.
		schedule(t, st, t0, visit("w", "S001", "P01", t0.Add(-24*time.Hour), true))
		if _, err := st.CreditPoints(bg(), linkEvent("w-f1", flows.PointsLinkOpened, 2, t0)); err != nil {
			t.Fatal(err)
		}
		before := pointsOf(t, st, "S001", "P01")
		if o, err := openLink(st, "w-f1", t0); err != nil || !o.First || pointsOf(t, st, "S001", "P01") != before {
			t.Fatalf("open of a credited event: %+v %v, points %d → %d", o, err, before, pointsOf(t, st, "S001", "P01"))
		}
		// An open that earns nothing.
		schedule(t, st, t0, visit("x", "S001", "P01", t0.Add(-24*time.Hour), true))
		if o, err := st.OpenLink(bg(), hq.LinkOpen{ID: "x-f1", At: t0}); err != nil || !o.First {
			t.Fatalf("open without points: %+v %v", o, err)
		}
	})
	t.Run("BookingOnceAfterOpen", func(t *testing.T) {
		st := open(t)
		schedule(t, st, t0, visit("v", "S001", "P01", t0.Add(-24*time.Hour), true))
		o, err := book(st, "v-f1", t0)
		if err != nil || o.Opened || o.First {
			t.Fatalf("booking before the open: %+v %v", o, err)
		}
		if _, ok, _ := st.Booking(bg(), "v-f1"); ok {
			t.Fatal("booking stored before the open")
		}
		if _, err := openLink(st, "v-f1", t0); err != nil {
			t.Fatal(err)
		}
		before := pointsOf(t, st, "S001", "P01")
		var wg sync.WaitGroup
		var first atomic.Int32
		for range 8 {
			wg.Go(func() {
				o, err := book(st, "v-f1", t0.Add(time.Minute))
				if err != nil {
					t.Error(err)
				}
				if o.First {
					first.Add(1)
				}
			})
		}
		wg.Wait()
		if first.Load() != 1 || pointsOf(t, st, "S001", "P01")-before != 3 {
			t.Fatalf("8 concurrent bookings: %d first, +%d points; want 1 and +3", first.Load(), pointsOf(t, st, "S001", "P01")-before)
		}
		b, ok, err := st.Booking(bg(), "v-f1")
		if err != nil || !ok || b.Date != day0+3 || b.Slot != "pm" || b.StoreID != "S001" || !b.At.Equal(t0.Add(time.Minute)) {
			t.Fatalf("booking %+v %v %v", b, ok, err)
		}
		if it := status(t, st, "v-f1"); !it.BookedAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("booked at %v", it.BookedAt)
		}
		if _, err := book(st, "zz", t0); !errors.Is(err, hq.ErrNotFound) {
			t.Fatalf("unknown follow-up: %v", err)
		}
		if a := auditActions(t, st); a["link.book"] != 1 {
			t.Fatalf("audit %v", a)
		}
	})
}
