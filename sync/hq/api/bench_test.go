package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/api"
	"github.com/pharmachain/counter/sync/hq/boltstore"
	"github.com/pharmachain/counter/sync/internal/hqtest"
	"github.com/pharmachain/counter/sync/wire"
)

// benchCacheDir is where large generated data sets are kept between runs
// ($HQ_BENCH_CACHE, default the user cache dir).
func benchCacheDir(b *testing.B) string {
	dir := os.Getenv("HQ_BENCH_CACHE")
	if dir == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			b.Fatal(err)
		}
		dir = filepath.Join(c, "pharmachain-bench")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	return dir
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// historyCustomerKey is the deterministic key of generated customer i.
func historyCustomerKey(i int) string {
	h := sha256.Sum256([]byte("bench-customer-" + strconv.Itoa(i)))
	return hex.EncodeToString(h[:16])
}

var benchDrugs = []struct{ code, ingr, atc string }{
	{"6930120010006", "amlodipine", "C08CA01"}, {"6931550010741", "valsartan", "C09CA03"},
	{"6931550016668", "metformin", "A10BA02"}, {"6935620020739", "atorvastatin", "C10AA05"},
	{"6935620011850", "metoprolol", "C07AB02"},
}

// buildHistoryDB generates n purchases for n/20 customers (20 fills each, about every
// 36 days over two years up to 2026-06-30) through IngestPurchases in big sorted
// batches, into the cache dir, once. Deterministic: same n, same file.
func buildHistoryDB(b *testing.B, n int) (path string, customers int) {
	customers = n / 20
	path = filepath.Join(benchCacheDir(b), fmt.Sprintf("hq-history-%d.db", n))
	if _, err := os.Stat(path); err == nil {
		return path, customers
	}
	b.Logf("generating %d purchases into %s (once)…", n, path)
	start := time.Now()
	tmp := path + ".tmp"
	os.Remove(tmp)
	st, err := boltstore.Open(tmp, boltstore.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	// Customers in key order, so both indexes are appended in order.
	type cust struct {
		key string
		i   int
	}
	cs := make([]cust, customers)
	for i := range cs {
		cs[i] = cust{historyCustomerKey(i), i}
	}
	sort.Slice(cs, func(a, c int) bool { return cs[a].key < cs[c].key })
	end := time.Date(2026, 6, 30, 10, 0, 0, 0, flows.Shanghai())
	batch := make([]flows.Purchase, 0, 200_000)
	flush := func() {
		if _, err := st.IngestPurchases(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	for rank, c := range cs {
		r := rand.New(rand.NewPCG(uint64(c.i), 7))
		d := benchDrugs[c.i%len(benchDrugs)]
		for j := 0; j < 20; j++ {
			sold := end.AddDate(0, 0, -(19-j)*36-r.IntN(10))
			batch = append(batch, flows.Purchase{
				ID: fmt.Sprintf("G:%08d:%02d", rank, j), CustomerKey: c.key, StoreID: fmt.Sprintf("S%03d", c.i%200+1),
				SoldAt: sold, DrugCode: d.code, Ingredient: d.ingr, ATC: d.atc, Quantity: 1, DaysSupply: 30,
			})
		}
		if len(batch) >= 200_000 {
			flush()
		}
	}
	flush()
	if err := st.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated in %v", time.Since(start))
	return path, customers
}

func percentile(d []time.Duration, p float64) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[int(float64(len(d)-1)*p)]
}

// BenchmarkHistoryQuery: one customer's 90-day history (270 days with the carry-in
// horizon) out of 10 M purchases ($HQ_BENCH_PURCHASES), over loopback HTTP including
// the continuity analysis, and from the store alone as the baseline. Reports p50/p99.
func BenchmarkHistoryQuery(b *testing.B) {
	if testing.Short() {
		b.Skip("large data set")
	}
	path, customers := buildHistoryDB(b, envInt("HQ_BENCH_PURCHASES", 10_000_000))
	st, err := boltstore.Open(path, boltstore.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	asOf := flows.DayFromDate(2026, 6, 30)
	from := asOf - 89 - 180
	b.Run("store", func(b *testing.B) {
		r := rand.New(rand.NewPCG(1, 2))
		lat := make([]time.Duration, 0, b.N)
		fills := 0
		for i := 0; i < b.N; i++ {
			k := historyCustomerKey(r.IntN(customers))
			t0 := time.Now()
			ps, err := st.History(context.Background(), k, from, asOf)
			lat = append(lat, time.Since(t0))
			if err != nil || len(ps) == 0 {
				b.Fatalf("history: %d %v", len(ps), err)
			}
			fills += len(ps)
		}
		b.ReportMetric(float64(percentile(lat, 0.5).Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(fills)/float64(b.N), "purchases/query")
	})
	b.Run("http", func(b *testing.B) {
		srv := api.New(st, api.Options{Catalog: hqtest.Catalog()})
		ts := httptest.NewServer(srv)
		defer ts.Close()
		tok, err := hq.CreateToken(context.Background(), st, hq.Principal{StoreID: "S001"})
		if err != nil {
			b.Fatal(err)
		}
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
		r := rand.New(rand.NewPCG(3, 4))
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			k := historyCustomerKey(r.IntN(customers))
			req, _ := http.NewRequest("GET", ts.URL+"/api/v1/customers/"+k+"/history?as_of=2026-06-30", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			t0 := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var hr wire.HistoryResponse
			err = json.NewDecoder(resp.Body).Decode(&hr)
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			lat = append(lat, time.Since(t0))
			if err != nil || resp.StatusCode != 200 || len(hr.Adherence) == 0 {
				b.Fatalf("status %d err %v", resp.StatusCode, err)
			}
		}
		b.ReportMetric(float64(percentile(lat, 0.5).Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99-ms")
	})
}

// BenchmarkCompletionReport: 200 stores × 365 days × 5 pharmacists of daily rollups
// (≈ 7 M visits, ~19 per pharmacist-day), loaded through the ingest rollup code path
// (AddRollups), then the chain-wide yearly report per store over loopback HTTP, and
// one store's report per pharmacist as the baseline.
func BenchmarkCompletionReport(b *testing.B) {
	if testing.Short() {
		b.Skip("large data set")
	}
	st, err := boltstore.Open(filepath.Join(b.TempDir(), "hq.db"), boltstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	first := flows.DayFromDate(2025, 7, 1)
	visits := 0
	for s := 1; s <= 200; s++ {
		r := rand.New(rand.NewPCG(uint64(s), 9))
		rows := make([]hq.RollupRow, 0, 365*5)
		for d := 0; d < 365; d++ {
			for p := 1; p <= 5; p++ {
				n := 14 + r.IntN(11)
				c := 6 + r.IntN(n-5)
				ru := flows.Rollup{Visits: n, Completed: c, Abandoned: n - c, Funnel: [4]int{n, n - 1, c + 1, c}, Stalled: [4]int{0, 1, n - c - 2, 1}}
				rows = append(rows, hq.RollupRow{StoreID: fmt.Sprintf("S%03d", s), PharmacistID: fmt.Sprintf("P%02d", p), Day: first + flows.Day(d), Rollup: ru})
				visits += n
			}
		}
		if err := st.AddRollups(context.Background(), rows); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%d visits in rollups", visits)
	srv := api.New(st, api.Options{})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	admin, err := hq.CreateToken(context.Background(), st, hq.Principal{Admin: true})
	if err != nil {
		b.Fatal(err)
	}
	query := func(b *testing.B, q string, wantRows int) {
		for i := 0; i < b.N; i++ {
			req, _ := http.NewRequest("GET", ts.URL+wire.PathCompletion+q, nil)
			req.Header.Set("Authorization", "Bearer "+admin)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var cr wire.CompletionResponse
			err = json.NewDecoder(resp.Body).Decode(&cr)
			resp.Body.Close()
			if err != nil || len(cr.Rows) != wantRows {
				b.Fatalf("%s: %d rows, err %v", q, len(cr.Rows), err)
			}
		}
	}
	b.Run("chain-year-by-store", func(b *testing.B) { query(b, "?group_by=store&from=2025-07-01&to=2026-06-30", 200) })
	b.Run("chain-year-by-day", func(b *testing.B) { query(b, "?group_by=day&from=2025-07-01&to=2026-06-30", 365) })
	b.Run("one-store-year-by-pharmacist", func(b *testing.B) {
		query(b, "?group_by=pharmacist&store_id=S100&from=2025-07-01&to=2026-06-30", 5)
	})
}
