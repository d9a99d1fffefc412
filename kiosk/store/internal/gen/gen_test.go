package gen

import (
	"context"
	"testing"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/store"
)

func TestGenerateDeterministicAndShaped(t *testing.T) {
	p := Params{Customers: 50, Purchases: 5003, Seed: 3}
	var a, b []flows.Purchase
	if err := Generate(p, func(ps []flows.Purchase) error { a = append(a, ps...); return nil }); err != nil {
		t.Fatal(err)
	}
	_ = Generate(p, func(ps []flows.Purchase) error { b = append(b, ps...); return nil })
	if len(a) != 5003 || len(b) != len(a) {
		t.Fatalf("generated %d / %d purchases", len(a), len(b))
	}
	asOf := Default().AsOf
	ids := map[string]bool{}
	for i := range a {
		if a[i].ID != b[i].ID || !a[i].SoldAt.Equal(b[i].SoldAt) {
			t.Fatalf("not deterministic at %d", i)
		}
		if ids[a[i].ID] {
			t.Fatalf("duplicate id %s", a[i].ID)
		}
		ids[a[i].ID] = true
		if d := flows.DayOf(a[i].SoldAt); d > asOf || d <= asOf-3*365 {
			t.Fatalf("purchase %s on %s outside the span", a[i].ID, d)
		}
		if i > 0 && a[i].CustomerKey < a[i-1].CustomerKey {
			t.Fatal("customers not in key order")
		}
	}
}

func TestBuildCachesFile(t *testing.T) {
	dir := t.TempDir()
	p := Params{Customers: 20, Purchases: 2000}
	path, err := Build(context.Background(), dir, p)
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n, _ := s.PurchaseCount(context.Background())
	cat, _ := s.Catalog()
	keys := CustomerKeys(p)
	h, _ := s.History(context.Background(), keys[0], 0, Default().AsOf)
	_ = s.Close()
	if n != 2000 || cat.Len() != len(Drugs()) || len(h) != 100 {
		t.Fatalf("built store: %d purchases, %d drugs, first customer %d", n, cat.Len(), len(h))
	}
	again, err := Build(context.Background(), dir, p)
	if err != nil || again != path {
		t.Fatalf("second Build = %q, %v", again, err)
	}
}
