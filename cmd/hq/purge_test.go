package main

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/boltstore"
)

func TestPurgeKeepsRecentAndAggregates(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := openStore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	key := strings.Repeat("ab", 16)
	now := time.Now()
	old, recent := now.AddDate(-4, 0, 0), now.AddDate(0, 0, -10)
	if _, err := st.IngestPurchases(ctx, []flows.Purchase{
		{ID: "S001:1:D1", CustomerKey: key, StoreID: "S001", SoldAt: old, DrugCode: "D1", Quantity: 1, DaysSupply: 30},
		{ID: "S001:2:D1", CustomerKey: key, StoreID: "S001", SoldAt: recent, DrugCode: "D1", Quantity: 1, DaysSupply: 30},
	}); err != nil {
		t.Fatal(err)
	}
	oldVisit := completedVisit(t, "01PURGEOLD0000000000000001", old)
	newVisit := completedVisit(t, "01PURGENEW0000000000000001", recent)
	if _, err := st.IngestVisits(ctx, "S001", []hq.VisitIngest{{Visit: oldVisit}, {Visit: newVisit}}); err != nil {
		t.Fatal(err)
	}
	report := func(st hq.Store) int {
		gs, err := st.Completion(ctx, hq.CompletionQuery{StoreID: "S001", GroupBy: "store"})
		if err != nil || len(gs) != 1 {
			t.Fatalf("completion: %v %v", gs, err)
		}
		return gs[0].Row().Visits
	}
	before := report(st)
	st.Close()

	code, out, errs := runHQ(t, "purge", "--data", dir)
	if code != 0 {
		t.Fatalf("purge: %d %s %s", code, out, errs)
	}
	var ps hq.PurgeStats
	if err := json.Unmarshal([]byte(out), &ps); err != nil || ps.Purchases != 1 || ps.Visits != 1 {
		t.Fatalf("purge output %q", out)
	}
	st, err = boltstore.Open(filepath.Join(dir, DBFile), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := st.History(ctx, key, 0, flows.DayOf(now))
	if err != nil || len(h) != 1 || h[0].ID != "S001:2:D1" {
		t.Fatalf("history after purge: %+v %v", h, err)
	}
	if got := report(st); got != before {
		t.Fatalf("completion report changed by the purge: %d → %d visits", before, got)
	}
	if v, err := st.Visit(ctx, oldVisit.StoreID, oldVisit.ID); !errors.Is(err, hq.ErrNotFound) {
		t.Fatalf("old visit after purge: %+v %v (want only a tombstone left, which is no visit)", v, err)
	}
	// A very late resend of the purged visit is still a duplicate, never a second record.
	res, err := st.IngestVisits(ctx, "S001", []hq.VisitIngest{{Visit: oldVisit}})
	if err != nil || res.Duplicates != 1 || res.Accepted != 0 {
		t.Fatalf("resend after purge: %+v %v", res, err)
	}
	if got := report(st); got != before {
		t.Fatalf("a resend after purge was counted again: %d → %d", before, got)
	}
	if code, _, _ := runHQ(t, "purge", "--data", dir, "--retention", "720h"); code != 2 {
		t.Fatalf("30-day retention accepted: exit %d", code)
	}
}

func TestPurgeThroughRunningHQ(t *testing.T) {
	h := startDemoServe(t, t.TempDir(), time.Second)
	if code, _, errs := runHQ(t, "purge", "--hq", h.base, "--token", DemoStoreToken); code != 1 || !strings.Contains(errs, "403") {
		t.Fatalf("store token: %d %s", code, errs)
	}
	code, out, errs := runHQ(t, "purge", "--hq", h.base, "--token", DemoAdminToken)
	if code != 0 || !strings.Contains(out, `"purchases":0`) {
		t.Fatalf("purge: %d %s %s", code, out, errs)
	}
	if c, b := get(t, h.base+"/api/v1/audit", DemoAdminToken); c != 200 || !strings.Contains(string(b), `"purge"`) {
		t.Fatalf("purge not audited: %d %s", c, b)
	}
	h.stop(t)
}
