package server

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/wire"
)

// TestVisitIDsScopedPerStore: a record of S002 whose id S001 already used
// is stored as S002's — its rollup, its visit_complete points and its follow-up — not
// answered as a duplicate. It fails on the code before the fix (HQ answered
// {"accepted":0,"duplicates":1} and dropped S002's record).
func TestVisitIDsScopedPerStore(t *testing.T) {
	h := startHQ(t, Config{}, "S001", "S002")
	h.putRoster(t, "S001", "P01")
	h.putRoster(t, "S002", "P07")
	now := h.clk.Now()
	for _, c := range []struct{ store, pharm string }{{"S001", "P01"}, {"S002", "P07"}} {
		v := storeVisit("V1", c.store, c.pharm, now)
		code, b := h.do(t, "POST", wire.PathRecords, h.tokens[c.store], wire.RecordsRequest{StoreID: c.store, Records: []flows.Visit{v}})
		var res wire.IngestResponse
		if code != 200 || json.Unmarshal(b, &res) != nil || res.Accepted != 1 || res.Duplicates != 0 {
			t.Fatalf("%s's record V1: %d %s, want accepted", c.store, code, b)
		}
	}
	// Each store's own again: a duplicate.
	code, b := h.do(t, "POST", wire.PathRecords, h.tokens["S002"], wire.RecordsRequest{StoreID: "S002", Records: []flows.Visit{storeVisit("V1", "S002", "P07", now)}})
	if code != 200 || string(b) != `{"accepted":0,"duplicates":1}`+"\n" {
		t.Fatalf("S002's V1 again: %d %s, want a duplicate", code, b)
	}
	code, b = h.do(t, "GET", wire.PathPoints+"?store_id=S002", h.tokens["S002"], nil)
	var pts wire.PointsResponse
	if code != 200 || json.Unmarshal(b, &pts) != nil || len(pts.Rows) != 1 || pts.Rows[0].PharmacistID != "P07" || pts.Rows[0].Points != 1 {
		t.Fatalf("S002's points: %d %s, want P07 credited for its own V1", code, b)
	}
	code, b = h.do(t, "GET", wire.PathCompletion+"?store_id=S002", h.tokens["S002"], nil)
	var comp wire.CompletionResponse
	if code != 200 || json.Unmarshal(b, &comp) != nil || len(comp.Rows) != 1 || comp.Rows[0].Visits != 1 || comp.Rows[0].Completed != 1 {
		t.Fatalf("S002's completion: %d %s", code, b)
	}
	for _, c := range []struct{ id, store, pharm string }{{"S001:V1-f1", "S001", "P01"}, {"S002:V1-f1", "S002", "P07"}} {
		it, err := h.st.FollowUp(context.Background(), c.id)
		if err != nil || it.FollowUp.StoreID != c.store || it.FollowUp.PharmacistID != c.pharm || it.FollowUp.VisitID != "V1" {
			t.Fatalf("follow-up %s: %+v %v", c.id, it.FollowUp, err)
		}
	}
}

// TestPurchaseIDsScopedPerStore: purchase ids are deduplicated chain-wide, so each
// store's begin with its own store id (STORE:SALE:CODE, as the POS import makes them):
// a store cannot send a purchase under an id another store's sale will have, which would
// make that sale a "duplicate" and drop it from the customer's history. It fails on the
// code before the fix (S001's purchase under S002's id was taken; S002's own was then
// answered as a duplicate).
func TestPurchaseIDsScopedPerStore(t *testing.T) {
	h := startHQ(t, Config{}, "S001", "S002")
	key := "0123456789abcdef0123456789abcdef"
	body := func(store, id string) string {
		return `{"purchases":[{"id":"` + id + `","customer_key":"` + key + `","store_id":"` + store + `","sold_at":"2026-03-02T10:00:00+08:00","drug_code":"POS-AML5","quantity":1}]}`
	}
	if code, b := h.do(t, "POST", wire.PathPurchases, h.tokens["S001"], body("S001", "S002:A7:POS-AML5")); code != 400 || !strings.Contains(string(b), "purchases[0].id") {
		t.Fatalf("S001's purchase under S002's id: %d %s, want 400", code, b)
	}
	if code, b := h.do(t, "POST", wire.PathPurchases, h.tokens["S002"], body("S002", "S002:A7:POS-AML5")); code != 200 || !strings.Contains(string(b), `"accepted":1`) {
		t.Fatalf("S002's own purchase: %d %s, want accepted", code, b)
	}
}
