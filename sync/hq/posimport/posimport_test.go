package posimport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/customerkey"
	"github.com/pharmachain/counter/sync/hq/api"
	"github.com/pharmachain/counter/sync/internal/hqtest"
	"github.com/pharmachain/counter/sync/wire"
)

// recorder wraps HQ's handler: counts purchase POSTs, keeps their bodies' raw-ID check,
// and can run a hook before (or instead of) HQ.
type recorder struct {
	next  http.Handler
	posts atomic.Int32
	mu    sync.Mutex
	raw   []string // raw IDs that must never be sent
	leak  string
	hook  func(n int32, w http.ResponseWriter, r *http.Request) bool // true: handled
	// active counts requests being handled: a client that gave up does not stop HQ
	// from finishing (and storing) what it received.
	active sync.WaitGroup
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.active.Add(1)
	defer rc.active.Done()
	if r.URL.Path == wire.PathPurchases {
		n := rc.posts.Add(1)
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		for _, id := range rc.raw {
			if bytes.Contains(body, []byte(id[:17])) {
				rc.leak = id
			}
		}
		hook := rc.hook
		rc.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		if hook != nil && hook(n, w, r) {
			return
		}
	}
	rc.next.ServeHTTP(w, r)
}

// setHook replaces the hook; requests may be in flight (an import still running).
func (rc *recorder) setHook(h func(n int32, w http.ResponseWriter, r *http.Request) bool) {
	rc.mu.Lock()
	rc.hook = h
	rc.mu.Unlock()
}

func startHQ(t *testing.T) (*hqtest.HQ, *recorder) {
	t.Helper()
	h := hqtest.Start(t, api.Options{}, "S001", "S002")
	rc := &recorder{next: h.Server}
	for i := range 50 {
		rc.raw = append(rc.raw, idNumber(i))
	}
	h.SetHandler(rc)
	return h, rc
}

// purchasesAt counts HQ's purchases of the first n generated customers.
func purchasesAt(t *testing.T, h *hqtest.HQ, customers int) (total int, ids map[string]int) {
	t.Helper()
	ids = map[string]int{}
	for i := range customers {
		key := customerkey.Hash(testSecret, idNumber(i)).String()
		ps, err := h.Store.History(context.Background(), key, flows.DayFromDate(2026, 1, 1), flows.DayFromDate(2026, 12, 31))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			ids[p.ID]++
		}
		total += len(ps)
	}
	return total, ids
}

func importOpts() Options {
	return Options{Secret: testSecret, BatchRows: 100}
}

