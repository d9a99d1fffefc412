package storetest

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
)

func purchase(id, customer string, sold time.Time) flows.Purchase {
	return flows.Purchase{ID: id, CustomerKey: key(customer), StoreID: "S001", SoldAt: sold, DrugCode: "6930120010006",
		Name: "苯磺酸氨氯地平片", Ingredient: "amlodipine", ATC: "C08CA01", Quantity: 1, DaysSupply: 28}
}

func ids(ps []flows.Purchase) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func purchases(t *testing.T, open Opener) {
	t.Run("RoundTripEveryField", func(t *testing.T) {
		st := open(t)
		amt := int64(4250)
		p := flows.Purchase{ID: "S001:R1:1", CustomerKey: key("a"), StoreID: "S001", SoldAt: t0.Add(123456 * time.Microsecond),
			DrugCode: "6930120010006", Name: "苯磺酸氨氯地平片", Ingredient: "amlodipine", ATC: "C08CA01", Quantity: 1.5,
			DaysSupply: 42, AmountFen: &amt, ReceiptID: "R1", Kind: flows.KindRx}
		bare := flows.Purchase{ID: "S001:R2:1", CustomerKey: key("a"), StoreID: "S001", SoldAt: t0.Add(time.Hour), DrugCode: "X", Quantity: 2}
		if r, err := st.IngestPurchases(bg(), []flows.Purchase{p, bare}); err != nil || r.Accepted != 2 {
			t.Fatalf("%+v %v", r, err)
		}
		got, err := st.History(bg(), key("a"), day0, day0)
		if err != nil || len(got) != 2 {
			t.Fatalf("%+v %v", got, err)
		}
		for i, want := range []flows.Purchase{p, bare} {
			g := got[i]
			if !g.SoldAt.Equal(want.SoldAt) {
				t.Fatalf("sold_at %v, want %v", g.SoldAt, want.SoldAt)
			}
			g.SoldAt = want.SoldAt
			if !reflect.DeepEqual(g, want) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", g, want)
			}
		}
	})
	t.Run("DuplicatesWithinAndAcrossCalls", func(t *testing.T) {
		st := open(t)
		a, b, c := purchase("p1", "a", t0), purchase("p2", "a", t0), purchase("p3", "a", t0)
		if r, err := st.IngestPurchases(bg(), []flows.Purchase{a, b, a}); err != nil || r.Accepted != 2 || r.Duplicates != 1 {
			t.Fatalf("%+v %v", r, err)
		}
		if r, err := st.IngestPurchases(bg(), []flows.Purchase{b, c}); err != nil || r.Accepted != 1 || r.Duplicates != 1 {
			t.Fatalf("%+v %v", r, err)
		}
		if got, _ := st.History(bg(), key("a"), day0, day0); len(got) != 3 {
			t.Fatalf("history holds %d, want 3", len(got))
		}
	})
	t.Run("FailureMidBatchStoresNothing", func(t *testing.T) {
		st := open(t)
		bad := purchase("p2", "a", t0)
		bad.CustomerKey = "11010519491231002X"
		noID := purchase("", "a", t0)
		for _, b := range []flows.Purchase{bad, noID} {
			if _, err := st.IngestPurchases(bg(), []flows.Purchase{purchase("p1", "a", t0), b}); !errors.Is(err, hq.ErrInvalid) {
				t.Fatalf("batch with %+v: %v, want ErrInvalid", b, err)
			}
		}
		if got, _ := st.History(bg(), key("a"), 0, day0+1); len(got) != 0 {
			t.Fatalf("a refused batch stored %v", ids(got))
		}
	})
	t.Run("HistoryBoundsAndOrder", func(t *testing.T) {
		st := open(t)
		d := day0.Time() // local midnight
		ps := []flows.Purchase{
			purchase("e-before", "a", d.Add(-time.Second)),           // day0-1 23:59:59: out
			purchase("b-first", "a", d),                              // day0 00:00: in
			purchase("a-tie", "a", d.Add(10*time.Hour)),              // same time as c-tie: id order
			purchase("c-tie", "a", d.Add(10*time.Hour)),              //
			purchase("d-noon", "a", d.Add(36*time.Hour)),             // day0+1 12:00: in
			purchase("f-last", "a", d.Add(48*time.Hour-time.Second)), // day0+1 23:59:59: in
			purchase("g-after", "a", d.Add(48*time.Hour)),            // day0+2: out
			purchase("h-other", "b", d.Add(time.Hour)),               // another customer
		}
		slices.Reverse(ps) // the order of arrival must not matter
		if _, err := st.IngestPurchases(bg(), ps); err != nil {
			t.Fatal(err)
		}
		got, err := st.History(bg(), key("a"), day0, day0+1)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"b-first", "a-tie", "c-tie", "d-noon", "f-last"}; !slices.Equal(ids(got), want) {
			t.Fatalf("history [day0, day0+1] = %v, want %v (local days inclusive, sale time then id)", ids(got), want)
		}
		for _, p := range got {
			if p.CustomerKey != key("a") {
				t.Fatalf("history carries key %q", p.CustomerKey)
			}
		}
		if got, _ := st.History(bg(), key("a"), day0+5, day0+9); len(got) != 0 {
			t.Fatalf("empty range: %v", ids(got))
		}
		if _, err := st.History(bg(), "XYZ", 0, 1); !errors.Is(err, hq.ErrInvalid) {
			t.Fatalf("bad key: %v", err)
		}
	})
}
