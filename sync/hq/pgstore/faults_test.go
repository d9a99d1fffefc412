//go:build !windows

package pgstore_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pharmachain/counter/flows"
	kstore "github.com/pharmachain/counter/kiosk/store"
	"github.com/pharmachain/counter/sync/drain"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/pgstore"
	"github.com/pharmachain/counter/sync/hq/pgstore/pgtest"
	"github.com/pharmachain/counter/sync/hq/server"
	"github.com/pharmachain/counter/sync/internal/hqtest"
	"github.com/pharmachain/counter/sync/wire"
)

// ownCluster starts a cluster of the test's own (it is stopped and started), with
// synchronous commit as in production: an acknowledged batch is in the WAL.
func ownCluster(t *testing.T) *pgtest.Cluster {
	t.Helper()
	if _, err := pgtest.BinDir(); err != nil {
		if !pgtest.Available() {
			t.Skip("no PostgreSQL")
		}
		t.Skipf("needs its own throwaway cluster: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgtest.StartCluster(ctx, pgtest.Options{SyncCommit: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// PostgreSQL stopped in the middle of a kiosk's drain: HQ answers 503 with
// Retry-After (not 500), /healthz says the storage is unavailable, the kiosk keeps its
// outbox and retries; PostgreSQL started again, HQ recovers by itself and the drain
// finishes with every record stored exactly once.
func TestDatabaseDownMidDrain(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts PostgreSQL")
	}
	cl := ownCluster(t)
	ctx := context.Background()
	dbURL := cl.DSN("postgres")
	st, err := pgstore.Open(ctx, dbURL, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := server.New(ctx, st, server.Config{PublicURL: "http://hq.test", Catalog: hqtest.Catalog(), Channel: &sends{n: map[string]int{}, links: map[string]string{}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	tok, err := hq.CreateToken(ctx, st, hq.Principal{StoreID: "S001"})
	if err != nil {
		t.Fatal(err)
	}

	// A kiosk with 20 000 finished visits in its outbox, drained in 100-record batches.
	const n = 20000
	ob, err := kstore.Open(filepath.Join(t.TempDir(), kstore.FileName), kstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, flows.Shanghai())
	for i := range n {
		if err := ob.SaveVisit(ctx, hqtest.Visit(fmt.Sprintf("d%06d", i), "S001", fmt.Sprintf("P%02d", i%5+1), start.Add(time.Duration(i)*time.Second), i%3 != 0)); err != nil {
			t.Fatal(err)
		}
	}
	d := drain.New(ob, drain.Config{BaseURL: srv.URL, Token: tok, StoreID: "S001", MaxRecords: 100,
		RetryMax: 1000, RetryWaitMin: 50 * time.Millisecond, RetryWaitMax: 300 * time.Millisecond, RetryAfterCap: 300 * time.Millisecond})
	type result struct {
		res drain.Result
		err error
	}
	done := make(chan result, 1)
	go func() { r, err := d.DrainOnce(ctx); done <- result{r, err} }()

	stored := func() int {
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			return -1
		}
		defer conn.Close(ctx)
		var c int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM visits`).Scan(&c); err != nil {
			return -1
		}
		return c
	}
	// Stop PostgreSQL once part of the backlog is in.
	deadline := time.Now().Add(2 * time.Minute)
	for c := stored(); c < n/10; c = stored() {
		if time.Now().After(deadline) {
			t.Fatalf("drain did not start: %d stored", c)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cl.StopServer()
	before := 0
	if ps, err := ob.Stats(ctx); err == nil {
		before = ps.Pending
	}
	if before == 0 {
		t.Fatal("the backlog drained before PostgreSQL stopped; nothing was tested")
	}

	// While it is down: 503 with Retry-After on the API, /healthz unavailable.
	resp, body := get(t, srv.URL+wire.PathHealth)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("/healthz with the database down: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	code, out := post(t, srv.URL+wire.PathRecords, tok, wire.RecordsRequest{StoreID: "S001", Records: []flows.Visit{hqtest.Visit("probe", "S001", "P01", start, true)}})
	if code != http.StatusServiceUnavailable {
		t.Errorf("records with the database down: %d %s, want 503", code, out)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+wire.PathRoster, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("roster with the database down: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	time.Sleep(time.Second) // the kiosk keeps retrying meanwhile
	select {
	case r := <-done:
		t.Fatalf("drain ended while the database was down: %+v %v", r.res, r.err)
	default:
	}

	// Back: HQ recovers by itself, the drain finishes.
	if err := cl.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var r result
	select {
	case r = <-done:
	case <-time.After(3 * time.Minute):
		t.Fatal("drain did not finish after PostgreSQL came back")
	}
	if r.err != nil {
		t.Fatalf("drain: %v", r.err)
	}
	if ps, err := ob.Stats(ctx); err != nil || ps.Pending != 0 || ps.Rejected != 0 {
		t.Fatalf("kiosk outbox after the drain: %+v %v", ps, err)
	}
	if resp, body := get(t, srv.URL+wire.PathHealth); resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz after recovery: %d %s", resp.StatusCode, body)
	}
	// Nothing lost, nothing twice: every visit once, counted once in the rollups.
	if c := stored(); c != n {
		t.Errorf("%d visits stored, want %d", c, n)
	}
	gs, err := st.Completion(ctx, hq.CompletionQuery{GroupBy: hq.GroupByStore})
	if err != nil || len(gs) != 1 || gs[0].Rollup.Visits != n || gs[0].Rollup.Completed != n-(n+2)/3 {
		t.Errorf("completion after recovery: %+v %v; want %d visits", gs, err, n)
	}
	t.Logf("stopped with %d of %d pending; drain: %+v", before, n, r.res)
}
