package storetest

import (
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
)

func visits(t *testing.T, open Opener) {
	t.Run("DuplicatesWithinAndAcrossBatches", func(t *testing.T) {
		st := open(t)
		a1, a2, a3 := visit("a1", "S001", "P01", t0, true), visit("a2", "S001", "P01", t0, false), visit("a3", "S001", "P02", t0, true)
		r, err := st.IngestVisits(bg(), "S001", []hq.VisitIngest{{Visit: a1}, {Visit: a2}, {Visit: a1}})
		if err != nil || r.Accepted != 2 || r.Duplicates != 1 || !slices.Equal(r.AcceptedIDs, []string{"a1", "a2"}) {
			t.Fatalf("first batch: %+v %v, want a1 a2 accepted and a1 once a duplicate", r, err)
		}
		r, err = st.IngestVisits(bg(), "S001", []hq.VisitIngest{{Visit: a2}, {Visit: a3}})
		if err != nil || r.Accepted != 1 || r.Duplicates != 1 || !slices.Equal(r.AcceptedIDs, []string{"a3"}) {
			t.Fatalf("second batch: %+v %v", r, err)
		}
		if n := visitsCounted(t, st, "S001"); n != 3 {
			t.Fatalf("rollups count %d visits, want 3 (duplicates must not roll up)", n)
		}
		got, err := st.Visit(bg(), "S001", "a3")
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(a3)
		have, _ := json.Marshal(got)
		if string(want) != string(have) {
			t.Fatalf("visit round trip:\n got %s\nwant %s", have, want)
		}
		if _, err := st.Visit(bg(), "S001", "zz"); !errors.Is(err, hq.ErrNotFound) {
			t.Fatalf("unknown visit: %v", err)
		}
	})
	t.Run("IDsScopedPerStore", func(t *testing.T) {
		// A record of S002 whose id S001 already used is S002's own visit,
		// with its own rollup and its own visit_complete points (event ids are scoped
		// like visit ids).
		st := open(t)
		a, b := visit("same", "S001", "P01", t0, true), visit("same", "S002", "P07", t0.Add(time.Hour), true)
		b.CustomerKey = key("another customer")
		ingest(t, st, hq.VisitIngest{Visit: a, Points: []flows.PointsEvent{completeEvent(a, 2)}})
		r, err := st.IngestVisits(bg(), "S002", []hq.VisitIngest{{Visit: b, Points: []flows.PointsEvent{completeEvent(b, 2)}}})
		if err != nil || r.Accepted != 1 || r.Duplicates != 0 {
			t.Fatalf("S002's record with S001's id: %+v %v, want accepted", r, err)
		}
		if r := ingest(t, st, hq.VisitIngest{Visit: b}); r.Duplicates != 1 {
			t.Fatalf("S002's record again: %+v, want a duplicate", r)
		}
		for _, want := range []flows.Visit{a, b} {
			got, err := st.Visit(bg(), want.StoreID, "same")
			if err != nil || got.StoreID != want.StoreID || got.CustomerKey != want.CustomerKey {
				t.Fatalf("visit %s/same: %+v %v", want.StoreID, got, err)
			}
			if n := visitsCounted(t, st, want.StoreID); n != 1 {
				t.Fatalf("%s's rollups count %d visits, want 1", want.StoreID, n)
			}
		}
		if p := pointsOf(t, st, "S002", "P07"); p != 2 {
			t.Fatalf("S002's pharmacist has %d points, want 2 (the event id is S001's too)", p)
		}
		if _, err := st.Visit(bg(), "S003", "same"); !errors.Is(err, hq.ErrNotFound) {
			t.Fatalf("S003/same: %v, want ErrNotFound", err)
		}
		vs, err := st.VisitsWithID(bg(), "same")
		if err != nil || len(vs) != 2 || vs[0].StoreID != "S001" || vs[1].StoreID != "S002" {
			t.Fatalf("VisitsWithID: %+v %v", vs, err)
		}
		if vs, err := st.VisitsWithID(bg(), "none"); err != nil || vs == nil || len(vs) != 0 {
			t.Fatalf("VisitsWithID of an unknown id: %#v %v, want empty", vs, err)
		}
		// A batch says whose records it holds: another store's record in it, or no
		// store, is refused.
		c := visit("c1", "S001", "P01", t0, false)
		if _, err := st.IngestVisits(bg(), "S002", []hq.VisitIngest{{Visit: c}}); !errors.Is(err, hq.ErrInvalid) {
			t.Fatalf("S001's record in a batch of S002: %v, want ErrInvalid", err)
		}
		if _, err := st.IngestVisits(bg(), "", []hq.VisitIngest{{Visit: c}}); !errors.Is(err, hq.ErrInvalid) {
			t.Fatalf("a batch without store: %v, want ErrInvalid", err)
		}
		// Points events are scoped too: the same id credited to another store credits.
		ev := flows.PointsEvent{ID: "e1:link_opened", StoreID: "S001", PharmacistID: "P01", Kind: flows.PointsLinkOpened, Points: 1, At: t0}
		if ok, err := st.CreditPoints(bg(), ev); !ok || err != nil {
			t.Fatalf("credit: %v %v", ok, err)
		}
		ev.StoreID, ev.PharmacistID = "S002", "P07"
		if ok, err := st.CreditPoints(bg(), ev); !ok || err != nil {
			t.Fatalf("the same event id at another store: credited %v %v, want true", ok, err)
		}
		if ok, _ := st.CreditPoints(bg(), ev); ok {
			t.Fatal("an event credited twice to one store")
		}
	})
	t.Run("RawKeptVerbatim", func(t *testing.T) {
		st := open(t)
		v := visit("r1", "S001", "P01", t0, true)
		raw, _ := json.Marshal(v)
		ingest(t, st, hq.VisitIngest{Visit: v, Raw: raw})
		got, err := st.Visit(bg(), "S001", "r1")
		if err != nil || got.ID != "r1" || got.Outcome != flows.OutcomeComplete || !got.StartedAt.Equal(t0) {
			t.Fatalf("%+v %v", got, err)
		}
	})
	t.Run("FailureMidBatchStoresNothing", func(t *testing.T) {
		bad := map[string]func(in *hq.VisitIngest){
			"ID number as customer key": func(in *hq.VisitIngest) { in.Visit.CustomerKey = "11010519491231002X" },
			"visit without id":          func(in *hq.VisitIngest) { in.Visit.ID = "" },
			"follow-up without due":     func(in *hq.VisitIngest) { in.FollowUps[0].FollowUp.DueAt = time.Time{} },
			"follow-up without id":      func(in *hq.VisitIngest) { in.FollowUps[0].FollowUp.ID = "" },
			"follow-up of another store": func(in *hq.VisitIngest) {
				in.FollowUps[0].FollowUp.StoreID = "S999"
			},
			"points event without pharmacist": func(in *hq.VisitIngest) {
				in.Points = []flows.PointsEvent{{ID: "x:visit_complete", StoreID: "S001", Points: 1}}
			},
		}
		for name, spoil := range bad {
			t.Run(name, func(t *testing.T) {
				st := open(t)
				good := withFollowUp(visit("g1", "S001", "P01", t0, true), t0.Add(24*time.Hour))
				good.Points = []flows.PointsEvent{completeEvent(good.Visit, 2)}
				second := withFollowUp(visit("g2", "S001", "P01", t0, true), t0.Add(24*time.Hour))
				spoil(&second)
				_, err := st.IngestVisits(bg(), "S001", []hq.VisitIngest{good, second})
				if !errors.Is(err, hq.ErrInvalid) {
					t.Fatalf("batch with %s: %v, want ErrInvalid", name, err)
				}
				if _, err := st.Visit(bg(), "S001", "g1"); !errors.Is(err, hq.ErrNotFound) {
					t.Fatalf("the good record before the bad one was stored (%v)", err)
				}
				if n := visitsCounted(t, st, "S001"); n != 0 {
					t.Fatalf("rollups of a refused batch: %d", n)
				}
				if p := pointsOf(t, st, "S001", ""); p != 0 {
					t.Fatalf("points of a refused batch: %d", p)
				}
				if _, err := st.FollowUp(bg(), "g1-f1"); !errors.Is(err, hq.ErrNotFound) {
					t.Fatalf("follow-up of a refused batch: %v", err)
				}
				if a := auditActions(t, st); a["ingest"] != 0 {
					t.Fatalf("audit of a refused batch: %v", a)
				}
				// The batch without the bad record goes through whole.
				if r := ingest(t, st, good); r.Accepted != 1 {
					t.Fatalf("resend: %+v", r)
				}
				if p := pointsOf(t, st, "S001", ""); p != 2 {
					t.Fatalf("points after resend: %d", p)
				}
			})
		}
	})
	t.Run("FollowUpsPointsAuditOnlyForNewVisits", func(t *testing.T) {
		st := open(t)
		v := visit("n1", "S001", "P01", t0, true)
		in := withFollowUp(v, t0.Add(24*time.Hour))
		in.Points = []flows.PointsEvent{completeEvent(v, 2)}
		ingest(t, st, in)
		// A replay carrying different extras changes nothing.
		replay := withFollowUp(v, t0.Add(48*time.Hour))
		replay.Audit[0].Action = "replayed"
		replay.Points = []flows.PointsEvent{{ID: "n1:bonus", StoreID: "S001", PharmacistID: "P01", Points: 10}}
		if r := ingest(t, st, replay); r.Duplicates != 1 || r.Accepted != 0 {
			t.Fatalf("replay: %+v", r)
		}
		it, err := st.FollowUp(bg(), "n1-f1")
		if err != nil || !it.FollowUp.DueAt.Equal(t0.Add(24*time.Hour)) || it.Status != hq.StatusScheduled || !it.NextAt.Equal(t0.Add(24*time.Hour)) {
			t.Fatalf("follow-up after replay: %+v %v", it, err)
		}
		if p := pointsOf(t, st, "S001", "P01"); p != 2 {
			t.Fatalf("points %d, want 2", p)
		}
		if a := auditActions(t, st); a["ingest"] != 1 || a["replayed"] != 0 {
			t.Fatalf("audit %v", a)
		}
		// A new visit naming an existing follow-up id leaves the first follow-up as it was.
		w := visit("n2", "S001", "P01", t0, true)
		clash := withFollowUp(w, t0.Add(72*time.Hour))
		clash.FollowUps[0].FollowUp.ID = "n1-f1"
		ingest(t, st, clash)
		if it, _ := st.FollowUp(bg(), "n1-f1"); it.FollowUp.VisitID != "n1" {
			t.Fatalf("a second schedule of id n1-f1 replaced the first: %+v", it)
		}
	})
	t.Run("ConcurrentBatchesStoreOnce", func(t *testing.T) {
		st := open(t)
		var batch []hq.VisitIngest
		for i := range 20 {
			v := visit("c"+string(rune('a'+i)), "S001", "P01", t0, true)
			batch = append(batch, hq.VisitIngest{Visit: v, Points: []flows.PointsEvent{completeEvent(v, 1)}})
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		accepted := 0
		for range 8 {
			wg.Go(func() {
				r, err := st.IngestVisits(bg(), "S001", batch)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				accepted += r.Accepted
				mu.Unlock()
			})
		}
		wg.Wait()
		if accepted != 20 || visitsCounted(t, st, "S001") != 20 || pointsOf(t, st, "S001", "P01") != 20 {
			t.Fatalf("8 concurrent copies of a 20-record batch: accepted %d, rolled up %d, points %d; want 20 each",
				accepted, visitsCounted(t, st, "S001"), pointsOf(t, st, "S001", "P01"))
		}
	})
}
