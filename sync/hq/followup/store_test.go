package followup

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	bolt "go.etcd.io/bbolt"
)

func TestEnqueueConsentAndIdempotence(t *testing.T) {
	st, _ := newTestStore(t)
	ctx := context.Background()
	due := newClock().Now()
	mustEnqueue(t, st, visit("V1", "S001", "P01", due, true))
	mustEnqueue(t, st, visit("V1", "S001", "P01", due, true)) // replay
	mustEnqueue(t, st, visit("V2", "S001", "P01", due, false))
	noStep := visit("V3", "S001", "P01", due, true)
	noStep.FollowUp = nil
	mustEnqueue(t, st, noStep)
	// consent given for another channel only
	sms := visit("V4", "S001", "P01", due, true)
	sms.FollowUp.Consent = map[string]bool{flows.ChannelSMS: true}
	mustEnqueue(t, st, sms)

	it, err := st.Get(ctx, "V1-f1")
	if err != nil {
		t.Fatal(err)
	}
	if it.Status != StatusScheduled || !it.NextAt.Equal(due) || !it.Consent[flows.ChannelWeCom] {
		t.Fatalf("item: %+v", it)
	}
	for _, id := range []string{"V2-f1", "V4-f1"} {
		if _, err := st.Get(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Fatalf("%s without consent was scheduled (err=%v)", id, err)
		}
	}
	var due1 int
	_ = st.db.View(func(tx *bolt.Tx) error { due1 = tx.Bucket(bucketDue).Stats().KeyN; return nil })
	if due1 != 1 {
		t.Fatalf("due index has %d entries, want 1 (replay must not add one)", due1)
	}
	entries, err := st.AuditEntries(ctx, time.Time{}, time.Time{}, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var enq, skip int
	for _, e := range entries {
		switch e.Action {
		case "followup.enqueue":
			enq++
		case "followup.skip_no_consent":
			skip++
		}
	}
	if enq != 1 || skip != 2 {
		t.Fatalf("audit: enqueue=%d skip=%d, want 1 and 2: %+v", enq, skip, entries)
	}
}

func TestEnqueueRejectsBadInputInsideCallerTx(t *testing.T) {
	st, _ := newTestStore(t)
	due := newClock().Now()
	cases := map[string]func(v *flows.Visit){
		"no id":          func(v *flows.Visit) { v.FollowUp.FollowUp.ID = "" },
		"no due":         func(v *flows.Visit) { v.FollowUp.FollowUp.DueAt = time.Time{} },
		"store mismatch": func(v *flows.Visit) { v.FollowUp.FollowUp.StoreID = "S999" },
	}
	for name, mutate := range cases {
		v := visit("V9", "S001", "P01", due, true)
		mutate(&v)
		// The HQ's batch: something of its own, then our hook; our error rolls back both.
		err := st.db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("hq_visits"))
			if err != nil {
				return err
			}
			if err := b.Put([]byte(v.ID), []byte("{}")); err != nil {
				return err
			}
			return st.EnqueueTx(tx, v)
		})
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("%s: want ErrInvalid, got %v", name, err)
		}
		_ = st.db.View(func(tx *bolt.Tx) error {
			if b := tx.Bucket([]byte("hq_visits")); b != nil && b.Get([]byte("V9")) != nil {
				t.Fatalf("%s: the caller's write survived a rejected follow-up", name)
			}
			return nil
		})
	}
}

