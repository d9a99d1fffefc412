package boltstore_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/codec"
	"github.com/pharmachain/counter/sync/hq/boltstore"
	"github.com/pharmachain/counter/sync/internal/hqtest"
)

// encodeOldHist is the phist value HQ wrote before the shared codec, version 1 (no
// amount, receipt or kind) or 2.
func encodeOldHist(p *flows.Purchase, version byte) []byte {
	b := []byte{version}
	strs := []string{p.ID, p.StoreID, p.DrugCode, p.Name, p.Ingredient, p.ATC}
	if version == 2 {
		strs = append(strs, p.ReceiptID, p.Kind)
	}
	for _, s := range strs {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendVarint(b, p.SoldAt.Unix())
	b = binary.AppendUvarint(b, uint64(p.SoldAt.Nanosecond()))
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(p.Quantity))
	b = binary.AppendVarint(b, int64(p.DaysSupply))
	if version == 2 {
		if p.AmountFen != nil {
			b = append(b, 1)
			b = binary.AppendVarint(b, *p.AmountFen)
		} else {
			b = append(b, 0)
		}
	}
	return b
}

// TestPurchaseCodecMigration: a file whose history holds HQ's older purchase forms
// (versions 1 and 2) is refused read-only with a clear error, rewritten in the shared
// codec when opened read-write, and reads exactly as before.
func TestPurchaseCodecMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hq.db")
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	k := hqtest.Key("m")
	var ps []flows.Purchase
	for i := range 5 {
		p := flows.Purchase{ID: fmt.Sprintf("S1:%d:X", i), CustomerKey: k, StoreID: "S1", SoldAt: t0.AddDate(0, 0, -i).Add(123),
			DrugCode: "X", Name: "氨氯地平", Ingredient: "amlodipine", ATC: "C08CA01", Quantity: 1.5, DaysSupply: 28 + i}
		if i%2 == 0 {
			amt := int64(100 * i)
			p.AmountFen, p.ReceiptID, p.Kind = &amt, fmt.Sprint("R", i), flows.KindRx
		}
		ps = append(ps, p)
	}
	if _, err := st.IngestPurchases(ctx, ps); err != nil {
		t.Fatal(err)
	}
	want, err := st.History(ctx, k, flows.DayOf(t0)-10, flows.DayOf(t0))
	if err != nil || len(want) != len(ps) {
		t.Fatalf("History = %d, %v", len(want), err)
	}
	st.Close()

	// Write the old forms by hand: odd purchases version 1, even ones version 2.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket([]byte("meta")).Delete([]byte("purchase_codec")); err != nil {
			return err
		}
		h := tx.Bucket([]byte("phist"))
		type kv struct{ k, v []byte }
		var old []kv
		err := h.ForEach(func(k, v []byte) error {
			p, err := codec.DecodePurchase(v)
			if err != nil {
				return err
			}
			p.ID = string(k[20:])
			version := byte(2)
			if p.ReceiptID == "" {
				version = 1
			}
			old = append(old, kv{bytes.Clone(k), encodeOldHist(&p, version)})
			return nil
		})
		for _, o := range old {
			if err := h.Put(o.k, o.v); err != nil {
				return err
			}
		}
		return err
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	if _, err := boltstore.Open(path, boltstore.Options{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "open the file read-write once") {
		t.Fatalf("read-only open of an old file: %v", err)
	}
	st, err = boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatalf("open old file: %v", err)
	}
	got, err := st.History(ctx, k, flows.DayOf(t0)-10, flows.DayOf(t0))
	if err != nil || len(got) != len(want) {
		t.Fatalf("History after the rewrite = %d, %v", len(got), err)
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.SoldAt.Equal(w.SoldAt) || g.SoldAt.Location() != w.SoldAt.Location() || (g.AmountFen == nil) != (w.AmountFen == nil) ||
			g.AmountFen != nil && *g.AmountFen != *w.AmountFen {
			t.Fatalf("purchase %s: got %+v, want %+v", w.ID, g, w)
		}
		g.SoldAt, w.SoldAt, g.AmountFen, w.AmountFen = time.Time{}, time.Time{}, nil, nil
		if g != w {
			t.Fatalf("purchase %s:\n got %+v\nwant %+v", want[i].ID, g, w)
		}
	}
	st.Close()
	// Rewritten: a read-only open works now.
	ro, err := boltstore.Open(path, boltstore.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open after the rewrite: %v", err)
	}
	ro.Close()
}
