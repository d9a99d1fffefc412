package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/store"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/api"
	"github.com/pharmachain/counter/sync/hq/boltstore"
)

// syncHQ starts a real HQ (bbolt file, loopback HTTP) and returns its URL, store and a
// token of store S001.
func syncHQ(t *testing.T) (string, *boltstore.Store, string) {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "hq.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(api.New(st, api.Options{}))
	t.Cleanup(func() { ts.Close(); st.Close() })
	tok, err := hq.CreateToken(context.Background(), st, hq.Principal{StoreID: "S001"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutPharmacist(context.Background(), flows.Pharmacist{ID: "P01", StoreID: "S001", Name: "王芳"}); err != nil {
		t.Fatal(err)
	}
	return ts.URL, st, tok
}

func syncVisit(i int, complete bool, pharm string) flows.Visit {
	start := time.Date(2026, 6, 1, 9, 0, 0, 0, flows.Shanghai()).Add(time.Duration(i) * time.Minute)
	v := flows.Visit{ID: fmt.Sprintf("01SYNCTEST%06d", i), StoreID: "S001", PharmacistID: pharm,
		CustomerKey: "0123456789abcdef0123456789abcdef", StartedAt: start, UpdatedAt: start.Add(time.Minute),
		EndedAt: start.Add(time.Minute), Outcome: flows.OutcomeAbandoned, AbandonReason: "idle",
		Identify: &flows.IdentifyStep{At: start, AsOf: flows.DayOf(start), Adherence: []flows.ClassResult{}}}
	if complete {
		v.Outcome, v.AbandonReason = flows.OutcomeComplete, ""
		v.Questionnaire = &flows.QuestionnaireStep{At: start, Class: flows.ClassHypertension, Answers: map[string]string{}}
		v.Recommend = &flows.RecommendStep{At: start, Items: []flows.Recommendation{{ID: "a"}, {ID: "b"}}}
		v.FollowUp = &flows.FollowUpStep{At: start, Consent: map[string]bool{}, Declined: true}
	}
	return v
}

func runSyncCmd(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := runSync(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), err
}

// TestSyncOnceWithRealStoreAndHQ drains the real kiosk store to a real HQ, parks the
// record HQ rejects, and shows it in `kiosk sync status`.
func TestSyncOnceWithRealStoreAndHQ(t *testing.T) {
	url, hqst, tok := syncHQ(t)
	dir := t.TempDir()
	ks, err := store.Open(store.DefaultPath(dir), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 25; i++ {
		pharm := "P01"
		if i == 7 {
			pharm = "" // HQ refuses a record without pharmacist
		}
		if err := ks.SaveVisit(ctx, syncVisit(i, i%2 == 0, pharm)); err != nil {
			t.Fatal(err)
		}
	}
	ks.Close()

	out, errs, err := runSyncCmd(t, "--once", "--data", dir, "--hq", url, "--token", tok, "--store", "S001")
	if err != nil {
		t.Fatalf("%v\n%s", err, errs)
	}
	if !strings.Contains(out, "sent 24 (accepted 24, duplicates 0)") || !strings.Contains(out, "parked 1; pending 0, rejected 1") || !strings.Contains(out, "pharmacist_id") {
		t.Fatalf("output:\n%s", out)
	}
	groups, err := hqst.Completion(ctx, hq.CompletionQuery{GroupBy: hq.GroupByStore})
	if err != nil || len(groups) != 1 || groups[0].Rollup.Visits != 24 {
		t.Fatalf("HQ: %+v %v", groups, err)
	}
	out, _, err = runSyncCmd(t, "status", "--data", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pending:   0", "rejected:  1", "01SYNCTEST000007", "records[0].pharmacist_id: missing"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "last sync: never") {
		t.Errorf("status: last sync not recorded:\n%s", out)
	}
	// The roster and points were cached for the counter.
	ks, err = store.Open(store.DefaultPath(dir), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ks.Close()
	ro, err := ks.Roster()
	if err != nil || len(ro.Pharmacists) != 1 {
		t.Fatalf("roster cache: %+v %v", ro, err)
	}
	pts, err := ks.Points()
	if err != nil || len(pts) != 1 || pts[0].Points != 13 { // 13 complete visits (the rejected one, 7, is not complete)
		t.Fatalf("points cache: %+v %v", pts, err)
	}
}

func TestSyncOnceHQDownKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	ks, err := store.Open(store.DefaultPath(dir), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.SaveVisit(context.Background(), syncVisit(1, true, "P01")); err != nil {
		t.Fatal(err)
	}
	ks.Close()
	ts := httptest.NewServer(nil)
	url := ts.URL
	ts.Close() // nothing listens there now
	out, _, err := runSyncCmd(t, "--once", "--data", dir, "--hq", url, "--token", "x", "--store", "S001")
	if err == nil || !strings.Contains(out, "pending 1") {
		t.Fatalf("want an error and the entry kept: %v\n%s", err, out)
	}
	out, _, _ = runSyncCmd(t, "status", "--data", dir)
	if !strings.Contains(out, "pending:   1") || !strings.Contains(out, "last error:") {
		t.Fatalf("status:\n%s", out)
	}
}

func TestSyncUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{}, {"--once"}, {"--data", dir}, {"--once", "--data", dir}, {"status"}, {"--once", "--data", dir, "extra"}} {
		if _, _, err := runSyncCmd(t, args...); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("%v: %v; want a usage error", args, err)
		}
	}
}
