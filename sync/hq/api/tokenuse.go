package api

import (
	"context"
	"sync"
	"time"

	"github.com/pharmachain/counter/sync/hq"
)

// Token uses (a token's last use, the addresses each store's token syncs from) are
// noted in memory on the request path and written in one commit every FlushEvery by
// Run — never a write, let alone an fsync, per request. A crash loses at most the last
// interval's uses (a token's "last used" is then a little older than the truth; a
// store's sync address is seen again on its next sync).

// maxPendingUses bounds the uses held between flushes (distinct token and address
// pairs): further pairs are dropped until the next flush (counted).
const maxPendingUses = 10000

type useKey struct{ hash, addr string }

type useTracker struct {
	mu      sync.Mutex
	pending map[useKey]time.Time
	dropped int
}

func newUseTracker() *useTracker { return &useTracker{pending: map[useKey]time.Time{}} }

func (u *useTracker) note(hash, addr string, at time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	k := useKey{hash, addr}
	if prev, ok := u.pending[k]; ok {
		if at.After(prev) {
			u.pending[k] = at
		}
		return
	}
	if len(u.pending) >= maxPendingUses {
		u.dropped++
		return
	}
	u.pending[k] = at
}

// take empties the tracker.
func (u *useTracker) take() ([]hq.TokenUse, int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]hq.TokenUse, 0, len(u.pending))
	for k, at := range u.pending {
		out = append(out, hq.TokenUse{Hash: k.hash, Addr: k.addr, At: at})
	}
	dropped := u.dropped
	u.pending, u.dropped = map[useKey]time.Time{}, 0
	return out, dropped
}

// FlushEvery is how often Run writes what the API noted (token uses, audited history
// reads).
const FlushEvery = 5 * time.Second

// Flush writes everything the API noted since the last flush: token uses and, through
// OnFlush, the other parts' queues (including counts of periods not yet ended). A
// failed write is logged and its uses are lost (they are not worth a retry storm).
func (s *Server) Flush(ctx context.Context) error { return s.flush(ctx, true) }

func (s *Server) flush(ctx context.Context, final bool) error {
	uses, dropped := s.uses.take()
	if dropped > 0 {
		s.log.Warn("token uses dropped: too many distinct tokens and addresses between flushes", "dropped", dropped)
	}
	var first error
	if err := s.st.NoteTokenUse(ctx, uses); err != nil {
		s.log.Error("note token use", "uses", len(uses), "err", err)
		first = err
	}
	if err := s.flushReads(ctx); err != nil && first == nil {
		first = err
	}
	for _, f := range s.flushers {
		if err := f(ctx, final); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Run flushes every FlushEvery until ctx ends, then once more (within 5 s).
func (s *Server) Run(ctx context.Context) {
	t := time.NewTicker(FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_ = s.flush(fctx, true)
			cancel()
			return
		case <-t.C:
			_ = s.flush(ctx, false)
		}
	}
}
