package drain_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/drain"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/internal/hqtest"
	"github.com/pharmachain/counter/sync/internal/testoutbox"
	"github.com/pharmachain/counter/sync/wire"
)

var drainBacklog = envInt("HQ_BENCH_BACKLOG", 100_000)

// fillBacklog enqueues n visits in the outbox (fsync'ed, 10 000 per transaction).
func fillBacklog(b *testing.B, ob *testoutbox.Outbox, n int, prefix string) {
	for i := 0; i < n; i += 10_000 {
		items := make([]testoutbox.Item, 0, 10_000)
		for j := i; j < i+10_000 && j < n; j++ {
			v := hqtest.Visit(fmt.Sprintf("%s%07d", prefix, j), "S001", fmt.Sprintf("P%02d", j%5+1), time.Date(2026, 6, 1, 9, 0, 0, 0, flows.Shanghai).Add(time.Duration(j)*time.Second), j%3 != 0)
			items = append(items, testoutbox.Item{Kind: wire.KindVisit, ID: v.ID, Body: v})
		}
		if _, err := ob.Add(items...); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDrain drains a 100 000-visit backlog from a bbolt outbox to a bbolt HQ over
// loopback HTTP (both files fsync'ed), and, as the same-run baseline, ingests the same
// records straight into the HQ store in 500-record transactions (no HTTP, no outbox).
func BenchmarkDrain(b *testing.B) {
	if testing.Short() {
		b.Skip("100 k records")
	}
	b.Run("loopback", func(b *testing.B) {
		var total time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			h := hqtest.Start(b, hq.Options{}, "S001")
			ob, err := testoutbox.Open(filepath.Join(b.TempDir(), "kiosk.db"))
			if err != nil {
				b.Fatal(err)
			}
			fillBacklog(b, ob, drainBacklog, fmt.Sprintf("r%d-", i))
			d := drain.New(ob, drain.Config{BaseURL: h.URL, Token: h.Tokens["S001"], StoreID: "S001"})
			b.StartTimer()
			t0 := time.Now()
			res, err := d.DrainOnce(context.Background())
			total += time.Since(t0)
			b.StopTimer()
			if err != nil || res.Sent != drainBacklog || res.Accepted != drainBacklog {
				b.Fatalf("%+v %v", res, err)
			}
			ob.Close()
		}
		b.ReportMetric(float64(drainBacklog*b.N)/total.Seconds(), "records/s")
	})
	b.Run("direct-ingest-baseline", func(b *testing.B) {
		var total time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			h := hqtest.Start(b, hq.Options{}, "S001")
			batches := make([][]hq.VisitIngest, 0, drainBacklog/500)
			for j := 0; j < drainBacklog; j += 500 {
				batch := make([]hq.VisitIngest, 500)
				for k := range batch {
					batch[k].Visit = hqtest.Visit(fmt.Sprintf("d%d-%07d", i, j+k), "S001", "P01", time.Date(2026, 6, 1, 9, 0, 0, 0, flows.Shanghai), true)
				}
				batches = append(batches, batch)
			}
			b.StartTimer()
			t0 := time.Now()
			for _, batch := range batches {
				if _, err := h.Store.IngestVisits(context.Background(), "S001", batch); err != nil {
					b.Fatal(err)
				}
			}
			total += time.Since(t0)
			b.StopTimer()
		}
		b.ReportMetric(float64(drainBacklog*b.N)/total.Seconds(), "records/s")
	})
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
