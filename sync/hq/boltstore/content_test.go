package boltstore_test

import (
	"context"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/boltstore"
	"github.com/pharmachain/counter/sync/internal/hqtest"
)

// A file written before content versions has no rollups_cv bucket: opening it files
// every existing rollup under version 0, the embedded default every earlier visit ran.
func TestContentRollupsMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hq.db")
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	batch := []hq.VisitIngest{{Visit: hqtest.Visit("v1", "S001", "P01", t0, true)}, {Visit: hqtest.Visit("v2", "S001", "P02", t0, false)}}
	if _, err := st.IngestVisits(ctx, "S001", batch); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	// Make it an old file.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket([]byte("rollups_cv")) }); err != nil {
		t.Fatal(err)
	}
	db.Close()

	st, err = boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	gs, err := st.Completion(ctx, hq.CompletionQuery{GroupBy: hq.GroupByContentVersion, PharmacistID: "P01"})
	if err != nil || len(gs) != 1 || *gs[0].ContentVersion != 0 || gs[0].Rollup.Visits != 1 || gs[0].Rollup.Completed != 1 {
		t.Fatalf("migrated: %+v %v", gs, err)
	}
	gs, _ = st.Completion(ctx, hq.CompletionQuery{GroupBy: hq.GroupByContentVersion})
	if len(gs) != 1 || gs[0].Rollup.Visits != 2 {
		t.Fatalf("migrated, all pharmacists: %+v", gs)
	}
	// Opening again does not copy twice.
	st.Close()
	if st, err = boltstore.Open(path, boltstore.Options{}); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if gs, _ = st.Completion(ctx, hq.CompletionQuery{GroupBy: hq.GroupByContentVersion}); len(gs) != 1 || gs[0].Rollup.Visits != 2 {
		t.Fatalf("second open: %+v", gs)
	}
}
