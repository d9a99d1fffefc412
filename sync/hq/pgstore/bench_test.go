package pgstore_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/api"
	"github.com/pharmachain/counter/sync/hq/pgstore"
	"github.com/pharmachain/counter/sync/hq/pgstore/pgtest"
	"github.com/pharmachain/counter/sync/internal/hqtest"
	"github.com/pharmachain/counter/sync/wire"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchKey is generated customer i's key: md5("bench-customer-i") in hex, as the
// generating SQL computes it.
func benchKey(i int) string {
	h := md5.Sum([]byte("bench-customer-" + strconv.Itoa(i)))
	return hex.EncodeToString(h[:])
}

func percentile(d []time.Duration, p float64) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[int(float64(len(d)-1)*p)]
}

// benchDB opens a store on a fresh database and returns a direct connection for bulk
// loading.
func benchDB(b *testing.B) (*pgstore.Store, *pgx.Conn) {
	b.Helper()
	url := pgtest.DB(b)
	st, err := pgstore.Open(context.Background(), url, pgstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close(context.Background()) })
	return st, conn
}

func execAll(b *testing.B, conn *pgx.Conn, stmts ...string) {
	b.Helper()
	for _, s := range stmts {
		if _, err := conn.Exec(context.Background(), s); err != nil {
			b.Fatalf("%s: %v", s, err)
		}
	}
}

// loadPurchases generates n purchases of n/20 customers (20 fills each, about every 36
// days over two years up to 2026-06-30, as sync/hq's bbolt benchmark) inside the
// server, in sale-time order as a chain's POS feed would deliver them — each
// customer's rows land on 20 different parts of the table — with the indexes built
// afterwards. It returns the number of customers.
func loadPurchases(b *testing.B, conn *pgx.Conn, n int) int {
	customers := n / 20
	t0 := time.Now()
	execAll(b, conn,
		// A benchmark's data set need not survive a crash: no WAL for the load.
		`ALTER TABLE purchases SET UNLOGGED`,
		`ALTER TABLE purchases DROP CONSTRAINT purchases_pkey`,
		`DROP INDEX purchases_history`, `DROP INDEX purchases_day`,
		`SET maintenance_work_mem = '512MB'`,
		`INSERT INTO purchases (id, customer_key, day, store_id, sold_at, drug_code, ingredient, atc, quantity, days_supply)
		 SELECT 'G:' || lpad(c::text, 8, '0') || ':' || lpad(j::text, 2, '0'), k, (t AT TIME ZONE 'Asia/Shanghai')::date - date '1970-01-01',
		        'S' || lpad((c % 5000 + 1)::text, 4, '0'), t, d.code, d.ingr, d.atc, 1, 30
		 FROM generate_series(0, 19) j, generate_series(0, `+strconv.Itoa(customers-1)+`) c,
		      LATERAL (SELECT decode(md5('bench-customer-' || c), 'hex') AS k) kk,
		      LATERAL (SELECT timestamptz '2026-06-30 10:00:00+08' - make_interval(days => (19 - j) * 36 + get_byte(kk.k, j % 16) % 10) AS t) tt,
		      LATERAL (SELECT (ARRAY['6930120010006','6931550010741','6931550016668','6935620020739','6935620011850'])[c % 5 + 1] AS code,
		                      (ARRAY['amlodipine','valsartan','metformin','atorvastatin','metoprolol'])[c % 5 + 1] AS ingr,
		                      (ARRAY['C08CA01','C09CA03','A10BA02','C10AA05','C07AB02'])[c % 5 + 1] AS atc) d`,
		`ALTER TABLE purchases ADD PRIMARY KEY (id)`,
		`CREATE INDEX purchases_history ON purchases (customer_key, sold_at, id)`,
		`CREATE INDEX purchases_day ON purchases (day)`,
		`VACUUM ANALYZE purchases`)
	b.Logf("generated %d purchases of %d customers in %v", n, customers, time.Since(t0).Round(time.Second))
	return customers
}

