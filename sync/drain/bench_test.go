package drain_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	kstore "github.com/pharmachain/counter/kiosk/store"
	"github.com/pharmachain/counter/sync/drain"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/api"
	"github.com/pharmachain/counter/sync/internal/hqtest"
	"github.com/pharmachain/counter/sync/wire"
)

var drainBacklog = envInt("HQ_BENCH_BACKLOG", 100_000)

// benchVisit is the j-th visit of a backlog: five pharmacists, one visit a second, two
// in three complete (all four steps), the rest abandoned after step 1.
func benchVisit(prefix string, j int) flows.Visit {
	return hqtest.Visit(fmt.Sprintf("%s%07d", prefix, j), "S001", fmt.Sprintf("P%02d", j%5+1),
		time.Date(2026, 6, 1, 9, 0, 0, 0, flows.Shanghai()).Add(time.Duration(j)*time.Second), j%3 != 0)
}

// kioskBacklog builds a real kiosk store (kiosk/store, the same file format and outbox
// the counter app uses) holding n finished visits queued in its outbox. The backlog is
// written with fsync off to save setup time; the store is then reopened with fsync on
// for the timed drain.
func kioskBacklog(b *testing.B, n int, prefix string) *kstore.Store {
	b.Helper()
	path := filepath.Join(b.TempDir(), kstore.FileName)
	st, err := kstore.Open(path, kstore.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for j := range n {
		if err := st.SaveVisit(ctx, benchVisit(prefix, j)); err != nil {
			b.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	if st, err = kstore.Open(path, kstore.Options{}); err != nil {
		b.Fatal(err)
	}
	if stats, err := st.Stats(ctx); err != nil || stats.Pending != n {
		b.Fatalf("backlog: %+v %v, want %d pending", stats, err, n)
	}
	return st
}

// BenchmarkDrain drains a 100 000-visit backlog from the kiosk's bbolt store to a bbolt
// HQ over loopback HTTP (both files fsync'ed on every commit). Same-run baseline:
// hq-ingest-only puts the same records, pre-encoded as the kiosk sends them, straight
// into the HQ store in the same 500-record transactions (no HTTP, no outbox, no JSON
// decoding).
func BenchmarkDrain(b *testing.B) {
	if testing.Short() {
		b.Skip("100 k records")
	}
	b.Run("loopback", func(b *testing.B) {
		var total, cpu time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			h := hqtest.Start(b, api.Options{}, "S001")
			hqtest.BenchPharmacists(b, h.Store, "S001")
			ob := kioskBacklog(b, drainBacklog, fmt.Sprintf("r%d-", i))
			d := drain.New(ob, drain.Config{BaseURL: h.URL, Token: h.Tokens["S001"], StoreID: "S001"})
			b.StartTimer()
			stop := hqtest.ProfileTimed(b)
			t0, cpu0 := time.Now(), hqtest.ProcessCPU()
			res, err := d.DrainOnce(context.Background())
			total += time.Since(t0)
			cpu += hqtest.ProcessCPU() - cpu0
			stop()
			b.StopTimer()
			if err != nil || res.Sent != drainBacklog || res.Accepted != drainBacklog {
				b.Fatalf("%+v %v", res, err)
			}
			if stats, err := ob.Stats(context.Background()); err != nil || stats.Pending != 0 {
				b.Fatalf("after drain: %+v %v", stats, err)
			}
			ob.Close()
		}
		b.ReportMetric(float64(drainBacklog*b.N)/total.Seconds(), "records/s")
		// Kiosk and HQ run in this process: their CPU together, per record.
		b.ReportMetric(float64(cpu.Microseconds())/float64(drainBacklog*b.N), "cpu-µs/rec")
	})
	b.Run("hq-ingest-only", func(b *testing.B) {
		var total, cpu time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			h := hqtest.Start(b, api.Options{}, "S001")
			batches := make([][]hq.VisitIngest, 0, drainBacklog/wire.MaxBatchRecords+1)
			for j := 0; j < drainBacklog; j += wire.MaxBatchRecords {
				batch := make([]hq.VisitIngest, 0, wire.MaxBatchRecords)
				for k := j; k < j+wire.MaxBatchRecords && k < drainBacklog; k++ {
					v := benchVisit(fmt.Sprintf("d%d-", i), k)
					raw, err := json.Marshal(v)
					if err != nil {
						b.Fatal(err)
					}
					batch = append(batch, hq.VisitIngest{Visit: v, Raw: raw})
				}
				batches = append(batches, batch)
			}
			b.StartTimer()
			t0, cpu0 := time.Now(), hqtest.ProcessCPU()
			for _, batch := range batches {
				if _, err := h.Store.IngestVisits(context.Background(), "S001", batch); err != nil {
					b.Fatal(err)
				}
			}
			total += time.Since(t0)
			cpu += hqtest.ProcessCPU() - cpu0
			b.StopTimer()
		}
		b.ReportMetric(float64(drainBacklog*b.N)/total.Seconds(), "records/s")
		b.ReportMetric(float64(cpu.Microseconds())/float64(drainBacklog*b.N), "cpu-µs/rec")
	})
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
