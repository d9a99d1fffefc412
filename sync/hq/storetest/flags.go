package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
)

func flag(kind, store, pharm, ref string, at time.Time) hq.Flag {
	return hq.Flag{At: at, Kind: kind, StoreID: store, PharmacistID: pharm, Ref: ref, Detail: "d-" + ref}
}

func flagRefs(t *testing.T, st hq.Store, q hq.FlagQuery) []string {
	t.Helper()
	fs, err := st.Flags(bg(), q)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fs {
		out = append(out, f.Ref)
	}
	return out
}

func flagsArea(t *testing.T, open Opener) {
	t.Run("WrittenWithNewVisitsOnly", func(t *testing.T) {
		st := open(t)
		v := visit("n1", "S001", "P99", t0, true)
		in := hq.VisitIngest{Visit: v, Flags: []hq.Flag{flag(hq.FlagNotOnRoster, "S001", "P99", "n1", t0)}}
		ingest(t, st, in)
		ingest(t, st, in) // a duplicate brings nothing
		fs, err := st.Flags(bg(), hq.FlagQuery{})
		if err != nil || len(fs) != 1 {
			t.Fatalf("flags after a visit and its duplicate: %+v %v, want one", fs, err)
		}
		f := fs[0]
		if f.Seq == 0 || f.Kind != hq.FlagNotOnRoster || f.StoreID != "S001" || f.PharmacistID != "P99" || f.Ref != "n1" ||
			f.Detail != "d-n1" || !f.At.Equal(t0) || f.Points != 0 {
			t.Fatalf("flag round trip: %+v", f)
		}
		// A refused batch writes none of its flags.
		bad := hq.VisitIngest{Visit: visit("n2", "S001", "P99", t0, true), Flags: []hq.Flag{flag(hq.FlagNotOnRoster, "S001", "P99", "n2", t0)}}
		spoilt := hq.VisitIngest{Visit: visit("", "S001", "P99", t0, true)}
		if _, err := st.IngestVisits(bg(), "S001", []hq.VisitIngest{bad, spoilt}); !errors.Is(err, hq.ErrInvalid) {
			t.Fatalf("bad batch: %v", err)
		}
		if refs := flagRefs(t, st, hq.FlagQuery{}); len(refs) != 1 {
			t.Fatalf("flags after a refused batch: %v", refs)
		}
	})
	t.Run("WrittenWithTheFirstOpenAndBooking", func(t *testing.T) {
		st := open(t)
		schedule(t, st, t0, visit("v", "S001", "P01", t0.Add(-24*time.Hour), true))
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				at := t0.Add(10 * time.Second)
				_, err := st.OpenLink(bg(), hq.LinkOpen{ID: "v-f1", At: at, Points: linkEvent("v-f1", flows.PointsLinkOpened, 2, at),
					Flags: []hq.Flag{flag(hq.FlagFastOpen, "S001", "P01", "v-f1", at)}})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		at := t0.Add(time.Minute)
		for range 2 {
			if _, err := st.BookRevisit(bg(), hq.RevisitBooking{ID: "v-f1", Date: day0 + 2, Slot: "am", At: at,
				Points: linkEvent("v-f1", flows.PointsRevisitBooked, 3, at), Flags: []hq.Flag{flag(hq.FlagKioskAddress, "S001", "P01", "v-f1", at)}}); err != nil {
				t.Fatal(err)
			}
		}
		fs, err := st.Flags(bg(), hq.FlagQuery{})
		if err != nil || len(fs) != 2 || fs[0].Kind != hq.FlagKioskAddress || fs[1].Kind != hq.FlagFastOpen || fs[0].Seq <= fs[1].Seq {
			t.Fatalf("flags: %+v %v, want the booking's then the open's, once each", fs, err)
		}
	})
	t.Run("Query", func(t *testing.T) {
		st := open(t)
		var batch []hq.VisitIngest
		for i, c := range []struct{ id, store, kind string }{
			{"a", "S001", hq.FlagNotOnRoster}, {"b", "S002", hq.FlagNotOnRoster}, {"c", "S001", hq.FlagFastOpen}, {"d", "S001", hq.FlagNotOnRoster},
		} {
			at := t0.Add(time.Duration(i) * time.Hour)
			in := hq.VisitIngest{Visit: visit(c.id, "S001", "P01", at, false), Flags: []hq.Flag{flag(c.kind, c.store, "P01", c.id, at)}}
			batch = append(batch, in)
		}
		ingest(t, st, batch...)
		for _, c := range []struct {
			q    hq.FlagQuery
			want []string
		}{
			{hq.FlagQuery{}, []string{"d", "c", "b", "a"}},
			{hq.FlagQuery{StoreID: "S001"}, []string{"d", "c", "a"}},
			{hq.FlagQuery{Kind: hq.FlagNotOnRoster}, []string{"d", "b", "a"}},
			{hq.FlagQuery{StoreID: "S001", Kind: hq.FlagNotOnRoster, Limit: 1}, []string{"d"}},
			{hq.FlagQuery{From: t0.Add(time.Hour), To: t0.Add(3 * time.Hour)}, []string{"c", "b"}},
		} {
			if got := flagRefs(t, st, c.q); !equalStrings(got, c.want) {
				t.Errorf("flags %+v: %v, want %v", c.q, got, c.want)
			}
		}
	})
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