func TestImportIntoRunningHQ(t *testing.T) {
	h, rc := startHQ(t)
	path := filepath.Join(t.TempDir(), "销售明细.csv")
	writeExport(t, path, exportSpec{Rows: 1000, Customers: 40, Stores: 2, BadEvery: 97})
	sink := NewHTTPSink(HTTPConfig{BaseURL: h.URL, Token: h.Admin})
	rep, err := Import(context.Background(), path, sink, importOpts())
	if err != nil {
		t.Fatal(err)
	}
	bad := 1000 / 97
	if rep.Rows != 1000 || rep.Rejected != bad || rep.Imported != 1000-bad || rep.Duplicates != 0 || rep.Skipped != 1 {
		t.Fatalf("report %s", rep.Summary())
	}
	// 6901234567892 and X-BPM are not in HQ's catalog: two lines in five.
	if rep.UnknownCodes != 400-countBad(1000, 97, 5, 3)-countBad(1000, 97, 5, 4) {
		t.Errorf("unknown %d", rep.UnknownCodes)
	}
	if n := rc.posts.Load(); n != int32((1000-bad+99)/100) {
		t.Errorf("%d posts", n)
	}
	total, ids := purchasesAt(t, h, 40)
	if total != 1000-bad || len(ids) != total {
		t.Fatalf("HQ holds %d purchases, %d ids", total, len(ids))
	}
	if rc.leak != "" {
		t.Fatal("a raw ID number was sent to HQ")
	}
	// A purchase as HQ keeps it: hashed customer, yuan → fen, kind, receipt, resolved drug.
	key := customerkey.Hash(testSecret, idNumber(0)).String()
	ps, _ := h.Store.History(context.Background(), key, flows.DayFromDate(2026, 1, 1), flows.DayFromDate(2026, 12, 31))
	var p0 *flows.Purchase
	for i := range ps {
		if ps[i].ID == "S001:X0:POS-AML5" {
			p0 = &ps[i]
		}
	}
	if p0 == nil || p0.AmountFen == nil || *p0.AmountFen != 1000 || p0.Kind != flows.KindRx || p0.ReceiptID != "R0" || p0.Ingredient != "amlodipine" {
		t.Fatalf("purchase %+v", p0)
	}
	if _, err := os.Stat(StatePath(path)); !os.IsNotExist(err) {
		t.Errorf("checkpoint left behind: %v", err)
	}
	// Again: all duplicates, nothing added.
	rep, err = Import(context.Background(), path, sink, importOpts())
	if err != nil || rep.Imported != 0 || rep.Duplicates != 1000-bad {
		t.Fatalf("rerun %s %v", rep.Summary(), err)
	}
	// A dry run posts nothing.
	before := rc.posts.Load()
	rep, err = Import(context.Background(), path, nil, Options{Secret: testSecret, DryRun: true})
	if err != nil || rc.posts.Load() != before || rep.Valid != 1000-bad || !strings.Contains(rep.Summary(), "drug codes not checked") {
		t.Fatalf("dry run %s %v", rep.Summary(), err)
	}
	rep, _ = Import(context.Background(), path, nil, Options{Secret: testSecret, DryRun: true, Catalog: hqtest.Catalog()})
	if rep.UnknownCodes == 0 {
		t.Fatal("dry run with a catalog counted no unknown codes")
	}
}

// countBad counts the lines i < n with i%bad == bad-1 and i%every == at.
func countBad(n, bad, every, at int) int {
	c := 0
	for i := 0; i < n; i++ {
		if i%bad == bad-1 && i%every == at {
			c++
		}
	}
	return c
}

func TestInterruptedImportRerunImportsNothingTwice(t *testing.T) {
	h, rc := startHQ(t)
	path := filepath.Join(t.TempDir(), "night.csv")
	writeExport(t, path, exportSpec{Rows: 1000, Customers: 30})
	sink := NewHTTPSink(HTTPConfig{BaseURL: h.URL, Token: h.Admin, RetryMax: -1})
	// The 4th batch reaches HQ and is stored, then the importer dies before the answer:
	// the connection is cut and the run's context ends (a crash, or Ctrl-C).
	ctx, cancel := context.WithCancel(context.Background())
	rc.setHook(func(n int32, w http.ResponseWriter, r *http.Request) bool {
		if n != 4 {
			return false
		}
		cancel() // the importer dies: it starts nothing more
		rec := &discard{h: http.Header{}}
		rc.next.ServeHTTP(rec, r.WithContext(context.Background())) // HQ still commits the batch
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
			}
		}
		return true
	})
	rep, err := Import(ctx, path, sink, importOpts())
	if err == nil {
		t.Fatal("the interrupted import succeeded")
	}
	// Two batches are in flight at a time, arriving in either order: besides the cut one
	// HQ may or may not have stored the other (its request may be cut by the dying
	// client before HQ commits). Wait for HQ to finish handling them.
	rc.active.Wait()
	t1, _ := purchasesAt(t, h, 30)
	if t1%100 != 0 || t1 < 300 || t1 > 500 || rep.Imported > t1 {
		t.Fatalf("HQ holds %d after the interruption (want 3 to 5 whole batches); the run counted %s", t1, rep.Summary())
	}
	if _, err := os.Stat(StatePath(path)); err != nil {
		t.Fatalf("no checkpoint: %v", err)
	}
	// Run it again: the batches acknowledged in order are skipped (at least 2: the cut
	// request was the 4th to arrive, and two are in flight at a time), those HQ stored
	// without the importer hearing of it come back as duplicates, the rest is added.
	rc.setHook(nil)
	rep, err = Import(context.Background(), path, sink, importOpts())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Resumed < 200 || rep.Resumed%100 != 0 || rep.Duplicates != t1-rep.Resumed || rep.Imported != 1000-t1 ||
		!strings.Contains(rep.Summary(), " already imported by an interrupted run (resumed)") {
		t.Fatalf("rerun after %d stored: %s", t1, rep.Summary())
	}
	total, ids := purchasesAt(t, h, 30)
	if total != 1000 || len(ids) != 1000 {
		t.Fatalf("HQ holds %d purchases (%d ids), want each of 1000 once", total, len(ids))
	}
	for id, n := range ids {
		if n != 1 {
			t.Fatalf("%s stored %d times", id, n)
		}
	}
	// A checkpoint of another file (the file changed) is not used.
	writeExport(t, path, exportSpec{Rows: 1001, Customers: 30})
	if err := os.WriteFile(StatePath(path), []byte(`{"size":1,"rows":900}`), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err = Import(context.Background(), path, sink, importOpts())
	if err != nil || rep.Resumed != 0 || rep.Duplicates != 1000 || rep.Imported != 1 {
		t.Fatalf("changed file: %s %v", rep.Summary(), err)
	}
}