// BenchmarkHistoryQuery: one customer's history window (270 days: the 90-day lookback
// with its carry-in horizon) out of 10 M purchases ($HQ_BENCH_PURCHASES) on
// PostgreSQL, straight from the store. Reports p50/p99.
func BenchmarkHistoryQuery(b *testing.B) {
	if testing.Short() {
		b.Skip("large data set")
	}
	st, conn := benchDB(b)
	customers := loadPurchases(b, conn, envInt("HQ_BENCH_PURCHASES", 10_000_000))
	asOf := flows.DayFromDate(2026, 6, 30)
	from := asOf - 89 - 180
	b.Run("pg-store", func(b *testing.B) {
		r := rand.New(rand.NewPCG(1, 2))
		lat := make([]time.Duration, 0, b.N)
		fills := 0
		for i := 0; i < b.N; i++ {
			k := benchKey(r.IntN(customers))
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
	// The kiosk's request: over loopback HTTP through HQ's API, with the continuity
	// analysis, as sync/hq/api's bbolt figure.
	b.Run("pg-http", func(b *testing.B) {
		srv := api.New(st, api.Options{Catalog: hqtest.Catalog()})
		ts := httptest.NewServer(srv)
		defer ts.Close()
		tok, err := hq.CreateToken(context.Background(), st, hq.Principal{StoreID: "S0001"})
		if err != nil {
			b.Fatal(err)
		}
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
		r := rand.New(rand.NewPCG(3, 4))
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			k := benchKey(r.IntN(customers))
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

// loadRollups generates a year (2025-07-01 … 2026-06-30) of daily rollups for stores ×
// 5 pharmacists inside the server (~19 visits per pharmacist-day), and the per-store
// and per-month sums from them, as ingest would have kept them. It returns the visits.
func loadRollups(b *testing.B, conn *pgx.Conn, stores int) int64 {
	t0 := time.Now()
	execAll(b, conn,
		`ALTER TABLE rollup_day SET UNLOGGED`, `ALTER TABLE rollup_store_day SET UNLOGGED`,
		`ALTER TABLE rollup_month SET UNLOGGED`, `ALTER TABLE rollup_store_month SET UNLOGGED`,
		`ALTER TABLE rollup_day DROP CONSTRAINT rollup_day_pkey`, `ALTER TABLE rollup_store_day DROP CONSTRAINT rollup_store_day_pkey`,
		`SET maintenance_work_mem = '512MB'`,
		`INSERT INTO rollup_day
		 SELECT 'S' || lpad(s::text, 4, '0'), d, 'P0' || p, n, c, n - c, 0, n, n - 1, c + 1, c, 0, 1, n - c - 2, 1, n, n, 0, 0, n * 40.0, n * 90.0, 0, 0
		 FROM generate_series(1, `+strconv.Itoa(stores)+`) s,
		      generate_series((date '2025-07-01' - date '1970-01-01'), (date '2026-06-30' - date '1970-01-01')) d,
		      generate_series(1, 5) p,
		      LATERAL (SELECT 14 + (s * 7 + d * 13 + p * 3) % 11 AS n) nn,
		      LATERAL (SELECT 6 + (s + d + p) % (nn.n - 5) AS c) cc
		 ORDER BY d, s, p`) // as ingest appends them: day after day
	sum := `sum(visits), sum(completed), sum(abandoned), sum(in_progress), sum(funnel1), sum(funnel2), sum(funnel3), sum(funnel4),
		sum(stalled1), sum(stalled2), sum(stalled3), sum(stalled4), sum(timed1), sum(timed2), sum(timed3), sum(timed4),
		sum(seconds1), sum(seconds2), sum(seconds3), sum(seconds4)`
	month := `(extract(year FROM date '1970-01-01' + day) * 12 + extract(month FROM date '1970-01-01' + day) - 1)::int4`
	execAll(b, conn,
		`INSERT INTO rollup_store_day SELECT store_id, day, `+sum+` FROM rollup_day GROUP BY 1, 2 ORDER BY 2, 1`,
		`ALTER TABLE rollup_day ADD PRIMARY KEY (store_id, day, pharmacist_id)`,
		`ALTER TABLE rollup_store_day ADD PRIMARY KEY (store_id, day)`,
		`INSERT INTO rollup_month SELECT store_id, `+month+`, pharmacist_id, `+sum+` FROM rollup_day GROUP BY 1, 2, 3`,
		`INSERT INTO rollup_store_month SELECT store_id, month, `+sum+` FROM rollup_month GROUP BY 1, 2`,
		`VACUUM ANALYZE rollup_day, rollup_store_day, rollup_month, rollup_store_month`)
	var visits int64
	if err := conn.QueryRow(context.Background(), `SELECT sum(visits)::int8 FROM rollup_store_month`).Scan(&visits); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated a year of rollups for %d stores (%d visits) in %v", stores, visits, time.Since(t0).Round(time.Second))
	return visits
}

// BenchmarkCompletionReport: a national chain's year (5 000 stores × 365 days × 5
// pharmacists of rollups, ≈ 180 M visits; $HQ_BENCH_STORES) on PostgreSQL: the
// chain-wide report per store over whole months (monthly rollups), the same year
// starting mid-month (edges from the daily rollups), and one store per pharmacist.
func BenchmarkCompletionReport(b *testing.B) {
	if testing.Short() {
		b.Skip("large data set")
	}
	stores := envInt("HQ_BENCH_STORES", 5000)
	st, conn := benchDB(b)
	loadRollups(b, conn, stores)
	report := func(b *testing.B, q hq.CompletionQuery, want int) {
		explain(b, conn, q)
		for i := 0; i < b.N; i++ {
			gs, err := st.Completion(context.Background(), q)
			if err != nil || len(gs) != want {
				b.Fatalf("%+v: %d groups, %v", q, len(gs), err)
			}
		}
	}
	day := func(s string) flows.Day { d, _ := flows.ParseDay(s); return d }
	b.Run("pg-chain-year-by-store", func(b *testing.B) {
		report(b, hq.CompletionQuery{GroupBy: hq.GroupByStore, From: day("2025-07-01"), To: day("2026-06-30")}, stores)
	})
	b.Run("pg-chain-year-by-store-mid-month", func(b *testing.B) {
		report(b, hq.CompletionQuery{GroupBy: hq.GroupByStore, From: day("2025-07-15"), To: day("2026-06-14")}, stores)
	})
	b.Run("pg-one-store-year-by-pharmacist", func(b *testing.B) {
		report(b, hq.CompletionQuery{GroupBy: hq.GroupByPharmacist, StoreID: "S0001", From: day("2025-07-01"), To: day("2026-06-30")}, 5)
	})
}

// explain logs the plan of the report's query ($HQ_BENCH_EXPLAIN=1).
func explain(b *testing.B, conn *pgx.Conn, q hq.CompletionQuery) {
	if os.Getenv("HQ_BENCH_EXPLAIN") == "" {
		return
	}
	sql, args := pgstore.CompletionSQLForTest(q)
	execAll(b, conn, "SET jit = off", "SET work_mem = '64MB'")
	rows, err := conn.Query(context.Background(), "EXPLAIN (ANALYZE, BUFFERS) "+sql, args...)
	if err != nil {
		b.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range lines {
		b.Log(l)
	}
}
