package boltstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/boltstore"
	"github.com/pharmachain/counter/sync/internal/hqtest"
)

// TestBatchPointsTotals: a batch's points are added to each pharmacist's total once per
// new event — repeats inside the batch, replays of the batch and a record earning two
// events all add up correctly (the totals are merged once per pharmacist per batch).
func TestBatchPointsTotals(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "hq.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	var batch []hq.VisitIngest
	for _, x := range []struct{ id, pharm string }{{"a1", "P01"}, {"a2", "P01"}, {"b1", "P02"}, {"a1", "P01"}, {"a3", "P01"}, {"b2", "P02"}} {
		in := hq.VisitIngest{Visit: hqtest.Visit(x.id, "S001", x.pharm, t0, true),
			Points: []flows.PointsEvent{{ID: x.id + ":visit_complete", StoreID: "S001", PharmacistID: x.pharm, Points: 2}}}
		if x.id == "a1" {
			in.Points = append(in.Points, flows.PointsEvent{ID: "a1:bonus", StoreID: "S001", PharmacistID: "P01", Points: 10})
		}
		batch = append(batch, in)
	}
	for round := range 2 {
		r, err := st.IngestVisits(ctx, "S001", batch)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[int]int{0: 5, 1: 0}[round]; r.Accepted != want {
			t.Fatalf("round %d accepted %d, want %d", round, r.Accepted, want)
		}
		pts, err := st.Points(ctx, "S001", "")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, p := range pts {
			got[p.PharmacistID] = int64(p.Points)
		}
		if len(got) != 2 || got["P01"] != 3*2+10 || got["P02"] != 2*2 {
			t.Fatalf("round %d totals %v, want P01 16, P02 4", round, got)
		}
	}
}
