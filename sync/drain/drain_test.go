package drain_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/drain"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/api"
	"github.com/pharmachain/counter/sync/internal/hqtest"
	"github.com/pharmachain/counter/sync/internal/testoutbox"
	"github.com/pharmachain/counter/sync/wire"
)

var day1 = time.Date(2026, 6, 1, 9, 0, 0, 0, flows.Shanghai())

func openOutbox(t testing.TB) *testoutbox.Outbox {
	t.Helper()
	ob, err := testoutbox.Open(filepath.Join(t.TempDir(), "kiosk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.Close() })
	return ob
}

func addVisits(t testing.TB, ob *testoutbox.Outbox, prefix string, n int, mutate func(i int, v *flows.Visit)) {
	t.Helper()
	items := make([]testoutbox.Item, n)
	for i := range items {
		v := hqtest.Visit(fmt.Sprintf("%s%06d", prefix, i), "S001", "P01", day1.Add(time.Duration(i)*time.Second), i%3 != 0)
		if mutate != nil {
			mutate(i, &v)
		}
		items[i] = testoutbox.Item{Kind: wire.KindVisit, ID: v.ID, Body: v}
	}
	if _, err := ob.Add(items...); err != nil {
		t.Fatal(err)
	}
}

func stats(t testing.TB, ob wire.Outbox) wire.OutboxStats {
	t.Helper()
	s, err := ob.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func visitsAtHQ(t testing.TB, h *hqtest.HQ) int {
	t.Helper()
	rows, err := h.Store.Completion(context.Background(), hq.CompletionQuery{GroupBy: hq.GroupByStore})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range rows {
		n += r.Rollup.Visits
	}
	return n
}

func newDrainer(ob wire.Outbox, url, token string, mod func(*drain.Config)) *drain.Drainer {
	cfg := drain.Config{BaseURL: url, Token: token, StoreID: "S001", RetryWaitMin: 5 * time.Millisecond, RetryWaitMax: 20 * time.Millisecond, HTTPTimeout: 5 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	return drain.New(ob, cfg)
}

func TestDrainOnceSendsEverythingInBatches(t *testing.T) {
	h := hqtest.Start(t, api.Options{}, "S001")
	ob := openOutbox(t)
	addVisits(t, ob, "v", 1200, nil)
	key := hqtest.Key("cust")
	if _, err := ob.Add(testoutbox.Item{Kind: wire.KindPurchase, ID: "S001:9:1", Body: flows.Purchase{ID: "S001:9:1", CustomerKey: key, StoreID: "S001", SoldAt: day1, DrugCode: "POS-AML5", Quantity: 1}}); err != nil {
		t.Fatal(err)
	}
	var keys sync.Map
	h.SetHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keys.Store(r.Header.Get(wire.HeaderIdempotencyKey), true)
		h.Server.ServeHTTP(w, r)
	}))
	d := newDrainer(ob, h.URL, h.Tokens["S001"], nil)
	res, err := d.DrainOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 1201 || res.Accepted != 1201 || res.Batches != 4 || res.Duplicates != 0 {
		t.Fatalf("result %+v; want 1201 sent in 4 batches (500+500+200 visits, 1 purchase)", res)
	}
	if s := stats(t, ob); s.Pending != 0 || s.Rejected != 0 || s.LastSync.IsZero() {
		t.Fatalf("outbox after drain: %+v", s)
	}
	if n := visitsAtHQ(t, h); n != 1200 {
		t.Fatalf("HQ has %d visits", n)
	}
	ps, err := h.Store.History(context.Background(), key, flows.DayOf(day1), flows.DayOf(day1))
	if err != nil || len(ps) != 1 {
		t.Fatalf("purchase at HQ: %v %v", ps, err)
	}
	if _, ok := keys.Load("S001-1-500"); !ok {
		t.Error("no Idempotency-Key S001-1-500 for the first batch")
	}
}

func TestMaxBytesSplitsBatches(t *testing.T) {
	h := hqtest.Start(t, api.Options{}, "S001")
	ob := openOutbox(t)
	addVisits(t, ob, "b", 40, nil)
	d := newDrainer(ob, h.URL, h.Tokens["S001"], func(c *drain.Config) { c.MaxBytes = 4096 })
	res, err := d.DrainOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 40 || res.Batches < 5 {
		t.Fatalf("%+v: want 40 sent in many small batches", res)
	}
}

// TestCrashBetweenCommitAndAck: HQ commits the batch, then the connection dies before
// the answer. The entries stay in the outbox; the resend is counted as duplicates and
// HQ holds each record once.
func TestCrashBetweenCommitAndAck(t *testing.T) {
	h := hqtest.Start(t, api.Options{}, "S001")
	var crashes atomic.Int32
	crashes.Store(2)
	h.SetHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == wire.PathRecords && crashes.Add(-1) >= 0 {
			rec := httptest.NewRecorder()
			h.Server.ServeHTTP(rec, r) // committed at HQ
			if rec.Code != 200 {
				t.Errorf("inner ingest: %d %s", rec.Code, rec.Body)
			}
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			conn.Close() // the ack never reaches the kiosk
			return
		}
		h.Server.ServeHTTP(w, r)
	}))
	ob := openOutbox(t)
	addVisits(t, ob, "c", 30, nil)
	d := newDrainer(ob, h.URL, h.Tokens["S001"], func(c *drain.Config) { c.RetryMax = 1 })
	if _, err := d.DrainOnce(context.Background()); err == nil {
		t.Fatal("DrainOnce succeeded although every answer was lost")
	}
	if s := stats(t, ob); s.Pending != 30 || s.LastError == "" {
		t.Fatalf("entries must stay until acknowledged: %+v", s)
	}
	res, err := d.DrainOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 30 || res.Accepted != 0 || res.Duplicates != 30 {
		t.Fatalf("resend: %+v; want 30 duplicates", res)
	}
	if n := visitsAtHQ(t, h); n != 30 {
		t.Fatalf("HQ counted %d visits, want 30 (no double count)", n)
	}
	if s := stats(t, ob); s.Pending != 0 || s.LastError != "" {
		t.Fatalf("after resend: %+v", s)
	}
}

