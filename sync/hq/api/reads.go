package api

import (
	"context"
	"sync"
	"time"

	"github.com/pharmachain/counter/sync/hq"
)

// History reads are audited — which store (or admin) read which customer's chain-wide
// history, when (hq.ReadLogStore) — without slowing the read, which is on the kiosk's
// 800 ms path: each read is appended to a bounded in-memory queue, and Run writes the
// queue in one commit every FlushEvery (and at shutdown). What a crash loses: the reads
// of the last FlushEvery (at most 5 s). A full queue (maxPendingReads between two
// flushes — far beyond the chain's read rate) drops further reads from the log, counts
// them (hq_history_reads_unlogged_total) and warns; the read itself is always served.
const maxPendingReads = 20000

type readQueue struct {
	mu      sync.Mutex
	pending []hq.HistoryRead
	dropped int
}

func (q *readQueue) note(r hq.HistoryRead) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) >= maxPendingReads {
		q.dropped++
		return false
	}
	q.pending = append(q.pending, r)
	return true
}

func (q *readQueue) take() ([]hq.HistoryRead, int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	out, dropped := q.pending, q.dropped
	q.pending, q.dropped = nil, 0
	return out, dropped
}

// noteRead queues a history read of key by p.
func (s *Server) noteRead(p hq.Principal, key string, at time.Time) {
	r := hq.HistoryRead{At: at, CustomerKey: key, Reader: "store:" + p.StoreID, StoreID: p.StoreID}
	if p.Admin {
		r.Reader, r.StoreID = "admin", ""
		if p.Label != "" {
			r.Reader = "admin:" + p.Label
		}
	}
	if !s.reads.note(r) {
		s.metrics.unlogged.Inc()
	}
}

// flushReads writes the queued reads in one commit.
func (s *Server) flushReads(ctx context.Context) error {
	reads, dropped := s.reads.take()
	if dropped > 0 {
		s.log.Warn("history reads not logged: the queue was full between two flushes", "dropped", dropped)
	}
	if err := s.st.LogReads(ctx, reads); err != nil {
		s.log.Error("log history reads", "reads", len(reads), "err", err)
		s.metrics.unlogged.Add(float64(len(reads)))
		return err
	}
	return nil
}
