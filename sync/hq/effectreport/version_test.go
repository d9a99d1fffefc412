package effectreport_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/content"
	"github.com/pharmachain/counter/flows/effect"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/boltstore"
	"github.com/pharmachain/counter/sync/hq/contentadmin"
	"github.com/pharmachain/counter/sync/hq/effectreport"
	"github.com/pharmachain/counter/sync/hq/pgstore"
	"github.com/pharmachain/counter/sync/hq/pgstore/pgtest"
	"github.com/pharmachain/counter/sync/internal/hqtest"
	"github.com/pharmachain/counter/sync/wire"
)

// A visit's recommendations are converted against the products of the content version
// the counter served it with, on every backend: version 1 makes the pill organiser
// the smart reminder box (6945670010215), so buying one converts a version-1
// recommendation and not a built-in one; the store report and the chain snapshot agree.
func TestConversionsByContentVersionEveryBackend(t *testing.T) {
	def, err := content.FromDir("../../../assets/data")
	if err != nil {
		t.Fatal(err)
	}
	base, err := def.Validate()
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := def.File(flows.KnowledgeFile)
	kb1 := strings.Replace(string(kb), `"product_codes": [
    "6945670010147"
   ]`, `"product_codes": [
    "6945670010215"
   ]`, 1)
	if kb1 == string(kb) {
		t.Fatal("the pill organiser's product codes were not found in kb.json")
	}
	start := time.Date(2026, 6, 1, 10, 0, 0, 0, flows.Shanghai())
	clock := func() time.Time { return start.AddDate(0, 1, 0) }
	yes, no := true, false
	for name, open := range map[string]func(t *testing.T) hq.Store{
		"bbolt": func(t *testing.T) hq.Store {
			st, err := boltstore.Open(filepath.Join(t.TempDir(), "hq.db"), boltstore.Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		"postgres": func(t *testing.T) hq.Store {
			st, err := pgstore.Open(context.Background(), pgtest.DB(t), pgstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			svc := contentadmin.New(st, def, clock)
			v1, err := svc.Publish(ctx, wire.ContentPublishRequest{Author: "运营", All: true, Files: map[string]string{flows.KnowledgeFile: kb1}})
			if err != nil {
				t.Fatal(err)
			}
			var batch []hq.VisitIngest
			for i, cv := range []int{v1.Number, 0} { // c1 on version 1, c2 on the built-in content
				v := hqtest.Visit([]string{"V1", "V2"}[i], "S001", "P01", start.Add(time.Duration(i)*time.Minute), true)
				v.CustomerKey = hqtest.Key([]string{"c1", "c2"}[i])
				v.ContentVersion = cv
				v.Recommend.Items = []flows.Recommendation{{ID: "pill_organiser", Title: "分药盒", Reason: "r", Accepted: &yes},
					{ID: "refill_plan", Title: "续药", Reason: "r", Accepted: &no}}
				batch = append(batch, hq.VisitIngest{Visit: v})
			}
			if _, err := st.IngestVisits(ctx, "S001", batch); err != nil {
				t.Fatal(err)
			}
			var ps []flows.Purchase
			for _, c := range []string{"c1", "c2"} {
				p := flows.Purchase{ID: "S001:" + c + ":1", CustomerKey: hqtest.Key(c), StoreID: "S001", SoldAt: start.AddDate(0, 0, 2),
					DrugCode: "6945670010215", Quantity: 1}
				flows.ResolvePurchase(base.Catalog, &p)
				ps = append(ps, p)
			}
			if _, err := st.IngestPurchases(ctx, ps); err != nil {
				t.Fatal(err)
			}
			rs := effectreport.New(st, effectreport.Config{Catalog: base.Catalog, Knowledge: base.Knowledge,
				Versions: contentadmin.NewVersions(svc, base), Now: clock})
			p := effect.Params{From: flows.DayOf(start), To: flows.DayOf(start), AsOf: flows.DayOf(start) + 20}
			for _, store := range []string{"S001", ""} {
				p.StoreID = store
				r, err := rs.Effect(ctx, p)
				if err != nil {
					t.Fatal(err)
				}
				cv := r.Conversion
				if cv.Accepted.N != 2 || cv.Accepted.Converted != 1 || len(cv.Items) != 1 || cv.Items[0].ItemID != "pill_organiser" {
					t.Errorf("store %q: conversion %+v, want 2 accepted, 1 converted (the version-1 visit's)", store, cv)
				}
			}
		})
	}
}