func TestRejectedRecordParkedOthersDelivered(t *testing.T) {
	h := hqtest.Start(t, api.Options{}, "S001")
	ob := openOutbox(t)
	addVisits(t, ob, "r", 10, func(i int, v *flows.Visit) {
		if i == 6 {
			v.PharmacistID = "" // HQ answers 400 naming the field
		}
	})
	d := newDrainer(ob, h.URL, h.Tokens["S001"], nil)
	res, err := d.DrainOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 9 || res.Parked != 1 {
		t.Fatalf("%+v; want 9 delivered, 1 parked", res)
	}
	s := stats(t, ob)
	if s.Pending != 0 || s.Rejected != 1 || !strings.Contains(s.RejectReason, "pharmacist_id") || !strings.Contains(s.RejectReason, "400") {
		t.Fatalf("stats %+v; want the bad record parked with HQ's reason", s)
	}
	if n := visitsAtHQ(t, h); n != 9 {
		t.Fatalf("HQ has %d visits, want 9", n)
	}
	// A second drain does not resend the parked entry.
	if res, err := d.DrainOnce(context.Background()); err != nil || res.Sent != 0 || res.Parked != 0 {
		t.Fatalf("second drain: %+v %v", res, err)
	}
}

func TestUnauthorizedIsNotParked(t *testing.T) {
	h := hqtest.Start(t, api.Options{}, "S001")
	ob := openOutbox(t)
	addVisits(t, ob, "u", 5, nil)
	d := newDrainer(ob, h.URL, "hqs_wrong", nil)
	if _, err := d.DrainOnce(context.Background()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("want a 401 error, got %v", err)
	}
	if s := stats(t, ob); s.Pending != 5 || s.Rejected != 0 || !strings.Contains(s.LastError, "401") {
		t.Fatalf("a token problem must keep entries pending: %+v", s)
	}
}

// TestRetryAfterClamped: HQ says 503/429 with Retry-After: 3600; the drainer waits the
// (small, for the test) cap instead of an hour, then delivers.
func TestRetryAfterClamped(t *testing.T) {
	h := hqtest.Start(t, api.Options{}, "S001")
	var mu sync.Mutex
	var times []time.Time
	var n atomic.Int32
	h.SetHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		times = append(times, time.Now())
		mu.Unlock()
		switch n.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "3600")
			api.WriteError(w, http.StatusServiceUnavailable, "maintenance")
		case 2:
			w.Header().Set("Retry-After", time.Now().Add(2*time.Hour).UTC().Format(http.TimeFormat))
			api.WriteError(w, http.StatusTooManyRequests, "slow down")
		default:
			h.Server.ServeHTTP(w, r)
		}
	}))
	ob := openOutbox(t)
	addVisits(t, ob, "t", 3, nil)
	const limit = 150 * time.Millisecond
	d := newDrainer(ob, h.URL, h.Tokens["S001"], func(c *drain.Config) { c.RetryAfterCap = limit })
	start := time.Now()
	res, err := d.DrainOnce(context.Background())
	if err != nil || res.Sent != 3 {
		t.Fatalf("%+v %v", res, err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("took %v: Retry-After not clamped", el)
	}
	for i := 1; i < len(times); i++ {
		gap := times[i].Sub(times[i-1])
		if gap < limit-10*time.Millisecond || gap > limit+time.Second {
			t.Errorf("wait %d was %v; want ≈ the %v cap", i, gap, limit)
		}
	}
	if len(times) != 3 {
		t.Fatalf("%d requests, want 3", len(times))
	}
}

