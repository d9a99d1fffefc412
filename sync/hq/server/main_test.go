package server

import (
	"testing"

	"github.com/pharmachain/counter/sync/hq/pgstore"
	"github.com/pharmachain/counter/sync/hq/pgstore/pgtest"
)

// TestMain stops the throwaway PostgreSQL cluster the tests that run on both backends
// start (TestSecretsNeverLeak).
func TestMain(m *testing.M) { pgtest.Main(m, pgstore.MigrateTemplate) }
