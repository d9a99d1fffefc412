package hqclient_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq/api"
	"github.com/pharmachain/counter/sync/hqclient"
	"github.com/pharmachain/counter/sync/internal/hqtest"
	"github.com/pharmachain/counter/sync/wire"
)

func TestHistoryRosterPoints(t *testing.T) {
	h := hqtest.Start(t, api.Options{}, "S001", "S002")
	ctx := context.Background()
	key := hqtest.Key("c1")
	sold := time.Date(2026, 6, 20, 10, 0, 0, 0, flows.Shanghai())
	if _, err := h.Store.IngestPurchases(ctx, []flows.Purchase{{ID: "S002-1-1", CustomerKey: key, StoreID: "S002", SoldAt: sold, DrugCode: "POS-AML5", Ingredient: "amlodipine", ATC: "C08CA01", Quantity: 1, DaysSupply: 30}}); err != nil {
		t.Fatal(err)
	}
	if err := h.Store.PutPharmacist(ctx, flows.Pharmacist{ID: "P01", StoreID: "S001", Name: "李娜", PINHash: "$2a$10$x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Store.CreditPoints(ctx, flows.PointsEvent{ID: "e1", StoreID: "S001", PharmacistID: "P01", Points: 3}); err != nil {
		t.Fatal(err)
	}
	c := hqclient.New(h.URL, h.Tokens["S001"], 0)
	r, err := c.History(ctx, key, 90, flows.DayOf(sold))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Purchases) != 1 || r.Purchases[0].StoreID != "S002" || len(r.Adherence) != 1 || r.Adherence[0].Class != flows.ClassHypertension {
		t.Fatalf("history from another store: %+v", r)
	}
	ro, err := c.Roster(ctx)
	if err != nil || len(ro.Pharmacists) != 1 || ro.Pharmacists[0].PINHash == "" {
		t.Fatalf("roster: %+v %v", ro, err)
	}
	pts, err := c.Points(ctx)
	if err != nil || len(pts.Rows) != 1 || pts.Rows[0].Points != 3 {
		t.Fatalf("points: %+v %v", pts, err)
	}
	// A bad token is an HQ answer, not "offline".
	_, err = hqclient.New(h.URL, "bad", 0).Roster(ctx)
	var he *hqclient.Error
	if !errors.As(err, &he) || he.Status != 401 || hqclient.IsOffline(err) {
		t.Fatalf("bad token: %v", err)
	}
}

func TestHistoryOfflineWithinBudget(t *testing.T) {
	h := hqtest.Start(t, api.Options{}, "S001")
	release := make(chan struct{})
	h.SetHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // HQ hangs
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer close(release)
	c := hqclient.New(h.URL, h.Tokens["S001"], 0)
	start := time.Now()
	_, err := c.History(context.Background(), hqtest.Key("x"), 90, 0)
	el := time.Since(start)
	if !hqclient.IsOffline(err) {
		t.Fatalf("err %v, want offline", err)
	}
	if el < 700*time.Millisecond || el > 1500*time.Millisecond {
		t.Fatalf("gave up after %v, want ≈ 800 ms", el)
	}
	// HQ not even listening: fails fast.
	h.HTTP.Close()
	start = time.Now()
	_, err = c.History(context.Background(), hqtest.Key("x"), 90, 0)
	if !hqclient.IsOffline(err) || time.Since(start) > time.Second {
		t.Fatalf("closed HQ: %v after %v", err, time.Since(start))
	}
	_ = wire.PathHistory
}

// TestEffect: a store token gets its store's effect report (computed live at HQ).
func TestEffect(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, flows.Shanghai())
	h := hqtest.Start(t, api.Options{Now: func() time.Time { return now }}, "S001")
	ctx := context.Background()
	key := hqtest.Key("c1")
	var ps []flows.Purchase
	for i := range 6 {
		ps = append(ps, flows.Purchase{ID: "S001:" + string(rune('a'+i)) + ":AML", CustomerKey: key, StoreID: "S001",
			SoldAt: time.Date(2026, 1, 1, 10, 0, 0, 0, flows.Shanghai()).AddDate(0, 0, 30*i), DrugCode: "POS-AML5", Quantity: 1, DaysSupply: 30})
	}
	if _, err := h.Store.IngestPurchases(ctx, ps); err != nil {
		t.Fatal(err)
	}
	from, to := flows.DayFromDate(2026, 1, 1), flows.DayFromDate(2026, 6, 30)
	r, err := hqclient.New(h.URL, h.Tokens["S001"], 0).Effect(ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	// One comparison customer, index 2026-01-01 (the first fill, none in the 180 days
	// before: new), and no number.
	if r.Source != wire.SourceLive || r.StoreID != "S001" || r.AsOf != flows.DayOf(now) || len(r.Classes) != 3 ||
		r.Classes[0].Comparison.Customers != 1 || r.Classes[0].Comparison.New != 1 || r.Classes[0].Outcomes[0].Status != "insufficient_data" {
		t.Fatalf("%+v", r)
	}
}
