package pgstore_test

import (
	"context"
	"testing"

	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/pgstore"
	"github.com/pharmachain/counter/sync/hq/pgstore/pgtest"
	"github.com/pharmachain/counter/sync/hq/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m, pgstore.MigrateTemplate) }

// open returns a store on a fresh database of the test cluster.
func open(t *testing.T) *pgstore.Store {
	t.Helper()
	st, err := pgstore.Open(context.Background(), pgtest.DB(t), pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// The conformance suite every hq.Store backend passes.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) hq.Store { return open(t) })
}