func TestAuditAppendOnlyAndQuery(t *testing.T) {
	st, _ := newTestStore(t)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for i := range 10 {
		actor := "admin"
		if i%2 == 1 {
			actor = "store:S001"
		}
		if err := st.Audit(ctx, actor, "export", "table=stores", t0.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	all, err := st.AuditEntries(ctx, time.Time{}, time.Time{}, "", 0)
	if err != nil || len(all) != 10 {
		t.Fatalf("all: %d %v", len(all), err)
	}
	if all[0].Seq != 10 || all[9].Seq != 1 {
		t.Fatalf("want newest first with seq 10..1, got %d..%d", all[0].Seq, all[9].Seq)
	}
	win, _ := st.AuditEntries(ctx, t0.Add(2*time.Hour), t0.Add(6*time.Hour), "admin", 0)
	if len(win) != 2 || win[0].At != t0.Add(4*time.Hour) || win[1].At != t0.Add(2*time.Hour) {
		t.Fatalf("window/actor filter: %+v", win)
	}
	lim, _ := st.AuditEntries(ctx, time.Time{}, time.Time{}, "", 3)
	if len(lim) != 3 {
		t.Fatalf("limit: %d", len(lim))
	}
}

func TestContacts(t *testing.T) {
	st, _ := newTestStore(t)
	ctx := context.Background()
	if err := st.PutContact(ctx, Contact{StoreID: "S001", CustomerKey: testCustomerKey}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("incomplete contact: %v", err)
	}
	c := Contact{StoreID: "S001", CustomerKey: testCustomerKey, Sender: "staff01", ExternalUserID: "wmEXT1", ConsentAt: time.Now()}
	if err := st.PutContact(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, ok, err := st.Contact(ctx, "S001", testCustomerKey)
	if err != nil || !ok || got.ExternalUserID != "wmEXT1" {
		t.Fatalf("contact: %+v %v %v", got, ok, err)
	}
	if _, ok, _ := st.Contact(ctx, "S002", testCustomerKey); ok {
		t.Fatal("contact leaked to another store")
	}
	entries, _ := st.AuditEntries(ctx, time.Time{}, time.Time{}, "", 0)
	for _, e := range entries {
		if strings.Contains(e.Detail, "wmEXT1") || strings.Contains(e.Detail, testCustomerKey) {
			t.Fatalf("audit detail leaks contact identity: %+v", e)
		}
	}
}

func TestSignerTokens(t *testing.T) {
	s := testSigner(t)
	now := time.Unix(1_780_000_000, 0)
	tok, err := s.Token("V1-f1", now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	id, exp, err := s.Verify(tok, now)
	if err != nil || id != "V1-f1" || !exp.Equal(now.Add(time.Hour)) {
		t.Fatalf("verify: %q %v %v", id, exp, err)
	}
	if _, _, err := s.Verify(tok, now.Add(time.Hour)); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("expired: %v", err)
	}
	// Altering any character must fail (forged or malformed), never verify as another id.
	for i := range tok {
		b := []byte(tok)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		if id, _, err := s.Verify(string(b), now); err == nil {
			t.Fatalf("altered token at %d verified as %q", i, id)
		}
	}
	other, _ := NewSigner([]byte("another-secret-0123456789abcdef"))
	if _, _, err := other.Verify(tok, now); !errors.Is(err, ErrTokenForged) {
		t.Fatalf("other secret: %v", err)
	}
	for _, bad := range []string{"", "!!!", "abc", strings.Repeat("A", 5000)} {
		if _, _, err := s.Verify(bad, now); !errors.Is(err, ErrTokenMalformed) {
			t.Fatalf("%q: %v", bad, err)
		}
	}
	if _, err := NewSigner([]byte("short")); err == nil {
		t.Fatal("short secret accepted")
	}
}

func TestAuditHandlerParams(t *testing.T) {
	st, _ := newTestStore(t)
	ctx := context.Background()
	_ = st.Audit(ctx, "admin", "export", "table=stores.csv", time.Date(2026, 3, 1, 12, 0, 0, 0, flows.Shanghai))
	_ = st.Audit(ctx, "hq", "token.create", "followup=V1-f1", time.Date(2026, 3, 2, 12, 0, 0, 0, flows.Shanghai))
	h := AuditHandler(st, func(*http.Request) string { return "admin" })
	call := func(q string) (int, AuditResponse) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/api/v1/audit?"+q, nil))
		var out AuditResponse
		_ = json.Unmarshal(w.Body.Bytes(), &out)
		return w.Code, out
	}
	if code, out := call("from=2026-03-01&to=2026-03-01"); code != 200 || len(out.Entries) != 1 || out.Entries[0].Action != "export" {
		t.Fatalf("day window: %d %+v", code, out)
	}
	if code, out := call("actor=hq"); code != 200 || len(out.Entries) != 1 || out.Entries[0].Actor != "hq" {
		t.Fatalf("actor: %d %+v", code, out)
	}
	for _, bad := range []string{"from=yesterday", "to=2026-02-30", "limit=0", "limit=x", "limit=20000"} {
		if code, _ := call(bad); code != http.StatusBadRequest {
			t.Fatalf("%s: %d", bad, code)
		}
	}
	// Reading the log is itself audited.
	entries, _ := st.AuditEntries(ctx, time.Time{}, time.Time{}, "admin", 0)
	reads := 0
	for _, e := range entries {
		if e.Action == "audit.read" {
			reads++
		}
	}
	if reads != 2 {
		t.Fatalf("audit.read entries %d, want 2", reads)
	}
}
