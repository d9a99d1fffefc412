package followup

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
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

	it := get(t, st, "S001:V1-f1")
	if it.Status != hq.StatusScheduled || !it.NextAt.Equal(due) || !it.Consent[flows.ChannelWeCom] {
		t.Fatalf("item: %+v", it)
	}
	for _, id := range []string{"S001:V2-f1", "S001:V4-f1"} {
		if _, err := st.FollowUp(ctx, id); !errors.Is(err, hq.ErrNotFound) {
			t.Fatalf("%s without consent was scheduled (err=%v)", id, err)
		}
	}
	claimed, err := st.ClaimDue(ctx, hq.Claim{Owner: "test", Now: due, Lease: time.Minute, Limit: 10})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("%d follow-ups due, want 1 (replay must not add one): %v", len(claimed), err)
	}
	entries := auditLog(st, "")
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

// A bad follow-up is refused before the store sees the batch (the API answers 400); the
// store refusing the same (storetest: FailureMidBatchStoresNothing) keeps it whole.
func TestPrepareRejectsBadFollowUps(t *testing.T) {
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
		in := hq.VisitIngest{Visit: v}
		if err := Prepare(&in, due); !errors.Is(err, hq.ErrInvalid) {
			t.Fatalf("%s: want ErrInvalid, got %v", name, err)
		}
		// Had it reached the store, the store refuses it too and stores nothing of the batch.
		in.FollowUps = append(in.FollowUps, hq.FollowUpItem{FollowUp: *v.FollowUp.FollowUp, NextAt: v.FollowUp.FollowUp.DueAt})
		good := hq.VisitIngest{Visit: visit("V8", "S001", "P01", due, true)}
		if err := Prepare(&good, due); err != nil {
			t.Fatal(err)
		}
		if _, err := st.IngestVisits(context.Background(), "S001", []hq.VisitIngest{good, in}); !errors.Is(err, hq.ErrInvalid) {
			t.Fatalf("%s: the store took it: %v", name, err)
		}
		if _, err := st.Visit(context.Background(), "S001", "V8"); !errors.Is(err, hq.ErrNotFound) {
			t.Fatalf("%s: the caller's write survived a rejected follow-up", name)
		}
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
		if err := st.Audit(ctx, hq.AuditEntry{Actor: actor, Action: "export", Detail: "table=stores", At: t0.Add(time.Duration(i) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := st.AuditEntries(ctx, hq.AuditQuery{})
	if err != nil || len(all) != 10 {
		t.Fatalf("all: %d %v", len(all), err)
	}
	if all[0].Seq != 10 || all[9].Seq != 1 {
		t.Fatalf("want newest first with seq 10..1, got %d..%d", all[0].Seq, all[9].Seq)
	}
	win, _ := st.AuditEntries(ctx, hq.AuditQuery{From: t0.Add(2 * time.Hour), To: t0.Add(6 * time.Hour), Actor: "admin"})
	if len(win) != 2 || win[0].At != t0.Add(4*time.Hour) || win[1].At != t0.Add(2*time.Hour) {
		t.Fatalf("window/actor filter: %+v", win)
	}
	lim, _ := st.AuditEntries(ctx, hq.AuditQuery{Limit: 3})
	if len(lim) != 3 {
		t.Fatalf("limit: %d", len(lim))
	}
}

func TestContacts(t *testing.T) {
	st, _ := newTestStore(t)
	ctx := context.Background()
	if err := bindContact(ctx, st, hq.Contact{StoreID: "S001", CustomerKey: testCustomerKey}); !errors.Is(err, hq.ErrInvalid) {
		t.Fatalf("incomplete contact: %v", err)
	}
	c := hq.Contact{StoreID: "S001", CustomerKey: testCustomerKey, Sender: "staff01", ExternalUserID: "wmEXT1", ConsentAt: time.Now()}
	if err := bindContact(ctx, st, c); err != nil {
		t.Fatal(err)
	}
	got, ok, err := st.Contact(ctx, "S001", testCustomerKey)
	if err != nil || !ok || got.ExternalUserID != "wmEXT1" {
		t.Fatalf("contact: %+v %v %v", got, ok, err)
	}
	if _, ok, _ := st.Contact(ctx, "S002", testCustomerKey); ok {
		t.Fatal("contact leaked to another store")
	}
	for _, e := range auditLog(st, "") {
		if strings.Contains(e.Detail, "wmEXT1") || strings.Contains(e.Detail, testCustomerKey) {
			t.Fatalf("audit detail leaks contact identity: %+v", e)
		}
	}
}

func TestSignerTokens(t *testing.T) {
	s := testSigner(t)
	now := time.Unix(1_780_000_000, 0)
	tok, err := s.Token("S001:V1-f1", now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	id, exp, err := s.Verify(tok, now)
	if err != nil || id != "S001:V1-f1" || !exp.Equal(now.Add(time.Hour)) {
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

// bindContact binds a customer's WeCom contact as an admin would (the callback binds
// through ContactEvents).
func bindContact(ctx context.Context, st hq.ContactStore, c hq.Contact) error {
	return st.BindContact(ctx, c, []hq.AuditEntry{{At: time.Now(), Actor: "admin", Action: "contact.bind", Detail: "store=" + c.StoreID}})
}
