package boltstore_test

import (
	"path/filepath"
	"testing"

	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/boltstore"
	"github.com/pharmachain/counter/sync/hq/storetest"
)

// TestConformance runs the hq.Store conformance suite on a fresh bbolt file per case.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) hq.Store {
		st, err := boltstore.Open(filepath.Join(t.TempDir(), "hq.db"), boltstore.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := st.Close(); err != nil {
				t.Error(err)
			}
		})
		return st
	})
}
