package drain_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pharmachain/counter/sync/drain"
	"github.com/pharmachain/counter/sync/hq/api"
	"github.com/pharmachain/counter/sync/internal/hqtest"
	"github.com/pharmachain/counter/sync/wire"
)

// plainOutbox hides the outbox's PeekAfter: the drainer acks each batch before the next
// Peek.
type plainOutbox struct{ wire.Outbox }

// slowAckOutbox delays every Ack, and can fail the failAt-th (1-based) one.
type slowAckOutbox struct {
	wire.OutboxPeekAfter
	wire.Outbox
	delay  time.Duration
	failAt int32
	acks   atomic.Int32
	active atomic.Int32 // acks running now
	most   atomic.Int32 // most acks running at once
}

func (o *slowAckOutbox) Ack(ctx context.Context, seqs []uint64) error {
	n := o.active.Add(1)
	defer o.active.Add(-1)
	for {
		m := o.most.Load()
		if n <= m || o.most.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(o.delay)
	if o.acks.Add(1) == o.failAt {
		return errors.New("disk full")
	}
	return o.Outbox.Ack(ctx, seqs)
}

// orderedHQ wraps the test HQ: it records each records batch's Idempotency-Key in
// arrival order and fails the test if two requests are ever in flight at once.
func orderedHQ(t *testing.T, h *hqtest.HQ) func() []string {
	var mu sync.Mutex
	var keys []string
	var inFlight atomic.Int32
	h.SetHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if inFlight.Add(1) > 1 {
			t.Error("two requests in flight at once")
		}
		defer inFlight.Add(-1)
		mu.Lock()
		keys = append(keys, r.Header.Get(wire.HeaderIdempotencyKey))
		mu.Unlock()
		h.Server.ServeHTTP(w, r)
	}))
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), keys...)
	}
}

// TestPipelinedDrainKeepsOrder: with PeekAfter, batch N's Ack overlaps batch N+1's
// POST, yet HQ sees one request at a time in seq order, acks never overlap each other,
// every record arrives once and the outbox ends empty. Without PeekAfter the result is
// the same.
func TestPipelinedDrainKeepsOrder(t *testing.T) {
	for _, pipelined := range []bool{true, false} {
		h := hqtest.Start(t, api.Options{}, "S001")
		keys := orderedHQ(t, h)
		ob := openOutbox(t)
		addVisits(t, ob, "p", 1250, nil)
		slow := &slowAckOutbox{OutboxPeekAfter: ob, Outbox: ob, delay: 30 * time.Millisecond}
		var target wire.Outbox = slow
		if !pipelined {
			target = plainOutbox{slow}
		}
		d := newDrainer(target, h.URL, h.Tokens["S001"], func(c *drain.Config) { c.MaxRecords = 100 })
		res, err := d.DrainOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if res.Sent != 1250 || res.Accepted != 1250 || res.Duplicates != 0 || res.Batches != 13 {
			t.Fatalf("pipelined=%v: %+v", pipelined, res)
		}
		if n := visitsAtHQ(t, h); n != 1250 {
			t.Fatalf("HQ has %d visits", n)
		}
		if s := stats(t, ob); s.Pending != 0 || s.LastSync.IsZero() {
			t.Fatalf("outbox after drain: %+v", s)
		}
		if m := slow.most.Load(); m != 1 {
			t.Fatalf("%d acks ran at once", m)
		}
		got := keys()
		if len(got) != 13 {
			t.Fatalf("%d requests: %v", len(got), got)
		}
		for i, k := range got {
			first, last := i*100+1, min(i*100+100, 1250)
			if want := "S001-" + itoa(first) + "-" + itoa(last); k != want {
				t.Fatalf("request %d has key %s, want %s (batch order)", i, k, want)
			}
		}
	}
}

// TestAckFailureStopsPipelinedDrain: when a local Ack fails, DrainOnce stops with the
// error; nothing is lost — the unacknowledged entries stay in the outbox, are resent
// by the next drain and counted as duplicates, and HQ holds every record once.
func TestAckFailureStopsPipelinedDrain(t *testing.T) {
	h := hqtest.Start(t, api.Options{}, "S001")
	ob := openOutbox(t)
	addVisits(t, ob, "f", 500, nil)
	slow := &slowAckOutbox{OutboxPeekAfter: ob, Outbox: ob, failAt: 2}
	d := newDrainer(slow, h.URL, h.Tokens["S001"], func(c *drain.Config) { c.MaxRecords = 100 })
	res, err := d.DrainOnce(context.Background())
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("DrainOnce = %+v, %v; want the ack error", res, err)
	}
	if res.Sent != 100 || res.Batches != 1 {
		t.Fatalf("first drain counted %+v; only the first batch was acknowledged locally", res)
	}
	pending := stats(t, ob).Pending
	if pending != 400 {
		t.Fatalf("%d pending after the failed ack, want 400", pending)
	}
	atHQ := visitsAtHQ(t, h)
	if atHQ < 200 || atHQ > 300 {
		t.Fatalf("HQ has %d visits: want batches 1-2 (and at most the one posted during the failing ack)", atHQ)
	}
	res, err = d.DrainOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 400 || res.Duplicates != atHQ-100 || res.Accepted != 500-atHQ {
		t.Fatalf("second drain %+v with %d at HQ before", res, atHQ)
	}
	if n := visitsAtHQ(t, h); n != 500 {
		t.Fatalf("HQ has %d visits, want 500", n)
	}
	if s := stats(t, ob); s.Pending != 0 {
		t.Fatalf("outbox after drain: %+v", s)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
