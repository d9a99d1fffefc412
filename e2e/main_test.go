package e2e

import (
	"testing"

	"github.com/pharmachain/counter/sync/hq/pgstore"
	"github.com/pharmachain/counter/sync/hq/pgstore/pgtest"
)

// The PostgreSQL cases get a database of a throwaway cluster (one per test binary,
// started on first use).
func TestMain(m *testing.M) { pgtest.Main(m, pgstore.MigrateTemplate) }
