package api_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq/api"
	"github.com/pharmachain/counter/sync/internal/hqtest"
	"github.com/pharmachain/counter/sync/wire"
)

// A complete visit earns visit_complete as priced by the content version the counter
// served it with: a published version's rules for its visits, HQ's own (version 0) for
// the built-in content's and for a version HQ does not have. A version published after
// a visit changes nothing for it.
func TestVisitPointsByContentVersion(t *testing.T) {
	h := hqtest.Start(t, api.Options{DefaultContent: embedded(t)}, "S001")
	ctx := context.Background()
	for _, p := range []string{"P01", "P02", "P03"} {
		if err := h.Store.PutPharmacist(ctx, flows.Pharmacist{StoreID: "S001", ID: p, Name: p}); err != nil {
			t.Fatal(err)
		}
	}
	publish := func(n int) {
		t.Helper()
		if code, body := h.Do(t, "POST", wire.PathContentVersions, h.Admin, wire.ContentPublishRequest{
			Files: map[string]string{flows.PointsFile: pointsFile(n)}, All: true}); code != 200 {
			t.Fatalf("publish: %d %s", code, body)
		}
	}
	publish(5) // version 1
	start := time.Date(2026, 6, 1, 9, 0, 0, 0, flows.Shanghai())
	send := func(vs ...flows.Visit) {
		t.Helper()
		if code, body := h.Do(t, "POST", wire.PathRecords, h.Tokens["S001"], wire.RecordsRequest{StoreID: "S001", Records: vs}); code != 200 {
			t.Fatalf("records: %d %s", code, body)
		}
	}
	visit := func(i int, pharm string, version int) flows.Visit {
		v := hqtest.Visit(fmt.Sprintf("V%d", i), "S001", pharm, start.Add(time.Duration(i)*time.Minute), true)
		v.ContentVersion = version
		return v
	}
	send(visit(1, "P01", 1), visit(2, "P01", 1), visit(3, "P02", 0), visit(4, "P03", 9))
	publish(8) // version 2: later visits on it earn 8; the ones above keep theirs
	send(visit(5, "P03", 2), visit(1, "P01", 1))
	want := map[string]int{"P01": 10, "P02": 1, "P03": 1 + 8}
	code, body := h.Do(t, "GET", wire.PathPoints, h.Tokens["S001"], nil)
	if code != 200 {
		t.Fatalf("points: %d %s", code, body)
	}
	got := map[string]int{}
	for _, r := range decode[wire.PointsResponse](t, body).Rows {
		got[r.PharmacistID] += r.Points
	}
	for p, n := range want {
		if got[p] != n {
			t.Errorf("%s: %d points, want %d (all: %v)", p, got[p], n, got)
		}
	}
}
