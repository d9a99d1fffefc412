package server

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/wire"
)

// pointsOf is a pharmacist's points total as the API reports it.
func (h *testHQ) pointsOf(t *testing.T, store, pharm string) int {
	t.Helper()
	code, b := h.do(t, "GET", wire.PathPoints+"?store_id="+store+"&pharmacist_id="+pharm, h.admin, nil)
	var pr wire.PointsResponse
	if code != 200 || json.Unmarshal(b, &pr) != nil {
		t.Fatalf("points: %d %s", code, b)
	}
	n := 0
	for _, r := range pr.Rows {
		n += r.Points
	}
	return n
}

// TestFollowUpCreditsOnlyItsVisitsPharmacist (issue 11.2): a record whose scheduled
// follow-up names another pharmacist (or visit, or customer) than the record's is
// refused — the link would otherwise credit that other pharmacist. It fails on the code
// before the fix (the record was accepted and P02 would earn P01's link points).
func TestFollowUpCreditsOnlyItsVisitsPharmacist(t *testing.T) {
	h := startHQ(t, Config{}, "S001")
	h.putRoster(t, "S001", "P01", "P02")
	for _, c := range []struct {
		field string
		spoil func(fu *flows.FollowUp)
	}{
		{"pharmacist_id", func(fu *flows.FollowUp) { fu.PharmacistID = "P02" }},
		{"visit_id", func(fu *flows.FollowUp) { fu.VisitID = "OTHER" }},
		{"customer_key", func(fu *flows.FollowUp) { fu.CustomerKey = "fedcba9876543210fedcba9876543210" }},
	} {
		v := storeVisit("VF-"+c.field, "S001", "P01", h.clk.Now())
		c.spoil(v.FollowUp.FollowUp)
		code, b := h.do(t, "POST", wire.PathRecords, h.tokens["S001"], wire.RecordsRequest{StoreID: "S001", Records: []flows.Visit{v}})
		if code != 400 || !strings.Contains(string(b), c.field) {
			t.Errorf("a follow-up with another %s: %d %s, want 400 naming it", c.field, code, b)
		}
		if _, err := h.st.Visit(context.Background(), "S001", v.ID); err == nil {
			t.Errorf("the record with another %s was stored", c.field)
		}
	}
	if p := h.pointsOf(t, "S001", "P02"); p != 0 {
		t.Fatalf("P02 has %d points from P01's visits", p)
	}
}
