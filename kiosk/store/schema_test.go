package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/codec"
)

// encodeV2Record is the 'P' purchase record schema 2 wrote (no amount, receipt or kind).
func encodeV2Record(p *flows.Purchase) []byte {
	b := []byte{'P'}
	b = binary.AppendVarint(b, p.SoldAt.Unix())
	b = binary.AppendUvarint(b, uint64(p.SoldAt.Nanosecond()))
	_, off := p.SoldAt.Zone()
	b = binary.AppendVarint(b, int64(off))
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(p.Quantity))
	b = binary.AppendUvarint(b, uint64(p.DaysSupply))
	for _, s := range [...]string{p.StoreID, p.DrugCode, p.Name, p.Ingredient, p.ATC} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

func amount(v int64) *int64 { return &v }

// makeV2 writes a schema-2 file whose purchases are 'P' records and schema-1 JSON
// values, and returns the purchases it holds (as History must give them back).
func makeV2(t *testing.T, path string, rewritten int) []flows.Purchase {
	t.Helper()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var want []flows.Purchase
	err = db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bMeta).Put(keySchema, u64(2)); err != nil {
			return err
		}
		pb, ids := tx.Bucket(bPurchases), tx.Bucket(bPurchaseIDs)
		for i := range 7 {
			p := flows.Purchase{ID: fmt.Sprintf("S001:%d:1", i), CustomerKey: custKey(1), StoreID: "S001",
				SoldAt: t0.AddDate(0, 0, -i).Add(time.Duration(i) * time.Nanosecond), DrugCode: "6901234567892",
				Name: "氨氯地平", Ingredient: "amlodipine", ATC: "C08CA01", Quantity: float64(i) + 0.5, DaysSupply: 28}
			var v []byte
			switch {
			case i < rewritten: // already in the new form: a migration cut short
				p.AmountFen, p.ReceiptID, p.Kind = amount(int64(100*i)), "R", flows.KindRx
				v = codec.EncodePurchase(&p)
			case i%2 == 0: // schema 1 JSON keeps everything
				p.AmountFen, p.ReceiptID, p.Kind = amount(int64(100*i)), fmt.Sprint("R", i), flows.KindOTC
				v, _ = jsonMarshal(p)
			default:
				v = encodeV2Record(&p)
			}
			k := purchaseKey(p.CustomerKey, flows.DayOf(p.SoldAt), p.ID)
			if err := pb.Put(k, v); err != nil {
				return err
			}
			if err := ids.Put([]byte(p.ID), k); err != nil {
				return err
			}
			want = append([]flows.Purchase{p}, want...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return want
}

// A schema-2 file (the kiosk before the shared codec) opens: every purchase reads as
// before, JSON-era purchases keep amount, receipt and kind, every value is rewritten in
// the shared form, and a migration cut short by a crash finishes.
func TestMigrateV2Purchases(t *testing.T) {
	for _, rewritten := range []int{0, 3} {
		t.Run(fmt.Sprint("rewritten=", rewritten), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), FileName)
			want := makeV2(t, path, rewritten)
			s, err := Open(path, Options{})
			if err != nil {
				t.Fatalf("open schema-2 file: %v", err)
			}
			defer s.Close()
			got, err := s.History(context.Background(), custKey(1), flows.DayOf(t0)-10, flows.DayOf(t0))
			if err != nil || len(got) != len(want) {
				t.Fatalf("History = %d purchases, %v", len(got), err)
			}
			for i := range want {
				g, w := got[i], want[i]
				if !g.SoldAt.Equal(w.SoldAt) || (g.AmountFen == nil) != (w.AmountFen == nil) || g.AmountFen != nil && *g.AmountFen != *w.AmountFen {
					t.Fatalf("purchase %s: got %+v, want %+v", w.ID, g, w)
				}
				g.SoldAt, w.SoldAt, g.AmountFen, w.AmountFen = time.Time{}, time.Time{}, nil, nil
				if g != w {
					t.Fatalf("purchase %s:\n got %+v\nwant %+v", want[i].ID, g, w)
				}
			}
			err = s.db.View(func(tx *bolt.Tx) error {
				if v := getU64(tx.Bucket(bMeta), keySchema); v != SchemaVersion {
					return fmt.Errorf("schema %d", v)
				}
				return tx.Bucket(bPurchases).ForEach(func(k, v []byte) error {
					if _, err := codec.DecodePurchase(v); err != nil {
						return fmt.Errorf("%q not rewritten: %w", k, err)
					}
					return nil
				})
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The kiosk keeps a purchase's amount, receipt and kind (its own codec dropped them).
func TestPurchaseKeepsAmountReceiptKind(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	p := flows.Purchase{ID: "S001:9:1", CustomerKey: custKey(2), StoreID: "S001", SoldAt: t0, DrugCode: "X", Quantity: 1,
		AmountFen: amount(2350), ReceiptID: "R-9", Kind: flows.KindNonDrug}
	if _, _, err := s.PutPurchases(ctx, []flows.Purchase{p}); err != nil {
		t.Fatal(err)
	}
	got, err := s.History(ctx, p.CustomerKey, flows.DayOf(t0), flows.DayOf(t0))
	if err != nil || len(got) != 1 {
		t.Fatalf("History = %v, %v", got, err)
	}
	if g := got[0]; g.AmountFen == nil || *g.AmountFen != 2350 || g.ReceiptID != "R-9" || g.Kind != flows.KindNonDrug {
		t.Fatalf("stored %+v", g)
	}
}

// The bulk rewrite resumes chunk after chunk without skipping or repeating a purchase.
func TestRewritePurchasesInChunks(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	want := makeV2(t, path, 0)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var after []byte
	chunks := 0
	for done := false; !done; chunks++ {
		if err := db.Update(func(tx *bolt.Tx) error {
			var err error
			after, done, err = rewritePurchases(tx, after, 2)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if chunks != (len(want)+1)/2 {
		t.Errorf("%d chunks for %d purchases", chunks, len(want))
	}
	n := 0
	if err := db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bPurchases).ForEach(func(k, v []byte) error {
			n++
			_, err := codec.DecodePurchase(v)
			return err
		})
	}); err != nil || n != len(want) {
		t.Fatalf("%d purchases after the rewrite: %v", n, err)
	}
}
