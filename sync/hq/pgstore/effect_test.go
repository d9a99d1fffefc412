package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/effect"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/pgstore"
	"github.com/pharmachain/counter/sync/hq/pgstore/pgtest"
	"github.com/pharmachain/counter/sync/internal/hqtest"
)

// TestVisitFactsBackfilled: visits stored before migration 0002 (no facts, backfill
// not done) get their facts when a store opens the database.
func TestVisitFactsBackfilled(t *testing.T) {
	ctx := context.Background()
	url := pgtest.DB(t)
	st, err := pgstore.Open(ctx, url, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 6, 1, 9, 0, 0, 0, flows.Shanghai())
	var batch []hq.VisitIngest
	for i := range 30 {
		batch = append(batch, hq.VisitIngest{Visit: hqtest.Visit("v"+string(rune('a'+i)), "S001", "P01", t0.Add(time.Duration(i)*time.Minute), i%2 == 0)})
	}
	if _, err := st.IngestVisits(ctx, "S001", batch); err != nil {
		t.Fatal(err)
	}
	st.Close()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `DELETE FROM visit_facts; UPDATE effect_backfill SET done = false`); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	st, err = pgstore.Open(ctx, url, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n, complete := 0, 0
	if err := st.EffectVisits(ctx, "S001", flows.DayOf(t0), flows.DayOf(t0), func(f effect.VisitFact) error {
		n++
		if f.Complete {
			complete++
		}
		return nil
	}); err != nil || n != 30 || complete != 15 {
		t.Fatalf("%d facts (%d complete) after reopening, %v; want 30 (15)", n, complete, err)
	}
}
