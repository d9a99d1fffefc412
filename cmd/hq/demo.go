package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/customerkey"
	"github.com/pharmachain/counter/sync/hq"
)

// Demo tokens are fixed and public: they exist only in a --demo HQ.
const (
	DemoStoreID    = "S001"
	DemoStoreToken = "hqs_demo_S001_not_secret"
	DemoAdminToken = "hqa_demo_admin_not_secret"
)

// demoFill is one seeded purchase: days before the seed date, catalog code, packs.
type demoFill struct {
	daysAgo int
	code    string
	packs   float64
}

// demoCustomers: the public GB 11643 example ID numbers of devices/demogateway.Data,
// each with a story for step 1 (see docs/hq.md).
var demoCustomers = []struct {
	id    string
	fills []demoFill
}{
	// 张三: hypertension, amlodipine 28-day packs, last fill 39 days ago → gap 12, yellow.
	{"11010519491231002X", []demoFill{{95, "6930120010006", 1}, {67, "6930120010006", 1}, {39, "6930120010006", 1}}},
	// 李四: diabetes, metformin (15-day packs ×2) regularly → ok; plus atorvastatin 28 days ago.
	{"440524188001010014", []demoFill{{85, "6931550016668", 2}, {55, "6931550016668", 2}, {25, "6931550016668", 2}, {28, "6935620020739", 1}}},
	// 王五: hypertension, valsartan 7-day packs, long gaps → red.
	{"34052419800101001X", []demoFill{{120, "6931550010741", 1}, {30, "6931550010741", 1}}},
	// 赵六: new customer: no purchases.
}

// seedDemo idempotently seeds store S001: fixed tokens, a roster, and the demo
// customers' purchases (fixed ids: re-seeding adds nothing).
func seedDemo(ctx context.Context, st hq.Store, secret []byte, now time.Time, stdout io.Writer) error {
	for tok, p := range map[string]hq.Principal{
		DemoStoreToken: {StoreID: DemoStoreID, Label: "demo", CreatedAt: now},
		DemoAdminToken: {Admin: true, Label: "demo", CreatedAt: now},
	} {
		if err := st.PutToken(ctx, hq.HashToken(tok), p); err != nil {
			return fmt.Errorf("demo seed: %w", err)
		}
	}
	roster, err := st.Roster(ctx, DemoStoreID)
	if err != nil {
		return fmt.Errorf("demo seed: %w", err)
	}
	if len(roster) == 0 {
		for _, p := range []struct {
			id, name, pin, badge string
			manager              bool
		}{{"P01", "王芳", "1234", "0001", true}, {"P02", "李娜", "2345", "0002", false}, {"P03", "陈明", "3456", "0003", false}} {
			ph, err := newPharmacist(DemoStoreID, p.id, p.name, p.pin, p.badge, p.manager)
			if err != nil {
				return fmt.Errorf("demo seed: %w", err)
			}
			if err := st.PutPharmacist(ctx, ph); err != nil {
				return fmt.Errorf("demo seed: %w", err)
			}
		}
	}
	data, err := domainData("", "")
	if err != nil {
		return err
	}
	cat := data.Catalog
	var ps []flows.Purchase
	for ci, c := range demoCustomers {
		k, err := customerkey.FromIDNumber(secret, c.id, now)
		if err != nil {
			return fmt.Errorf("demo seed: customer %d: %w", ci+1, err)
		}
		key := k.String()
		for fi, f := range c.fills {
			sold := flows.DayOf(now).Time().AddDate(0, 0, -f.daysAgo).Add(10 * time.Hour)
			p := flows.Purchase{ID: fmt.Sprintf("%s:DEMO-%d-%d:%s", DemoStoreID, ci+1, fi+1, f.code), CustomerKey: key, StoreID: DemoStoreID,
				SoldAt: sold, DrugCode: f.code, Quantity: f.packs}
			flows.ResolvePurchase(cat, &p)
			ps = append(ps, p)
		}
	}
	r, err := st.IngestPurchases(ctx, ps)
	if err != nil {
		return fmt.Errorf("demo seed: %w", err)
	}
	fmt.Fprintf(stdout, "demo store %s: store token %s, admin token %s, %d demo purchases added (%d already there)\n",
		DemoStoreID, DemoStoreToken, DemoAdminToken, r.Accepted, r.Duplicates)
	return nil
}
