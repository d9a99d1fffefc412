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
	bolt "go.etcd.io/bbolt"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, flows.Shanghai)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openDB(t *testing.T, path string) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func newTestStore(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hq.db")
	db := openDB(t, path)
	t.Cleanup(func() { db.Close() })
	st, err := NewStore(db)
	if err != nil {
		t.Fatal(err)
	}
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

func mustEnqueue(t *testing.T, st *Store, v flows.Visit) {
	t.Helper()
	if err := st.Enqueue(context.Background(), v); err != nil {
		t.Fatal(err)
	}
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
