package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pharmachain/counter/e2e/faultproxy"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/store"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/api"
	"github.com/pharmachain/counter/sync/hq/boltstore"
)

const storeID = "S001"

// hqFile is where `hq serve --data DIR` keeps its bbolt file.
func hqFile(dir string) string { return filepath.Join(dir, "hq.db") }

// kioskFinished returns the kiosk store's finished (complete or abandoned) visits and
// checks that its outbox is empty: everything reached HQ, nothing was parked.
func kioskFinished(t *testing.T, dir string) map[string]flows.Visit {
	t.Helper()
	st, err := store.Open(filepath.Join(dir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	vs, err := st.Visits(ctx, 0, flows.DayOf(time.Now())+1)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]flows.Visit{}
	for _, v := range vs {
		if v.Outcome != flows.OutcomeInProgress {
			out[v.ID] = v
		}
	}
	stats, err := st.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Pending != 0 || stats.Rejected != 0 {
		t.Errorf("kiosk outbox after drain: %d pending, %d rejected (%s)", stats.Pending, stats.Rejected, stats.RejectReason)
	}
	return out
}

// hqHolds reads what HQ stored: the visit ids, the visits counted by the completion
// rollups and the points credited.
type hqHolds struct {
	ids             map[string]bool
	rollupVisits    int
	rollupCompleted int
	points          int
}

func readHQ(t *testing.T, dir string) hqHolds {
	t.Helper()
	st, err := boltstore.Open(hqFile(dir), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := hqHolds{ids: map[string]bool{}}
	ctx := context.Background()
	ids, err := st.VisitIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		h.ids[id] = true
	}
	groups, err := st.Completion(ctx, hq.CompletionQuery{StoreID: storeID, GroupBy: "store"})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		r := g.Row()
		h.rollupVisits += r.Visits
		h.rollupCompleted += r.Completed
	}
	rows, err := st.Points(ctx, storeID, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		h.points += r.Points
	}
	return h
}

// verify compares what the kiosk acknowledged, what its store holds and what HQ holds,
// prints the figures and fails on any loss or duplicate.
func verify(t *testing.T, name string, kills int, acked []string, kioskDir, hqDir string) {
	t.Helper()
	finished := kioskFinished(t, kioskDir)
	h := readHQ(t, hqDir)
	lost := 0
	for _, id := range acked {
		if _, ok := finished[id]; !ok {
			lost++ // acknowledged by the store but gone from it
			t.Errorf("visit %s was acknowledged by the kiosk store but is not in it", id)
		} else if !h.ids[id] {
			lost++
			t.Errorf("visit %s was acknowledged by the kiosk store but never reached HQ", id)
		}
	}
	completed := 0
	for id, v := range finished {
		if !h.ids[id] {
			t.Errorf("finished visit %s is in the kiosk store but not at HQ", id)
			lost++
		}
		if v.Outcome == flows.OutcomeComplete {
			completed++
		}
	}
	extra := 0
	for id := range h.ids {
		if _, ok := finished[id]; !ok {
			extra++
			t.Errorf("HQ holds visit %s that the kiosk store does not", id)
		}
	}
	// A record stored twice would count twice in the rollups and earn points twice.
	duplicated := h.rollupVisits - len(h.ids)
	if duplicated != 0 {
		t.Errorf("HQ rollups count %d visits for %d records: %d duplicated", h.rollupVisits, len(h.ids), duplicated)
	}
	if h.rollupCompleted != completed {
		t.Errorf("HQ rollups count %d completed visits, kiosk store has %d", h.rollupCompleted, completed)
	}
	if h.points != completed*flows.DefaultPointsRules()[flows.PointsVisitComplete] {
		t.Errorf("HQ credited %d points for %d completed visits", h.points, completed)
	}
	if len(acked) == 0 {
		t.Errorf("no visit was acknowledged: the run proved nothing")
	}
	summary := fmt.Sprintf("%s: kills=%d acknowledged=%d records_at_kiosk=%d records_at_hq=%d lost=%d duplicated=%d extra=%d",
		name, kills, len(acked), len(finished), len(h.ids), lost, duplicated, extra)
	t.Log(summary)
	fmt.Println(summary)
}

// setupHQ creates a store token before HQ starts (the bbolt file is single-process).
func setupHQ(t *testing.T, b bins, dir string) string {
	t.Helper()
	tok := strings.TrimSpace(runOut(t, b.hq, "token", "create", "--data", dir, "--store", storeID))
	if tok == "" || strings.ContainsAny(tok, " \n") {
		t.Fatalf("hq token create printed %q", tok)
	}
	// HQ credits points only to the store's own pharmacists (the driver's P01–P03).
	for i := 1; i <= 3; i++ {
		runOut(t, b.hq, "pharmacist", "add", "--data", dir, "--store", storeID, "--id", fmt.Sprintf("P%02d", i), "--name", fmt.Sprintf("药师%d", i))
	}
	return tok
}

// TestCrashKiosk kills the kiosk with SIGKILL at random points during saves and sync,
// restarting it each time, then lets it drain: HQ holds exactly the visits the kiosk
// store acknowledged (plus those it committed just before a kill), none twice, none lost.
func TestCrashKiosk(t *testing.T) {
	b := binaries(t)
	kills := 12
	if full() {
		kills = 100
	}
	hqDir, kioskDir := t.TempDir(), t.TempDir()
	tok := setupHQ(t, b, hqDir)
	h := startHQ(t, b, hqDir, freeAddr(t))
	url := "http://" + h.addr
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	var acked []string
	for i := 0; i < kills; i++ {
		d := startDriver(t, b, kioskDir, url, tok, "--pause", "1ms")
		select {
		case <-d.first:
		case <-time.After(20 * time.Second):
			d.kill()
			t.Fatalf("kill %d: the driver acknowledged nothing in 20 s:\n%s", i, d.stderr.String())
		}
		time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond)
		acked = append(acked, d.kill()...)
	}
	drainAll(t, b, kioskDir, url, tok)
	h.stop(t)
	verify(t, "kiosk SIGKILL", kills, acked, kioskDir, hqDir)
}

