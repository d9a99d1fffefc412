//go:build !windows

package pgstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/boltstore"
	"github.com/pharmachain/counter/sync/hq/pgstore"
	"github.com/pharmachain/counter/sync/hq/pgstore/pgtest"
	"github.com/pharmachain/counter/sync/hq/server"
	"github.com/pharmachain/counter/sync/internal/hqtest"
	"github.com/pharmachain/counter/sync/wire"
)

// Ingest benchmark shape: 50 kiosks (one store each) post 500-record batches at once.
const (
	benchKiosks = 50
	benchBatch  = 500
)

// kioskBodies pre-encodes each kiosk's batches (the kiosks' own encoding is not HQ's
// cost): batches per kiosk of 500 visits, two in three complete.
func kioskBodies(b *testing.B, batches int, prefix string) [][][]byte {
	out := make([][][]byte, benchKiosks)
	start := time.Date(2026, 6, 1, 9, 0, 0, 0, flows.Shanghai())
	for k := range benchKiosks {
		store := fmt.Sprintf("S%03d", k+1)
		for j := range batches {
			recs := make([]flows.Visit, benchBatch)
			for i := range recs {
				n := j*benchBatch + i
				recs[i] = hqtest.Visit(fmt.Sprintf("%s%s-%07d", prefix, store, n), store, fmt.Sprintf("P%02d", n%5+1),
					start.Add(time.Duration(n)*30*time.Second), n%3 != 0)
			}
			body, err := json.Marshal(wire.RecordsRequest{StoreID: store, Records: recs})
			if err != nil {
				b.Fatal(err)
			}
			out[k] = append(out[k], body)
		}
	}
	return out
}

// ingestRun posts every kiosk's batches to url concurrently (one connection per kiosk,
// batches in order) and returns the wall time.
func ingestRun(b *testing.B, url string, tokens []string, bodies [][][]byte) time.Duration {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchKiosks}}
	var wg sync.WaitGroup
	errs := make(chan error, benchKiosks)
	t0 := time.Now()
	for k := range benchKiosks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, body := range bodies[k] {
				req, _ := http.NewRequest(http.MethodPost, url+wire.PathRecords, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+tokens[k])
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				var ir wire.IngestResponse
				err = json.NewDecoder(resp.Body).Decode(&ir)
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK || ir.Accepted != benchBatch {
					errs <- fmt.Errorf("kiosk %d: status %d, %+v, %v", k, resp.StatusCode, ir, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	d := time.Since(t0)
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return d
}

// BenchmarkIngestKiosks: 50 simulated kiosks post 500-record batches to HQ at the same
// time, over loopback HTTP through the whole HQ (hq serve's composition root), into the
// embedded bbolt store and into PostgreSQL, side by side. Both fsync every commit
// (PostgreSQL: fsync, synchronous_commit and full_page_writes on, a cluster of its own).
// $HQ_BENCH_INGEST_BATCHES batches per kiosk (default 4: 100 000 records a run).
func BenchmarkIngestKiosks(b *testing.B) {
	if testing.Short() {
		b.Skip("100 k records")
	}
	batches := envInt("HQ_BENCH_INGEST_BATCHES", 4)
	// run measures wall time and CPU time: this process's (HQ and the simulated kiosks'
	// HTTP clients) and, when dbCPU is given, the database server's.
	run := func(b *testing.B, open func(b *testing.B) hq.Store, dbCPU func() (time.Duration, error)) {
		var total, procCPU, serverCPU time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			st := open(b)
			h, err := server.New(context.Background(), st, server.Config{PublicURL: "http://hq.test", Catalog: hqtest.Catalog()})
			if err != nil {
				b.Fatal(err)
			}
			ts := httptest.NewServer(h.Handler())
			tokens := make([]string, benchKiosks)
			for k := range tokens {
				store := fmt.Sprintf("S%03d", k+1)
				if tokens[k], err = hq.CreateToken(context.Background(), st, hq.Principal{StoreID: store}); err != nil {
					b.Fatal(err)
				}
				hqtest.BenchPharmacists(b, st, store)
			}
			bodies := kioskBodies(b, batches, fmt.Sprintf("r%d", i))
			var db0, db1 time.Duration
			if dbCPU != nil {
				if db0, err = dbCPU(); err != nil {
					b.Fatal(err)
				}
			}
			stop := hqtest.ProfileTimed(b)
			cpu0 := hqtest.ProcessCPU()
			b.StartTimer()
			total += ingestRun(b, ts.URL, tokens, bodies)
			b.StopTimer()
			stop()
			procCPU += hqtest.ProcessCPU() - cpu0
			if dbCPU != nil {
				if db1, err = dbCPU(); err != nil {
					b.Fatal(err)
				}
				serverCPU += db1 - db0
			}
			ts.Close()
			gs, err := st.Completion(context.Background(), hq.CompletionQuery{GroupBy: hq.GroupByContentVersion})
			if err != nil || len(gs) != 1 || gs[0].Rollup.Visits != benchKiosks*batches*benchBatch {
				b.Fatalf("after the run: %+v %v", gs, err)
			}
			st.Close()
		}
		recs := float64(benchKiosks * batches * benchBatch * b.N)
		b.ReportMetric(recs/total.Seconds(), "records/s")
		// CPU per record: what the goal's wall time needs on 2 cores is ≤ 100 µs in all.
		b.ReportMetric(float64(procCPU.Microseconds())/recs, "hq-cpu-µs/rec")
		if dbCPU != nil {
			b.ReportMetric(float64(serverCPU.Microseconds())/recs, "db-cpu-µs/rec")
		}
		b.ReportMetric(float64((procCPU+serverCPU).Microseconds())/recs, "cpu-µs/rec")
	}
	b.Run("bbolt", func(b *testing.B) {
		run(b, func(b *testing.B) hq.Store {
			st, err := boltstore.Open(filepath.Join(b.TempDir(), "hq.db"), boltstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return st
		}, nil)
	})
	b.Run("postgres", func(b *testing.B) {
		if _, err := pgtest.BinDir(); err != nil {
			b.Skip(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cl, err := pgtest.StartCluster(ctx, pgtest.Options{Durable: true})
		if err != nil {
			b.Fatal(err)
		}
		defer cl.Stop()
		n := 0
		run(b, func(b *testing.B) hq.Store {
			n++
			name := fmt.Sprintf("ingest%d", n)
			if err := createDB(cl.DSN("postgres"), name); err != nil {
				b.Fatal(err)
			}
			st, err := pgstore.Open(context.Background(), cl.DSN(name), pgstore.Options{MaxConns: 24})
			if err != nil {
				b.Fatal(err)
			}
			return st
		}, cl.CPUTime)
	})
}

// createDB creates database name on the server of the maintenance DSN admin.
func createDB(admin, name string) error {
	conn, err := pgx.Connect(context.Background(), admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(context.Background(), "CREATE DATABASE "+name)
	return err
}