func TestBackoff(t *testing.T) {
	d := drain.New(openOutbox(t), drain.Config{RetryAfterCap: time.Minute})
	resp := func(code int, ra string) *http.Response {
		r := &http.Response{StatusCode: code, Header: http.Header{}}
		if ra != "" {
			r.Header.Set("Retry-After", ra)
		}
		return r
	}
	if w := d.Backoff(time.Second, time.Minute, 0, resp(429, "3600")); w != time.Minute {
		t.Errorf("Retry-After 3600 → %v, want the 1m cap", w)
	}
	if w := d.Backoff(time.Second, time.Minute, 0, resp(503, "2")); w < 2*time.Second || w > 2200*time.Millisecond {
		t.Errorf("Retry-After 2 → %v, want 2s..2.2s", w)
	}
	seen := map[time.Duration]bool{}
	for i := 0; i < 20; i++ {
		w := d.Backoff(100*time.Millisecond, 10*time.Second, 3, resp(500, ""))
		if w < 400*time.Millisecond || w > 800*time.Millisecond {
			t.Fatalf("attempt 3 backoff %v, want 400..800ms", w)
		}
		seen[w] = true
	}
	if len(seen) < 5 {
		t.Errorf("backoff has no jitter: %v", seen)
	}
	if w := d.Backoff(100*time.Millisecond, 10*time.Second, 60, nil); w > 10*time.Second || w < 5*time.Second {
		t.Errorf("large attempt backoff %v, want within max", w)
	}
}

func TestRunKickAndStop(t *testing.T) {
	h := hqtest.Start(t, api.Options{}, "S001")
	ob := openOutbox(t)
	drained := make(chan drain.Result, 10)
	d := newDrainer(ob, h.URL, h.Tokens["S001"], func(c *drain.Config) {
		c.Interval = time.Hour
		c.Drained = func(r drain.Result, err error) {
			if err != nil {
				t.Errorf("drain: %v", err)
			}
			drained <- r
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	wait := func(what string) drain.Result {
		t.Helper()
		select {
		case r := <-drained:
			return r
		case <-time.After(30 * time.Second):
			t.Fatalf("no drain: %s", what)
		}
		return drain.Result{}
	}
	if r := wait("Run's first drain"); r.Sent != 0 {
		t.Fatalf("first drain of an empty outbox sent %d", r.Sent)
	}
	addVisits(t, ob, "k", 7, nil)
	d.Kick() // the interval is an hour: only the kick drains now
	if r := wait("after Kick"); r.Sent != 7 || stats(t, ob).Pending != 0 {
		t.Fatalf("kicked drain sent %d, %d pending", r.Sent, stats(t, ob).Pending)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not stop")
	}
}

func TestRunBacksOffWhileHQDown(t *testing.T) {
	var hits atomic.Int32
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		api.WriteError(w, http.StatusBadGateway, "down")
	}))
	defer down.Close()
	ob := openOutbox(t)
	addVisits(t, ob, "d", 2, nil)
	d := newDrainer(ob, down.URL, "x", func(c *drain.Config) {
		c.Interval = 20 * time.Millisecond
		c.RetryMax = -1 // no inner retries: count Run's own attempts
	})
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	if err := d.Run(ctx); err != nil {
		t.Fatal(err)
	}
	// Without backoff 700ms/20ms = 35 attempts; doubling waits (≥10, 20, 40, 80, 160, 320 ms
	// halves) allow at most ~10.
	if n := hits.Load(); n < 2 || n > 12 {
		t.Fatalf("%d attempts in 700 ms; want backoff (2..12)", n)
	}
	if s := stats(t, ob); s.Pending != 2 || !strings.Contains(s.LastError, "502") {
		t.Fatalf("%+v", s)
	}
}
