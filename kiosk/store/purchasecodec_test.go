package store

import (
	"math"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
)

func TestPurchaseCodecRoundTrip(t *testing.T) {
	for _, p := range []flows.Purchase{
		{ID: "S001:1:X", CustomerKey: custKey(1), StoreID: "S001", SoldAt: time.Date(2026, 6, 1, 9, 30, 15, 123456789, flows.Shanghai()),
			DrugCode: "6901234567892", Name: "苯磺酸氨氯地平片", Ingredient: "amlodipine", ATC: "C08CA01", Quantity: 2.5, DaysSupply: 56},
		{ID: "x", CustomerKey: custKey(2), SoldAt: time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC), DrugCode: "P", Quantity: 0},
		{ID: "y", CustomerKey: custKey(3), SoldAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", -5*3600)), DrugCode: "Q", Quantity: math.MaxFloat64, DaysSupply: 3650},
	} {
		k := purchaseKey(p.CustomerKey, flows.DayOf(p.SoldAt), p.ID)
		got, err := decodePurchase(k, encodePurchase(&p))
		if err != nil {
			t.Fatal(err)
		}
		if !got.SoldAt.Equal(p.SoldAt) || got.SoldAt.Format(time.RFC3339Nano) != p.SoldAt.Format(time.RFC3339Nano) {
			t.Fatalf("time %v → %v", p.SoldAt, got.SoldAt)
		}
		got.SoldAt = p.SoldAt
		if got != p {
			t.Fatalf("round trip\n got %+v\nwant %+v", got, p)
		}
	}
}

func FuzzDecodePurchase(f *testing.F) {
	p := flows.Purchase{ID: "S001:1:X", CustomerKey: custKey(1), StoreID: "S001", SoldAt: t0, DrugCode: "X", Name: "n", Quantity: 1, DaysSupply: 30}
	key := purchaseKey(p.CustomerKey, flows.DayOf(p.SoldAt), p.ID)
	f.Add(encodePurchase(&p))
	f.Add([]byte(`{"id":"a","sold_at":"2026-06-01T00:00:00+08:00","drug_code":"X","quantity":1}`))
	f.Add([]byte{'P', 0xff, 0xff})
	f.Fuzz(func(t *testing.T, v []byte) {
		got, err := decodePurchase(key, v)
		if err == nil && got.CustomerKey != p.CustomerKey {
			t.Fatalf("customer key %q", got.CustomerKey)
		}
	})
}
