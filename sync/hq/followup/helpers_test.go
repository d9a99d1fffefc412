package followup

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/boltstore"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, flows.Shanghai())} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openStore(t *testing.T, path string) *boltstore.Store {
	t.Helper()
	st, err := boltstore.Open(path, boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func newTestStore(t *testing.T) (*boltstore.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hq.db")
	st := openStore(t, path)
	t.Cleanup(func() { st.Close() })
	return st, path
}

const testCustomerKey = "0123456789abcdef0123456789abcdef"
const testMasked = "1101**********002X"

// visit builds a visit with a follow-up due at due, consent as given.
func visit(id, store, pharmacist string, due time.Time, consent bool) flows.Visit {
	return flows.Visit{
		ID: id, StoreID: store, PharmacistID: pharmacist, CustomerKey: testCustomerKey, CustomerMasked: testMasked,
		StartedAt: due.Add(-24 * time.Hour), Outcome: flows.OutcomeComplete,
		FollowUp: &flows.FollowUpStep{
			At:      due.Add(-24 * time.Hour),
			Consent: map[string]bool{flows.ChannelWeCom: consent},
			FollowUp: &flows.FollowUp{ID: id + "-f1", VisitID: id, StoreID: store, PharmacistID: pharmacist,
				CustomerKey: testCustomerKey, Channel: flows.ChannelWeCom, DueAt: due,
				Text: "您好，请记得按时服用降压药（每日一次）。", Consent: consent},
		},
	}
}

// mustEnqueue ingests v as the HQ API does: Prepare adds its follow-up and audit.
func mustEnqueue(t *testing.T, st hq.Store, v flows.Visit) {
	t.Helper()
	in := hq.VisitIngest{Visit: v}
	if err := Prepare(&in, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.IngestVisits(context.Background(), v.StoreID, []hq.VisitIngest{in}); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, st hq.Store, id string) hq.FollowUpItem {
	t.Helper()
	it, err := st.FollowUp(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func auditLog(st hq.Store, actor string) []hq.AuditEntry {
	es, _ := st.AuditEntries(context.Background(), hq.AuditQuery{Actor: actor, Limit: 10000})
	return es
}

func pointsOf(t *testing.T, st hq.Store, store, pharm string) int {
	t.Helper()
	rows, err := st.Points(context.Background(), store, pharm)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range rows {
		n += r.Points
	}
	return n
}

func testSigner(t *testing.T) *Signer {
	t.Helper()
	s, err := NewSigner([]byte("hq-secret-for-tests-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// recChannel records sends and answers with a scripted result.
type recChannel struct {
	mu     sync.Mutex
	calls  []string
	links  []string
	result func(n int) (SendResult, error)
	during func() // called inside Send (e.g. to snapshot the database mid-send)
}

func (c *recChannel) Send(ctx context.Context, fu flows.FollowUp, link string) (SendResult, error) {
	c.mu.Lock()
	c.calls = append(c.calls, fu.ID)
	c.links = append(c.links, link)
	n := len(c.calls)
	c.mu.Unlock()
	if c.during != nil {
		c.during()
	}
	if c.result != nil {
		return c.result(n)
	}
	return SendResult{Status: SendOK, MsgID: "m"}, nil
}

func (c *recChannel) Calls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}
