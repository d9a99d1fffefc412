package followup

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pharmachain/counter/sync/hq"
)

// Requests to the tracked link that change nothing — rejected (forged, invalid,
// expired token; over the rate limit) or repeated opens — are anyone's to send, as fast
// as they like: one fsync'ed audit entry each would let a script hammer HQ's disk. They
// are counted in memory instead and written as one audit entry per minute and action
// ("link.reject count=412 forged=400 expired=12", "link.repeat count=3"), by Flush (HQ
// calls it every few seconds with the API's other batched writes, and at shutdown). A
// crash loses at most the current minute's counts.

// linkCounts holds the counts of the minutes not yet written.
type linkCounts struct {
	mu sync.Mutex
	m  map[countKey]map[string]int // (minute, action) → reason → count
}

type countKey struct {
	minute time.Time
	action string
}

func (c *linkCounts) add(now time.Time, action, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[countKey]map[string]int{}
	}
	k := countKey{now.UTC().Truncate(time.Minute), action}
	if c.m[k] == nil {
		if len(c.m) >= 1000 { // a clock gone wild: keep memory bounded
			return
		}
		c.m[k] = map[string]int{}
	}
	c.m[k][reason]++
}

// take removes and returns the entries of the minutes before now's (all of them when
// final).
func (c *linkCounts) take(now time.Time, final bool) []hq.AuditEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := now.UTC().Truncate(time.Minute)
	var out []hq.AuditEntry
	keys := slices.SortedFunc(maps.Keys(c.m), func(a, b countKey) int {
		if d := a.minute.Compare(b.minute); d != 0 {
			return d
		}
		return strings.Compare(a.action, b.action)
	})
	for _, k := range keys {
		if !final && !k.minute.Before(cur) {
			continue
		}
		reasons := c.m[k]
		delete(c.m, k)
		total := 0
		var parts []string
		for _, r := range slices.Sorted(maps.Keys(reasons)) {
			total += reasons[r]
			parts = append(parts, fmt.Sprintf("%s=%d", r, reasons[r]))
		}
		out = append(out, hq.AuditEntry{At: k.minute.Add(time.Minute - time.Nanosecond), Actor: "customer-link", Action: k.action,
			Detail: fmt.Sprintf("minute=%s count=%d %s", k.minute.Format("2006-01-02T15:04Z"), total, strings.Join(parts, " "))})
	}
	return out
}

// FlushAudit writes the counted link requests of the minutes that ended (all, final) as
// one audit commit.
func (h *LinkHandlerT) FlushAudit(ctx context.Context, final bool) error {
	es := h.counts.take(h.cfg.Now(), final)
	if len(es) == 0 {
		return nil
	}
	if err := h.cfg.Store.Audit(ctx, es...); err != nil {
		h.cfg.Logger.Error("link audit", "entries", len(es), "err", err)
		return err
	}
	return nil
}
