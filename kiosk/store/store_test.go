package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/wire"
)

func TestDefaultPath(t *testing.T) {
	if got := DefaultPath("/var/lib/kiosk"); got != "/var/lib/kiosk/kiosk.db" {
		t.Fatalf("DefaultPath = %q", got)
	}
}

func TestOpenSecondProcessGetsInUse(t *testing.T) {
	_, path := openTest(t)
	start := time.Now()
	// bbolt's flock is per open file description, so a second Open in this process
	// contends exactly like a second process would.
	_, err := Open(path, Options{LockTimeout: 150 * time.Millisecond})
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second Open: err = %v, want ErrInUse", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("second Open took %s, want about the lock timeout", d)
	}
	if !strings.Contains(err.Error(), "in use") {
		t.Fatalf("error text %q does not say the store is in use", err)
	}
}

func TestClosedStoreErrors(t *testing.T) {
	s, _ := openTest(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stats(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Stats after Close: %v, want ErrClosed", err)
	}
}

func TestPurchasesHistoryIsOneCustomerRange(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	e := flows.DayFromDate(2026, 6, 30)
	var ps []flows.Purchase
	// Three customers whose keys sort next to each other, purchases on both sides of the range.
	for c := 0; c < 3; c++ {
		for i, off := range []int{-300, -180, -179, -30, 0, 1} {
			ps = append(ps, flows.Purchase{
				ID: fmt.Sprintf("S001:%d:%d", c, i), CustomerKey: custKey(c), StoreID: "S001",
				SoldAt: (e + flows.Day(off)).Time().Add(9 * time.Hour), DrugCode: "6901234567892", Quantity: 1, DaysSupply: 30,
			})
		}
	}
	added, dup, err := s.PutPurchases(ctx, ps)
	if err != nil || added != len(ps) || dup != 0 {
		t.Fatalf("PutPurchases = %d, %d, %v", added, dup, err)
	}
	got, err := s.History(ctx, custKey(1), e-180, e)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range got {
		if p.CustomerKey != custKey(1) {
			t.Fatalf("purchase %s has customer %q", p.ID, p.CustomerKey)
		}
		ids = append(ids, p.ID)
	}
	want := []string{"S001:1:1", "S001:1:2", "S001:1:3", "S001:1:4"}
	if !reflect.DeepEqual(ids, want) {
		t.Fatalf("History ids = %v, want %v", ids, want)
	}
	if !got[0].SoldAt.Equal(ps[7].SoldAt) || got[0].DaysSupply != 30 || got[0].DrugCode != "6901234567892" {
		t.Fatalf("round trip lost fields: %+v", got[0])
	}
	// Re-import: duplicates, not second copies (also within one batch).
	added, dup, err = s.PutPurchases(ctx, append(ps[:3:3], ps[0]))
	if err != nil || added != 0 || dup != 4 {
		t.Fatalf("re-import = %d added, %d dup, %v; want 0, 4", added, dup, err)
	}
	if n, _ := s.PurchaseCount(ctx); n != len(ps) {
		t.Fatalf("PurchaseCount = %d, want %d", n, len(ps))
	}
	// Empty and inverted ranges.
	if got, err := s.History(ctx, custKey(9), e-180, e); err != nil || len(got) != 0 {
		t.Fatalf("unknown customer history = %v, %v", got, err)
	}
	if got, err := s.History(ctx, custKey(1), e, e-1); err != nil || len(got) != 0 {
		t.Fatalf("inverted range = %v, %v", got, err)
	}
	if _, err := s.History(ctx, "11010519491231002X", e-180, e); !errors.Is(err, ErrInvalid) {
		t.Fatalf("History with a raw id: %v, want ErrInvalid", err)
	}
}

func TestPutPurchasesRejectsBadBatchWhole(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	good := flows.Purchase{ID: "a", CustomerKey: custKey(1), SoldAt: t0, DrugCode: "X", Quantity: 1}
	for name, bad := range map[string]flows.Purchase{
		"raw id":      {ID: "b", CustomerKey: "11010519491231002X", SoldAt: t0, DrugCode: "X", Quantity: 1},
		"no id":       {CustomerKey: custKey(1), SoldAt: t0, DrugCode: "X", Quantity: 1},
		"no date":     {ID: "b", CustomerKey: custKey(1), DrugCode: "X", Quantity: 1},
		"negative qn": {ID: "b", CustomerKey: custKey(1), SoldAt: t0, DrugCode: "X", Quantity: -1},
	} {
		if _, _, err := s.PutPurchases(ctx, []flows.Purchase{good, bad}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	if n, _ := s.PurchaseCount(ctx); n != 0 {
		t.Fatalf("a rejected batch wrote %d purchases", n)
	}
}

func TestQueuePurchasesAddsOutboxEntriesOnce(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	ps := []flows.Purchase{
		{ID: "S001:1:1", CustomerKey: custKey(1), StoreID: "S001", SoldAt: t0, DrugCode: "X", Quantity: 2},
		{ID: "S001:2:1", CustomerKey: custKey(2), StoreID: "S001", SoldAt: t0, DrugCode: "Y", Quantity: 1},
	}
	if a, d, err := s.QueuePurchases(ctx, ps); err != nil || a != 2 || d != 0 {
		t.Fatalf("QueuePurchases = %d %d %v", a, d, err)
	}
	if a, d, err := s.QueuePurchases(ctx, ps); err != nil || a != 0 || d != 2 {
		t.Fatalf("second QueuePurchases = %d %d %v", a, d, err)
	}
	es, err := s.Peek(ctx, 10, 1<<20)
	if err != nil || len(es) != 2 {
		t.Fatalf("Peek = %v, %v", es, err)
	}
	if es[0].Kind != wire.KindPurchase || es[0].ID != "S001:1:1" || !bytes.Contains(es[0].Body, []byte(custKey(1))) {
		t.Fatalf("entry = %+v", es[0])
	}
}

func TestCatalog(t *testing.T) {
	s, _ := openTest(t)
	if c, err := s.Catalog(); err != nil || c.Len() != 0 {
		t.Fatalf("empty catalog = %v, %v", c, err)
	}
	drugs := []flows.Drug{
		{Code: "6901234567892", Name: "苯磺酸氨氯地平片", Ingredient: "amlodipine", ATC: "C08CA01", PackDaysSupply: 28},
		{Code: "POS-METF", Name: "二甲双胍", Ingredient: "metformin", ATC: "A10BA02", PackDaysSupply: 30},
	}
	if err := s.PutCatalog(drugs); err != nil {
		t.Fatal(err)
	}
	if err := s.PutCatalog(drugs[1:]); err != nil { // replaces
		t.Fatal(err)
	}
	c, err := s.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Lookup("6901234567892"); ok {
		t.Fatal("PutCatalog did not replace the old catalog")
	}
	if d, ok := c.Lookup("POS-METF"); !ok || d.ATC != "A10BA02" || d.PackDaysSupply != 30 {
		t.Fatalf("Lookup = %+v, %v", d, ok)
	}
	if err := s.PutCatalog([]flows.Drug{{Name: "no code"}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("drug without code: %v", err)
	}
}

func outboxAll(t *testing.T, s *Store) []wire.OutboxEntry {
	t.Helper()
	es, err := s.Peek(context.Background(), 1<<30, 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestSaveVisitEveryStepAndOutboxOnce(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	id := "01JZ0000000000000000000001"
	for step := 0; step <= 4; step++ {
		mustSave(t, s, visitAt(id, t0, custKey(1), step, false))
		open, err := s.OpenVisits(ctx)
		if err != nil || len(open) != 1 || flows.StepsDone(open[0]) != step {
			t.Fatalf("after step %d: OpenVisits = %d visits, %v", step, len(open), err)
		}
		if st, _ := s.Stats(ctx); st.Pending != 0 {
			t.Fatalf("in-progress visit queued for HQ: %+v", st)
		}
	}
	final := visitAt(id, t0, custKey(1), 4, true)
	mustSave(t, s, final)
	mustSave(t, s, final) // idempotent
	if open, _ := s.OpenVisits(ctx); len(open) != 0 {
		t.Fatalf("finished visit still open: %v", open)
	}
	es := outboxAll(t, s)
	if len(es) != 1 || es[0].Kind != wire.KindVisit || es[0].ID != id {
		t.Fatalf("outbox = %+v, want exactly one visit entry", es)
	}
	var sent flows.Visit
	if err := json.Unmarshal(es[0].Body, &sent); err != nil || sent.ID != id || !flows.Complete(sent) || sent.CustomerKey != custKey(1) {
		t.Fatalf("outbox body = %s, %v", es[0].Body, err)
	}
	if st, _ := s.Stats(ctx); st.Pending != 1 {
		t.Fatalf("Stats.Pending = %d", st.Pending)
	}
	got, err := s.Visit(ctx, id)
	if err != nil || got.Outcome != flows.OutcomeComplete || !flows.Complete(got) {
		t.Fatalf("Visit = %+v, %v", got, err)
	}
	changed := final
	changed.AbandonReason = "pharmacist"
	if err := s.SaveVisit(ctx, changed); !errors.Is(err, ErrVisitFinished) {
		t.Fatalf("changing a finished visit: %v, want ErrVisitFinished", err)
	}
	reopened := visitAt(id, t0, custKey(1), 2, false)
	if err := s.SaveVisit(ctx, reopened); !errors.Is(err, ErrVisitFinished) {
		t.Fatalf("reopening a finished visit: %v, want ErrVisitFinished", err)
	}
	if len(outboxAll(t, s)) != 1 {
		t.Fatal("rejected saves changed the outbox")
	}
	if st, _ := s.VisitSync(ctx, id); st != VisitQueued {
		t.Fatalf("VisitSync = %s", st)
	}
	if err := s.Ack(ctx, []uint64{es[0].Seq}); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.VisitSync(ctx, id); st != VisitSynced {
		t.Fatalf("VisitSync after ack = %s", st)
	}
	mustSave(t, s, final) // still a no-op after ack
	if len(outboxAll(t, s)) != 0 {
		t.Fatal("re-saving an acked visit queued it again")
	}
	if _, err := s.Visit(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Visit(nope) = %v", err)
	}
}

func TestSaveVisitRejectsBadInput(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	for name, v := range map[string]flows.Visit{
		"no id":       {StartedAt: t0, Outcome: flows.OutcomeInProgress},
		"no start":    {ID: "x", Outcome: flows.OutcomeInProgress},
		"bad outcome": {ID: "x", StartedAt: t0, Outcome: "done"},
		"raw id":      {ID: "x", StartedAt: t0, Outcome: flows.OutcomeInProgress, CustomerKey: "11010519491231002X"},
	} {
		if err := s.SaveVisit(ctx, v); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func TestVisitsByDay(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	// 23:30 on 06-29 Shanghai is 15:30 UTC: it belongs to 06-29 locally.
	late := time.Date(2026, 6, 29, 15, 30, 0, 0, time.UTC)
	mustSave(t, s, visitAt("A", late, custKey(1), 4, true))
	mustSave(t, s, visitAt("B", t0, custKey(2), 1, false))
	mustSave(t, s, visitAt("C", t0.AddDate(0, 0, 1), custKey(3), 2, true))
	d := flows.DayFromDate(2026, 6, 30)
	ids := func(from, to flows.Day) []string {
		vs, err := s.Visits(ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, v := range vs {
			out = append(out, v.ID)
		}
		return out
	}
	if got := ids(d, d); !reflect.DeepEqual(got, []string{"B"}) {
		t.Fatalf("Visits(06-30) = %v", got)
	}
	if got := ids(d-1, d+1); !reflect.DeepEqual(got, []string{"A", "B", "C"}) {
		t.Fatalf("Visits(06-29..07-01) = %v", got)
	}
	// Moving a visit's start day moves its index entry.
	moved := visitAt("B", t0.AddDate(0, 0, 5), custKey(2), 2, false)
	mustSave(t, s, moved)
	if got := ids(d, d); len(got) != 0 {
		t.Fatalf("old day still indexes %v", got)
	}
	if got := ids(d+5, d+5); !reflect.DeepEqual(got, []string{"B"}) {
		t.Fatalf("new day = %v", got)
	}
}

func TestOutboxPeekParkRequeueAckStats(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		mustSave(t, s, visitAt(fmt.Sprintf("V%d", i), t0.Add(time.Duration(i)*time.Minute), custKey(i), 4, true))
	}
	all := outboxAll(t, s)
	if len(all) != 5 {
		t.Fatalf("outbox has %d", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq <= all[i-1].Seq {
			t.Fatalf("not in seq order: %v", all)
		}
	}
	// max and maxBytes.
	if es, _ := s.Peek(ctx, 2, 1<<20); len(es) != 2 || es[0].ID != "V0" {
		t.Fatalf("Peek(2) = %v", es)
	}
	one := len(all[0].Body)
	if es, _ := s.Peek(ctx, 10, one+len(all[1].Body)-1); len(es) != 1 {
		t.Fatalf("Peek byte limit: %d entries", len(es))
	}
	if es, _ := s.Peek(ctx, 10, 1); len(es) != 1 {
		t.Fatalf("Peek with a tiny byte limit must still return one entry, got %d", len(es))
	}
	if _, err := s.Peek(ctx, 0, 1); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Peek(0) = %v", err)
	}
	// Park V1, V2: skipped by Peek, counted as rejected, reason kept.
	if err := s.Park(ctx, []uint64{all[1].Seq, all[2].Seq}, "unknown store S001"); err != nil {
		t.Fatal(err)
	}
	es, _ := s.Peek(ctx, 10, 1<<20)
	if len(es) != 3 || es[0].ID != "V0" || es[1].ID != "V3" {
		t.Fatalf("Peek after park = %v", es)
	}
	st, _ := s.Stats(ctx)
	if st.Pending != 3 || st.Rejected != 2 || st.RejectReason != "unknown store S001" {
		t.Fatalf("Stats after park = %+v", st)
	}
	parked, err := s.Parked(ctx)
	if err != nil || len(parked) != 2 || parked[0].Reason != "unknown store S001" || parked[0].Entry.ID != "V1" {
		t.Fatalf("Parked = %+v, %v", parked, err)
	}
	// Ack V0 twice: idempotent.
	for range 2 {
		if err := s.Ack(ctx, []uint64{all[0].Seq}); err != nil {
			t.Fatal(err)
		}
	}
	if st, _ := s.Stats(ctx); st.Pending != 2 || st.Rejected != 2 {
		t.Fatalf("Stats after ack = %+v", st)
	}
	n, err := s.Requeue(ctx)
	if err != nil || n != 2 {
		t.Fatalf("Requeue = %d, %v", n, err)
	}
	es, _ = s.Peek(ctx, 10, 1<<20)
	var got []string
	for _, e := range es {
		got = append(got, e.ID)
	}
	if !reflect.DeepEqual(got, []string{"V1", "V2", "V3", "V4"}) {
		t.Fatalf("after requeue = %v (original order expected)", got)
	}
	if st, _ := s.Stats(ctx); st.Pending != 4 || st.Rejected != 0 || st.RejectReason != "" {
		t.Fatalf("Stats after requeue = %+v", st)
	}
	// RecordSync.
	errAt, okAt := t0.Add(time.Hour), t0.Add(2*time.Hour)
	if err := s.RecordSync(ctx, errAt, errors.New("dial tcp: refused")); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Stats(ctx); st.LastError != "dial tcp: refused" || !st.LastSync.IsZero() {
		t.Fatalf("Stats after failed sync = %+v", st)
	}
	if err := s.RecordSync(ctx, okAt, nil); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Stats(ctx); st.LastError != "" || !st.LastSync.Equal(okAt) {
		t.Fatalf("Stats after good sync = %+v", st)
	}
	// Ack everything, including a parked-then-acked path.
	if err := s.Park(ctx, []uint64{all[4].Seq}, "bad"); err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, e := range all {
		seqs = append(seqs, e.Seq)
	}
	if err := s.Ack(ctx, seqs); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Stats(ctx); st.Pending != 0 || st.Rejected != 0 || st.RejectReason != "" {
		t.Fatalf("Stats after acking all = %+v", st)
	}
	// Seqs keep growing after the outbox was emptied.
	mustSave(t, s, visitAt("V9", t0, custKey(9), 4, true))
	if es := outboxAll(t, s); len(es) != 1 || es[0].Seq <= all[4].Seq {
		t.Fatalf("new entry seq %v not after %d", es, all[4].Seq)
	}
}

func TestRosterPointsConfig(t *testing.T) {
	s, _ := openTest(t)
	if r, err := s.Roster(); err != nil || len(r.Pharmacists) != 0 {
		t.Fatalf("empty roster = %+v, %v", r, err)
	}
	local := flows.Pharmacist{ID: "L1", StoreID: "S001", Name: "临时药师", PINHash: "$2a$..."}
	if err := s.AddLocalPharmacist(local); err != nil {
		t.Fatal(err)
	}
	hq := []flows.Pharmacist{{ID: "P07", StoreID: "S001", Name: "王药师"}, {ID: "P08", StoreID: "S001", Name: "李药师", Manager: true}}
	if err := s.PutRoster("S001", hq); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRoster("S001", hq[1:]); err != nil { // P07 left the store
		t.Fatal(err)
	}
	r, err := s.Roster()
	if err != nil {
		t.Fatal(err)
	}
	if r.StoreID != "S001" || len(r.Pharmacists) != 2 || r.Pharmacists[0].ID != "L1" || !r.Pharmacists[0].Local ||
		r.Pharmacists[1].ID != "P08" || r.Pharmacists[1].Local || !r.Pharmacists[1].Manager || r.UpdatedAt.IsZero() {
		t.Fatalf("Roster = %+v", r)
	}
	if err := s.AddLocalPharmacist(flows.Pharmacist{ID: "P08"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("local pharmacist replacing HQ's: %v", err)
	}

	rows := []wire.PointsRow{{PharmacistID: "P07", StoreID: "S001", Points: 12}, {PharmacistID: "P08", StoreID: "S001", Points: 3}}
	if err := s.PutPoints(rows); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPoints(rows[1:]); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Points(); err != nil || !reflect.DeepEqual(got, rows[1:]) {
		t.Fatalf("Points = %v, %v", got, err)
	}

	type settings struct {
		StoreID string `json:"store_id"`
		HQURL   string `json:"hq_url"`
		Idle    int    `json:"idle_seconds"`
	}
	var cfg settings
	if err := s.LoadConfig(&cfg); !errors.Is(err, ErrNotFound) {
		t.Fatalf("LoadConfig before save: %v", err)
	}
	want := settings{"S001", "https://hq.example", 90}
	if err := s.SaveConfig(want); err != nil {
		t.Fatal(err)
	}
	if err := s.LoadConfig(&cfg); err != nil || cfg != want {
		t.Fatalf("LoadConfig = %+v, %v", cfg, err)
	}
	if err := s.SaveConfig(func() {}); err == nil {
		t.Fatal("SaveConfig of a func succeeded")
	}
}

// makeV1 writes a file shaped like schema version 1 (no indexes, no counters).
func makeV1(t *testing.T, path string, version uint64) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		if err := migrateV1(tx); err != nil {
			return err
		}
		meta := tx.Bucket(bMeta)
		if err := meta.Put(keySchema, u64(version)); err != nil {
			return err
		}
		pb := tx.Bucket(bPurchases)
		for i, off := range []int{-10, -5, -5} { // the third is a v1-era duplicate of the second's id
			id := fmt.Sprintf("S001:%d:1", min(i, 1))
			p := flows.Purchase{ID: id, StoreID: "S001", SoldAt: t0.AddDate(0, 0, off), DrugCode: "X", Quantity: 1, DaysSupply: 30}
			b, _ := jsonMarshal(p)
			if err := pb.Put(purchaseKey(custKey(1), flows.DayOf(p.SoldAt)+flows.Day(i/2), id), b); err != nil {
				return err
			}
		}
		vs := tx.Bucket(bVisits)
		open := visitAt("OPEN", t0, custKey(1), 2, false)
		done := visitAt("DONE", t0.AddDate(0, 0, -1), custKey(1), 4, true)
		sent := visitAt("SENT", t0.AddDate(0, 0, -2), custKey(2), 4, true)
		for _, v := range []flows.Visit{open, done, sent} {
			b, _ := jsonMarshal(v)
			if err := vs.Put([]byte(v.ID), b); err != nil {
				return err
			}
		}
		b, _ := jsonMarshal(done)
		ob := tx.Bucket(bOutbox)
		if err := ob.SetSequence(7); err != nil {
			return err
		}
		return ob.Put(u64(7), encodeEntry(kindVisit, "DONE", b))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMigrateFromV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	makeV1(t, path, 1)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open v1 file: %v", err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.db.View(func(tx *bolt.Tx) error {
		if v := getU64(tx.Bucket(bMeta), keySchema); v != SchemaVersion {
			return fmt.Errorf("schema_version = %d", v)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	h, err := s.History(ctx, custKey(1), flows.DayOf(t0)-30, flows.DayOf(t0))
	if err != nil || len(h) != 2 {
		t.Fatalf("History after migration = %d purchases, %v (v1 duplicate must be dropped)", len(h), err)
	}
	if _, d, _ := s.PutPurchases(ctx, []flows.Purchase{{ID: "S001:0:1", CustomerKey: custKey(1), SoldAt: t0, DrugCode: "X"}}); d != 1 {
		t.Fatal("purchase id index not built: re-import was not a duplicate")
	}
	open, err := s.OpenVisits(ctx)
	if err != nil || len(open) != 1 || open[0].ID != "OPEN" {
		t.Fatalf("OpenVisits after migration = %v, %v", open, err)
	}
	vs, err := s.Visits(ctx, flows.DayOf(t0)-2, flows.DayOf(t0))
	if err != nil || len(vs) != 3 || vs[0].ID != "SENT" || vs[2].ID != "OPEN" {
		t.Fatalf("Visits after migration = %v, %v", vs, err)
	}
	st, _ := s.Stats(ctx)
	if st.Pending != 1 {
		t.Fatalf("Stats after migration = %+v", st)
	}
	if q, _ := s.VisitSync(ctx, "DONE"); q != VisitQueued {
		t.Fatalf("DONE sync = %s", q)
	}
	if q, _ := s.VisitSync(ctx, "SENT"); q != VisitSynced {
		t.Fatalf("SENT sync = %s", q)
	}
	// The sequence continues after the v1 entries, and DONE is not queued twice.
	mustSave(t, s, visitAt("DONE", t0.AddDate(0, 0, -1), custKey(1), 4, true))
	mustSave(t, s, visitAt("OPEN", t0, custKey(1), 4, true))
	es := outboxAll(t, s)
	if len(es) != 2 || es[0].Seq != 7 || es[1].Seq != 8 || es[1].ID != "OPEN" {
		t.Fatalf("outbox after migration = %+v", es)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	makeV1(t, path, SchemaVersion+1)
	before, _ := os.ReadFile(path)
	_, err := Open(path, Options{})
	if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), fmt.Sprint(SchemaVersion+1)) {
		t.Fatalf("Open newer file: %v", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("refusing a newer file still changed it")
	}
}

func TestHotBackup(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	for i := 0; i < 50; i++ {
		mustSave(t, s, visitAt(fmt.Sprintf("B%03d", i), t0, custKey(i), 4, true))
	}
	// Writers keep going while the backup runs.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := s.SaveVisit(ctx, visitAt(fmt.Sprintf("W%05d", i), t0, custKey(i), i%5, false)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var buf bytes.Buffer
	n, err := s.Backup(ctx, &buf)
	close(stop)
	wg.Wait()
	if err != nil || n != int64(buf.Len()) || n == 0 {
		t.Fatalf("Backup = %d, %v (buffer %d)", n, err, buf.Len())
	}
	path := filepath.Join(t.TempDir(), "restored.db")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("open backup: %v", err)
	}
	defer r.Close()
	st, err := r.Stats(ctx)
	if err != nil || st.Pending != 50 {
		t.Fatalf("backup Stats = %+v, %v", st, err)
	}
	if v, err := r.Visit(ctx, "B049"); err != nil || v.Outcome != flows.OutcomeComplete {
		t.Fatalf("backup visit = %v, %v", v.ID, err)
	}
	if err := r.db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	}); err != nil {
		t.Fatalf("backup fails consistency check: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Backup(cctx, &buf); !errors.Is(err, context.Canceled) {
		t.Fatalf("Backup with cancelled ctx: %v", err)
	}
}

func TestPurgeRetention(t *testing.T) {
	now := time.Date(2029, 7, 1, 12, 0, 0, 0, flows.Shanghai())
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	old := now.AddDate(-3, 0, -10)
	recent := now.AddDate(-2, 0, 0)
	var ps []flows.Purchase
	for i := 0; i < 30; i++ {
		when := old
		if i%3 == 0 {
			when = recent
		}
		ps = append(ps, flows.Purchase{ID: fmt.Sprintf("P%d", i), CustomerKey: custKey(i % 4), SoldAt: when, DrugCode: "X", Quantity: 1})
	}
	if _, _, err := s.PutPurchases(ctx, ps); err != nil {
		t.Fatal(err)
	}
	mustSave(t, s, visitAt("OLD-ACKED", old, custKey(1), 4, true))
	mustSave(t, s, visitAt("OLD-QUEUED", old, custKey(1), 4, true))
	mustSave(t, s, visitAt("OLD-PARKED", old, custKey(1), 2, true))
	mustSave(t, s, visitAt("OLD-OPEN", old, custKey(1), 2, false))
	mustSave(t, s, visitAt("NEW-ACKED", recent, custKey(1), 4, true))
	es := outboxAll(t, s)
	if err := s.Ack(ctx, []uint64{es[0].Seq, es[3].Seq}); err != nil {
		t.Fatal(err)
	}
	if err := s.Park(ctx, []uint64{es[2].Seq}, "rejected"); err != nil {
		t.Fatal(err)
	}
	st, err := s.Purge(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if st.Purchases != 20 || st.Visits != 1 || st.KeptUnsynced != 2 || st.KeptInProgress != 1 || st.OutboxUntouched != 2 {
		t.Fatalf("PurgeStats = %+v", st)
	}
	if n, _ := s.PurchaseCount(ctx); n != 10 {
		t.Fatalf("%d purchases left, want 10", n)
	}
	for _, id := range []string{"OLD-QUEUED", "OLD-PARKED", "OLD-OPEN", "NEW-ACKED"} {
		if _, err := s.Visit(ctx, id); err != nil {
			t.Errorf("%s purged: %v", id, err)
		}
	}
	if _, err := s.Visit(ctx, "OLD-ACKED"); !errors.Is(err, ErrNotFound) {
		t.Errorf("OLD-ACKED kept: %v", err)
	}
	if vs, _ := s.Visits(ctx, flows.DayOf(old), flows.DayOf(old)); len(vs) != 3 {
		t.Errorf("day index has %d old visits, want 3", len(vs))
	}
	if ost, _ := s.Stats(ctx); ost.Pending != 1 || ost.Rejected != 1 {
		t.Fatalf("purge touched the outbox: %+v", ost)
	}
	// A purged purchase id can be imported again only as new data; recent ones stay dups.
	if _, d, _ := s.PutPurchases(ctx, ps[:1]); d != 1 {
		t.Fatal("recent purchase lost from the id index")
	}
	// Configurable retention: 10 years keeps everything.
	s2, _ := openTest(t)
	_ = s2.Close()
	s3, err := Open(filepath.Join(t.TempDir(), "k.db"), Options{Retention: 10 * 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	if _, _, err := s3.PutPurchases(ctx, ps); err != nil {
		t.Fatal(err)
	}
	if st, err := s3.Purge(ctx, now); err != nil || st.Purchases != 0 {
		t.Fatalf("10-year purge = %+v, %v", st, err)
	}
}

func TestPurgeManyChunks(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	now := t0
	n := purgeChunk*2 + 123
	ps := make([]flows.Purchase, 0, n)
	for i := 0; i < n; i++ {
		when := now.AddDate(-4, 0, 0)
		if i%2 == 0 {
			when = now.AddDate(0, -1, 0)
		}
		ps = append(ps, flows.Purchase{ID: fmt.Sprintf("P%06d", i), CustomerKey: custKey(i % 97), SoldAt: when, DrugCode: "X", Quantity: 1})
	}
	if _, _, err := s.PutPurchases(ctx, ps); err != nil {
		t.Fatal(err)
	}
	st, err := s.Purge(ctx, now)
	if err != nil || st.Purchases != n/2 {
		t.Fatalf("Purge = %+v, %v; want %d purchases", st, err, n/2)
	}
	if c, _ := s.PurchaseCount(ctx); c != n-n/2 {
		t.Fatalf("left %d", c)
	}
}

func TestDeleteCustomer(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	victim, other := custKey(1), custKey(2)
	ps := []flows.Purchase{
		{ID: "a", CustomerKey: victim, SoldAt: t0, DrugCode: "X", Quantity: 1},
		{ID: "b", CustomerKey: victim, SoldAt: t0.AddDate(-1, 0, 0), DrugCode: "X", Quantity: 1},
		{ID: "c", CustomerKey: other, SoldAt: t0, DrugCode: "X", Quantity: 1},
	}
	if _, _, err := s.QueuePurchases(ctx, ps); err != nil {
		t.Fatal(err)
	}
	mustSave(t, s, visitAt("V1", t0, victim, 4, true))
	mustSave(t, s, visitAt("V2", t0, victim, 1, false))
	mustSave(t, s, visitAt("V3", t0, other, 4, true))
	mustSave(t, s, visitAt("V4", t0, victim, 2, true))
	es := outboxAll(t, s)
	if err := s.Park(ctx, []uint64{es[len(es)-1].Seq}, "rejected"); err != nil { // V4 parked
		t.Fatal(err)
	}
	st, err := s.DeleteCustomer(ctx, victim)
	if err != nil {
		t.Fatal(err)
	}
	// Visit entries refer to the visit record, so scrubbing the record scrubs them.
	if st.Purchases != 2 || st.Visits != 3 || st.OutboxDropped != 2 || st.OutboxRewrites != 0 {
		t.Fatalf("DeleteStats = %+v", st)
	}
	for _, e := range outboxAll(t, s) {
		if bytes.Contains(e.Body, []byte(victim)) {
			t.Fatalf("outbox entry %d (%s %s) still holds the customer key", e.Seq, e.Kind, e.ID)
		}
	}
	parked, _ := s.Parked(ctx)
	if len(parked) != 1 || bytes.Contains(parked[0].Entry.Body, []byte(victim)) || len(parked[0].Entry.Body) == 0 {
		t.Fatalf("parked entry not scrubbed: %+v", parked)
	}
	if h, _ := s.History(ctx, victim, 0, flows.DayOf(t0)); len(h) != 0 {
		t.Fatalf("history left: %v", h)
	}
	if h, _ := s.History(ctx, other, 0, flows.DayOf(t0)); len(h) != 1 {
		t.Fatalf("other customer's history = %v", h)
	}
	v, _ := s.Visit(ctx, "V1")
	if v.CustomerKey != "" || v.CustomerMasked != "" || v.FollowUp.FollowUp.CustomerKey != "" || !flows.Complete(v) {
		t.Fatalf("V1 not scrubbed or damaged: %+v", v)
	}
	if ost, _ := s.Stats(ctx); ost.Pending != 3 || ost.Rejected != 1 {
		t.Fatalf("Stats = %+v", ost)
	}
	if _, err := s.DeleteCustomer(ctx, "1101"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad key: %v", err)
	}
}

func TestDuplicateInsideOneBatchStoredOnce(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a := flows.Purchase{ID: "S001:9:1", CustomerKey: custKey(1), SoldAt: t0, DrugCode: "X", Quantity: 1}
	b := a
	b.CustomerKey, b.SoldAt = custKey(2), t0.AddDate(0, 0, -3)
	added, dup, err := s.PutPurchases(ctx, []flows.Purchase{a, b})
	if err != nil || added != 1 || dup != 1 {
		t.Fatalf("PutPurchases = %d, %d, %v", added, dup, err)
	}
	if h, _ := s.History(ctx, custKey(2), 0, flows.DayOf(t0)); len(h) != 0 {
		t.Fatalf("second copy stored: %v", h)
	}
	if h, _ := s.History(ctx, custKey(1), 0, flows.DayOf(t0)); len(h) != 1 {
		t.Fatalf("first copy missing: %v", h)
	}
}

func TestCompactToDropsDeletedBytes(t *testing.T) {
	s, path := openTest(t)
	ctx := context.Background()
	victim := custKey(5)
	var ps []flows.Purchase
	for i := 0; i < 200; i++ {
		ps = append(ps, flows.Purchase{ID: fmt.Sprintf("V%03d", i), CustomerKey: victim, SoldAt: t0, DrugCode: "X", Quantity: 1})
	}
	ps = append(ps, flows.Purchase{ID: "keep", CustomerKey: custKey(6), SoldAt: t0, DrugCode: "X", Quantity: 1})
	if _, _, err := s.PutPurchases(ctx, ps); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteCustomer(ctx, victim); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "compact.db")
	if err := s.CompactTo(ctx, dst); err != nil {
		t.Fatal(err)
	}
	if err := s.CompactTo(ctx, dst); err == nil {
		t.Fatal("CompactTo overwrote an existing file")
	}
	_ = s.Close()
	old, _ := os.ReadFile(path)
	if !bytes.Contains(old, []byte(victim)) {
		t.Log("note: freed pages were already reused in the original file")
	}
	b, _ := os.ReadFile(dst)
	if bytes.Contains(b, []byte(victim)) {
		t.Fatal("compacted copy still holds the deleted customer's key")
	}
	c, err := Open(dst, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if h, _ := c.History(ctx, custKey(6), 0, flows.DayOf(t0)); len(h) != 1 {
		t.Fatalf("compacted copy lost live data: %v", h)
	}
}
