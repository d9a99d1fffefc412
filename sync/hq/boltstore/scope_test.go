package boltstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/boltstore"
	"github.com/pharmachain/counter/sync/internal/hqtest"
)

// TestScopedIDsMigration: a file written before visit ids were scoped per store (visits
// and pevents keyed by id alone) is rekeyed when opened — its visits are found under
// their store, its events still deduplicate, and its purge tombstones (which do not
// say their store) still make a late resend a duplicate.
func TestScopedIDsMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hq.db")
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	// Write the old layout by hand.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	v := hqtest.Visit("L1", "S001", "P01", t0, true)
	ev := flows.PointsEvent{ID: "L1:visit_complete", StoreID: "S001", PharmacistID: "P01", Kind: flows.PointsVisitComplete, Points: 1, At: t0, Ref: "L1"}
	vb, _ := json.Marshal(v)
	eb, _ := json.Marshal(ev)
	err = db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket([]byte("meta")).Delete([]byte("scoped_ids")); err != nil {
			return err
		}
		for _, kv := range [][3]string{
			{"visits", "L1", string(vb)},
			{"visits", "T1", `{"id":"T1","outcome":"purged"}`},
			{"pevents", "L1:visit_complete", string(eb)},
		} {
			if err := tx.Bucket([]byte(kv[0])).Put([]byte(kv[1]), []byte(kv[2])); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	st, err = boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got, err := st.Visit(ctx, "S001", "L1"); err != nil || got.PharmacistID != "P01" {
		t.Fatalf("old visit under its store: %+v %v", got, err)
	}
	if ok, err := st.CreditPoints(ctx, ev); ok || err != nil {
		t.Fatalf("old event credited again: %v %v", ok, err)
	}
	r, err := st.IngestVisits(ctx, "S001", []hq.VisitIngest{{Visit: v}})
	if err != nil || r.Duplicates != 1 {
		t.Fatalf("old visit re-sent: %+v %v, want a duplicate", r, err)
	}
	tomb := hqtest.Visit("T1", "S002", "P09", t0, false)
	if r, err := st.IngestVisits(ctx, "S002", []hq.VisitIngest{{Visit: tomb}}); err != nil || r.Duplicates != 1 {
		t.Fatalf("a visit with an old tombstone's id: %+v %v, want a duplicate (store unknown)", r, err)
	}
	other := hqtest.Visit("L1", "S002", "P09", t0, false)
	if r, err := st.IngestVisits(ctx, "S002", []hq.VisitIngest{{Visit: other}}); err != nil || r.Accepted != 1 {
		t.Fatalf("S002's visit with S001's old id: %+v %v, want accepted", r, err)
	}
	if _, err := st.Visit(ctx, "", "T1"); !errors.Is(err, hq.ErrNotFound) {
		t.Fatalf("a tombstone: %v", err)
	}
}
