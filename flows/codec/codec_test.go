package codec

import (
	"bytes"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
)

func ptr(v int64) *int64 { return &v }

// same compares two purchases field by field (quantity by its bits, so NaN equals
// itself; the sale time by instant and zone offset).
func same(a, b flows.Purchase) bool {
	_, oa := a.SoldAt.Zone()
	_, ob := b.SoldAt.Zone()
	if !a.SoldAt.Equal(b.SoldAt) || oa != ob || math.Float64bits(a.Quantity) != math.Float64bits(b.Quantity) {
		return false
	}
	if (a.AmountFen == nil) != (b.AmountFen == nil) || a.AmountFen != nil && *a.AmountFen != *b.AmountFen {
		return false
	}
	a.SoldAt, b.SoldAt, a.Quantity, b.Quantity, a.AmountFen, b.AmountFen = time.Time{}, time.Time{}, 0, 0, nil, nil
	return a == b
}

func TestPurchaseRoundTrip(t *testing.T) {
	for _, p := range []flows.Purchase{
		{StoreID: "S001", SoldAt: time.Date(2026, 6, 1, 9, 30, 15, 123456789, flows.Shanghai()), DrugCode: "6901234567892",
			Name: "苯磺酸氨氯地平片", Ingredient: "amlodipine", ATC: "C08CA01", Quantity: 2.5, DaysSupply: 56,
			AmountFen: ptr(2350), ReceiptID: "R-0001", Kind: flows.KindRx},
		{SoldAt: time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC), DrugCode: "P", AmountFen: ptr(0)},
		{SoldAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", -5*3600)), DrugCode: "Q", Quantity: math.MaxFloat64,
			DaysSupply: flows.MaxDaysSupply, Kind: flows.KindNonDrug},
		{SoldAt: time.Date(2026, 3, 1, 0, 0, 0, 0, flows.Shanghai()), DrugCode: "R", Quantity: -1, AmountFen: ptr(-990), Kind: flows.KindOTC},
	} {
		got, err := DecodePurchase(EncodePurchase(&p))
		if err != nil {
			t.Fatal(err)
		}
		if !same(got, p) {
			t.Fatalf("round trip\n got %+v\nwant %+v", got, p)
		}
		if got.SoldAt.Format(time.RFC3339Nano) != p.SoldAt.Format(time.RFC3339Nano) {
			t.Fatalf("time %v → %v", p.SoldAt, got.SoldAt)
		}
	}
}

func TestDecodeRefusesOtherForms(t *testing.T) {
	p := flows.Purchase{SoldAt: time.Date(2026, 6, 1, 9, 0, 0, 0, flows.Shanghai()), DrugCode: "X", Quantity: 1}
	v := EncodePurchase(&p)
	for name, bad := range map[string][]byte{
		"empty":          nil,
		"kiosk JSON":     []byte(`{"id":"a","sold_at":"2026-06-01T00:00:00+08:00","drug_code":"X","quantity":1}`),
		"kiosk P":        append([]byte{'P'}, v[1:]...),
		"HQ v2":          append([]byte{2}, v[1:]...),
		"truncated":      v[:len(v)-1],
		"trailing bytes": append(bytes.Clone(v), 0),
	} {
		if _, err := DecodePurchase(bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzCodec is the codec's fuzz test: arbitrary bytes never make DecodePurchase panic,
// and what decodes re-encodes to a value that decodes the same; any purchase built from
// the fuzzed fields round-trips; any day round-trips through its key bytes, which sort
// as the days do.
func FuzzCodec(f *testing.F) {
	seed := flows.Purchase{StoreID: "S001", SoldAt: time.Date(2026, 6, 1, 9, 30, 0, 0, flows.Shanghai()), DrugCode: "6901234567892",
		Name: "氨氯地平", Ingredient: "amlodipine", ATC: "C08CA01", Quantity: 1, DaysSupply: 28, AmountFen: ptr(1250), ReceiptID: "R1", Kind: "rx"}
	f.Add(EncodePurchase(&seed), "S001", "X", "名", int64(1780000000), uint32(5), 8*3600, 1.5, 30, int64(990), true, int32(20605), int32(-3))
	f.Add([]byte{Version, 0xff, 0xff}, "", "", "", int64(-62135596800), uint32(999999999), -18*3600, math.Inf(-1), -1, int64(math.MinInt64), false, int32(math.MinInt32), int32(math.MaxInt32))
	f.Add([]byte(`{"id":"a"}`), "S", "D", "", int64(0), uint32(0), 0, math.NaN(), 0, int64(0), false, int32(0), int32(-1))
	f.Fuzz(func(t *testing.T, v []byte, store, drug, name string, sec int64, nsec uint32, off int, qty float64, days int,
		amount int64, hasAmount bool, d1, d2 int32) {
		if p, err := DecodePurchase(v); err == nil {
			again, err := DecodePurchase(EncodePurchase(&p))
			if err != nil || !same(again, p) {
				t.Fatalf("decoded %+v, re-encoded and decoded %+v, %v", p, again, err)
			}
		}

		off %= maxZoneOffset + 1
		days = int(int32(days))
		p := flows.Purchase{StoreID: store, DrugCode: drug, Name: name, Quantity: qty, DaysSupply: days,
			SoldAt: time.Unix(sec, int64(nsec%1e9)).In(time.FixedZone("", off))}
		if hasAmount {
			p.AmountFen = &amount
		}
		got, err := DecodePurchase(EncodePurchase(&p))
		if err != nil || !same(got, p) {
			t.Fatalf("round trip of %+v: %+v, %v", p, got, err)
		}

		k1, k2 := AppendDay(nil, flows.Day(d1)), AppendDay(nil, flows.Day(d2))
		if len(k1) != DayLen || Day(k1) != flows.Day(d1) {
			t.Fatalf("day %d → %x → %d", d1, k1, Day(k1))
		}
		var put [DayLen]byte
		PutDay(put[:], flows.Day(d1))
		if !bytes.Equal(put[:], k1) {
			t.Fatalf("PutDay %x, AppendDay %x", put, k1)
		}
		if c := bytes.Compare(k1, k2); c != cmpInt(d1, d2) {
			t.Fatalf("days %d, %d: keys compare %d", d1, d2, c)
		}
	})
}

func cmpInt(a, b int32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
