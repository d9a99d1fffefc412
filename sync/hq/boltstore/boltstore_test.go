package boltstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/boltstore"
	"github.com/pharmachain/counter/sync/internal/hqtest"
)

var t0 = time.Date(2026, 6, 1, 9, 0, 0, 0, flows.Shanghai())

func TestPurchaseRoundTripAndRanges(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "hq.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	k := hqtest.Key("a")
	p := flows.Purchase{ID: "S1:1:X", CustomerKey: k, StoreID: "S1", SoldAt: t0.Add(123456789), DrugCode: "X",
		Name: "苯磺酸氨氯地平片", Ingredient: "amlodipine", ATC: "C08CA01", Quantity: 1.5, DaysSupply: 42}
	old := p
	old.ID, old.SoldAt = "S1:0:X", t0.AddDate(-1, 0, 0)
	other := p
	other.ID, other.CustomerKey = "S1:2:X", hqtest.Key("b")
	if _, err := st.IngestPurchases(ctx, []flows.Purchase{p, old, other}); err != nil {
		t.Fatal(err)
	}
	got, err := st.History(ctx, k, flows.DayOf(t0), flows.DayOf(t0))
	if err != nil || len(got) != 1 {
		t.Fatalf("%+v %v", got, err)
	}
	g := got[0]
	if g.ID != p.ID || !g.SoldAt.Equal(p.SoldAt) || g.Name != p.Name || g.Quantity != 1.5 || g.DaysSupply != 42 || g.CustomerKey != k || g.ATC != p.ATC {
		t.Fatalf("round trip: %+v", g)
	}
	if got, _ := st.History(ctx, k, flows.DayOf(old.SoldAt), flows.DayOf(t0)); len(got) != 2 || got[0].ID != old.ID {
		t.Fatalf("range: %+v", got)
	}
	if _, err := st.History(ctx, "XYZ", 0, 1); !errors.Is(err, hq.ErrInvalid) {
		t.Fatalf("bad key: %v", err)
	}
	if _, err := st.IngestPurchases(ctx, []flows.Purchase{{ID: "z", CustomerKey: "nothex"}}); !errors.Is(err, hq.ErrInvalid) {
		t.Fatalf("bad purchase key: %v", err)
	}
}
