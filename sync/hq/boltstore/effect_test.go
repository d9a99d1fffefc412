package boltstore_test

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/effect"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/boltstore"
	"github.com/pharmachain/counter/sync/internal/hqtest"
)

// TestEffectIndexBuiltForOldFiles: a file written before the effect indexes (no
// eff_* buckets, no meta effect_index) gets them when opened, and a second open does
// nothing more.
func TestEffectIndexBuiltForOldFiles(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hq.db")
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var batch []hq.VisitIngest
	for i := range 2500 {
		v := hqtest.Visit("v"+strconv.Itoa(i), "S001", "P01", t0.Add(time.Duration(i)*time.Minute), true)
		v.CustomerKey = hqtest.Key(strconv.Itoa(i % 50))
		in := hq.VisitIngest{Visit: v}
		if i%10 == 0 {
			in.FollowUps = []hq.FollowUpItem{{FollowUp: flows.FollowUp{ID: v.ID + "-f1", VisitID: v.ID, StoreID: "S001", PharmacistID: "P01",
				CustomerKey: v.CustomerKey, Channel: flows.ChannelWeCom, DueAt: t0.Add(24 * time.Hour)}, NextAt: t0.Add(24 * time.Hour), Status: hq.StatusScheduled}}
		}
		batch = append(batch, in)
	}
	if _, err := st.IngestVisits(ctx, "S001", batch); err != nil {
		t.Fatal(err)
	}
	if _, err := st.IngestPurchases(ctx, []flows.Purchase{{ID: "p1", CustomerKey: hqtest.Key("buyer"), StoreID: "S002", SoldAt: t0, DrugCode: "X", Quantity: 1}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	// Make it an old file.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range []string{"eff_visits", "eff_cust", "eff_pstore", "eff_fuday"} {
			if err := tx.DeleteBucket([]byte(b)); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte("meta")).Delete([]byte("effect_index"))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	st, err = boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := 0
	if err := st.EffectVisits(ctx, "S001", flows.DayOf(t0), flows.DayOf(t0)+9, func(effect.VisitFact) error { n++; return nil }); err != nil || n != 2500 {
		t.Fatalf("%d facts after reopening (%v), want 2500", n, err)
	}
	var ids []string
	if err := st.CustomerEffectVisits(ctx, []string{hqtest.Key("7")}, flows.DayOf(t0), flows.DayOf(t0)+9, func(f effect.VisitFact) error {
		ids = append(ids, f.VisitID)
		return nil
	}); err != nil || len(ids) != 50 {
		t.Fatalf("customer 7's complete visits: %d %v", len(ids), err)
	}
	if cs, err := st.EffectCustomers(ctx, "S002", flows.DayOf(t0), flows.DayOf(t0)); err != nil || !slices.Equal(cs, []string{hqtest.Key("buyer")}) {
		t.Fatalf("purchase index: %v %v", cs, err)
	}
	fu := 0
	if err := st.EffectFollowUps(ctx, "S001", flows.DayOf(t0)+1, flows.DayOf(t0)+1, func(effect.FollowUpFact) error { fu++; return nil }); err != nil || fu != 250 {
		t.Fatalf("%d follow-ups (%v), want 250", fu, err)
	}
}

// TestEffectCustIndexFirstLayout: eff_cust entries written by the first layout (value:
// the store id; the fact only in eff_visits) still read.
func TestEffectCustIndexFirstLayout(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hq.db")
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	v := hqtest.Visit("v1", "S001", "P01", t0, true)
	if _, err := st.IngestVisits(ctx, "S001", []hq.VisitIngest{{Visit: v}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("eff_cust"))
		k, _ := b.Cursor().First()
		return b.Put(bytes.Clone(k), []byte("S001"))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	st, err = boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var got []string
	if err := st.CustomerEffectVisits(ctx, []string{v.CustomerKey}, flows.DayOf(t0), flows.DayOf(t0), func(f effect.VisitFact) error {
		got = append(got, f.StoreID+"/"+f.VisitID)
		return nil
	}); err != nil || !slices.Equal(got, []string{"S001/v1"}) {
		t.Fatalf("%v %v", got, err)
	}
}