type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

func TestHQRetriesRefusalsAndOutages(t *testing.T) {
	h, rc := startHQ(t)
	path := filepath.Join(t.TempDir(), "e.csv")
	writeExport(t, path, exportSpec{Rows: 300, Customers: 10, Stores: 2})
	// 503 with Retry-After twice, then HQ: retried like the drainer, nothing lost.
	rc.setHook(func(n int32, w http.ResponseWriter, r *http.Request) bool {
		if n <= 2 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, `{"error":"busy"}`, http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	sink := NewHTTPSink(HTTPConfig{BaseURL: h.URL, Token: h.Admin, RetryWaitMin: 1, RetryWaitMax: 1})
	rep, err := Import(context.Background(), path, sink, importOpts())
	if err != nil || rep.Imported != 300 {
		t.Fatalf("after 503s: %s %v", rep.Summary(), err)
	}
	rc.setHook(nil)
	// A store token may not send another store's rows: refused (the file's fault).
	writeExport(t, path, exportSpec{Rows: 10, Customers: 10, Stores: 2})
	rep, err = Import(context.Background(), path, NewHTTPSink(HTTPConfig{BaseURL: h.URL, Token: h.Tokens["S001"]}), Options{Secret: testSecret, NoResume: true})
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "may not send purchases of store S002") || !strings.Contains(rep.Summary(), "0 added") {
		t.Fatalf("store token: %v %s", err, rep.Summary())
	}
	// A wrong token: not the file's fault.
	_, err = Import(context.Background(), path, NewHTTPSink(HTTPConfig{BaseURL: h.URL, Token: "hqa_nope"}), Options{Secret: testSecret, NoResume: true})
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "401") {
		t.Fatalf("bad token: %v", err)
	}
	// HQ down.
	h.HTTP.Close()
	_, err = Import(context.Background(), path, NewHTTPSink(HTTPConfig{BaseURL: h.URL, Token: h.Admin, RetryMax: 1, RetryWaitMin: 1, RetryWaitMax: 1}), Options{Secret: testSecret})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("HQ down: %v", err)
	}
	if _, err := os.Stat(StatePath(path)); err != nil {
		t.Fatalf("checkpoint gone after an outage: %v", err)
	}
	// No secret: raw-ID rows are rejected, never sent.
	rep, _ = Import(context.Background(), path, nil, Options{DryRun: true})
	if rep.Rejected != 10 || !strings.Contains(strings.Join(rep.Errors(), "\n"), "no chain secret") {
		t.Fatalf("no secret: %s %v", rep.Summary(), rep.Errors())
	}
}