// TestCrashHQ kills HQ with SIGKILL during ingest while the kiosk keeps saving and
// sending; after HQ returns, the kiosk's retries leave no duplicate and no loss.
func TestCrashHQ(t *testing.T) {
	b := binaries(t)
	kills := 5
	if full() {
		kills = 20
	}
	hqDir, kioskDir := t.TempDir(), t.TempDir()
	tok := setupHQ(t, b, hqDir)
	addr := freeAddr(t)
	url := "http://" + addr
	h := startHQ(t, b, hqDir, addr)
	d := startDriver(t, b, kioskDir, url, tok, "--pause", "2ms")
	select {
	case <-d.first:
	case <-time.After(20 * time.Second):
		t.Fatalf("the driver acknowledged nothing in 20 s:\n%s", d.stderr.String())
	}
	rng := rand.New(rand.NewPCG(2, uint64(time.Now().UnixNano())))
	for i := 0; i < kills; i++ {
		time.Sleep(time.Duration(100+rng.IntN(300)) * time.Millisecond)
		h.kill()
		time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond)
		h = startHQ(t, b, hqDir, addr)
	}
	time.Sleep(300 * time.Millisecond)
	acked := d.stop(t)
	drainAll(t, b, kioskDir, url, tok)
	h.stop(t)
	verify(t, "HQ SIGKILL", kills, acked, kioskDir, hqDir)
}

// TestOutage keeps HQ unreachable for a simulated hour — 503 with Retry-After: 3600,
// a paused listener, dropped connections, through a fault-injecting proxy — while visits
// keep coming; afterwards the backlog drains, in order. The hour is compressed: the
// kiosk clamps Retry-After (to 2 s here, 5 min in the product) and the phases last
// seconds; docs/operations.md explains the scale.
func TestOutage(t *testing.T) {
	b := binaries(t)
	phase := 1500 * time.Millisecond
	if full() {
		phase = 15 * time.Second
	}
	hqDir, kioskDir := t.TempDir(), t.TempDir()

	// HQ in-process (real HTTP, real bbolt) so the test can see the order of ingest.
	st, err := boltstore.Open(hqFile(hqDir), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := hq.CreateToken(context.Background(), st, hq.Principal{StoreID: storeID})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ { // the driver's pharmacists: HQ credits only those on the roster
		if err := st.PutPharmacist(context.Background(), flows.Pharmacist{StoreID: storeID, ID: fmt.Sprintf("P%02d", i), Name: "药师"}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	st, err = boltstore.Open(hqFile(hqDir), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ordered := &orderedStore{Store: st}
	srv := httptest.NewServer(api.New(ordered, api.Options{}))
	proxy, err := faultproxy.New(strings.TrimPrefix(srv.URL, "http://"), nil)
	if err != nil {
		t.Fatal(err)
	}
	d := startDriver(t, b, kioskDir, proxy.URL(), tok, "--pause", "5ms")
	<-d.first
	for _, m := range []faultproxy.Mode{faultproxy.Unavailable, faultproxy.Pause, faultproxy.Drop, faultproxy.Unavailable} {
		proxy.SetMode(m)
		time.Sleep(phase)
	}
	proxy.SetMode(faultproxy.Pass)
	time.Sleep(phase)
	acked := d.stop(t)
	drainAll(t, b, kioskDir, proxy.URL(), tok)
	proxy.Close()
	srv.Close()
	st.Close()
	for _, m := range []faultproxy.Mode{faultproxy.Unavailable, faultproxy.Pause, faultproxy.Drop} {
		if proxy.Count(m) == 0 {
			t.Errorf("the kiosk never met the %v fault: the outage proved nothing", m)
		}
	}
	verify(t, "HQ outage", 0, acked, kioskDir, hqDir)

	// In order: HQ first stored the acknowledged visits in the order the kiosk finished them.
	ordered.mu.Lock()
	defer ordered.mu.Unlock()
	order := ordered.order
	seen := map[string]bool{}
	var first []string
	ackedSet := map[string]bool{}
	for _, id := range acked {
		ackedSet[id] = true
	}
	for _, id := range order {
		if !seen[id] && ackedSet[id] {
			first = append(first, id)
		}
		seen[id] = true
	}
	if !slices.Equal(first, acked) {
		n := min(len(first), len(acked))
		for i := 0; i < n; i++ {
			if first[i] != acked[i] {
				t.Fatalf("HQ ingested out of order at %d: got %s, kiosk finished %s", i, first[i], acked[i])
			}
		}
		t.Fatalf("HQ ingested %d acknowledged visits, kiosk acknowledged %d", len(first), len(acked))
	}
}

// orderedStore records the order in which HQ stored new visits (a re-sent batch adds
// only what it stored; dedup in the check keeps the first).
type orderedStore struct {
	hq.Store
	mu    sync.Mutex
	order []string
}

func (o *orderedStore) IngestVisits(ctx context.Context, storeID string, batch []hq.VisitIngest) (hq.IngestResult, error) {
	r, err := o.Store.IngestVisits(ctx, storeID, batch)
	if err == nil {
		o.mu.Lock()
		o.order = append(o.order, r.AcceptedIDs...)
		o.mu.Unlock()
	}
	return r, err
}
