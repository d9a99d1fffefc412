package counter

import (
	"context"
	"sort"

	"github.com/pharmachain/counter/flows"
)

// history is the outcome of loadHistory.
type history struct {
	analysis flows.Analysis
	offline  bool
	hqErr    string
}

// loadHistoryAsync loads the customer's history off the core's goroutine and hands it to
// visit vid's step 1, unless that visit was left meanwhile.
func (c *Core) loadHistoryAsync(vid, key string, asOf flows.Day) {
	cat := c.vs.Content.Data.Catalog
	load := func() history { return c.loadHistory(key, asOf, cat) }
	done := func(h history) {
		if c.visit == nil || c.visit.ID != vid {
			return // the visit was abandoned meanwhile
		}
		c.log.Debug("history loaded", "offline", h.offline)
		c.vs.Loading, c.vs.Analysis, c.vs.Offline, c.vs.HQErr = false, h.analysis, h.offline, h.hqErr
		c.hqChecked, c.hqOnline = c.deps.HQ != nil, !h.offline
		c.changed()
	}
	if c.deps.Post == nil { // no HQ: the local store answers at once
		done(load())
		return
	}
	go func() {
		h := load()
		c.post(func() { done(h) })
	}()
}

// loadHistory asks HQ (≤ HQBudget) and merges the answer with the local store; without
// HQ it uses the local store only (offline). Purchases learned from HQ are cached
// locally. It may run off the core's goroutine: it touches only the store and HQ.
func (c *Core) loadHistory(key string, asOf flows.Day, cat *flows.Catalog) history {
	opt := flows.DefaultAdherenceOptions()
	from, _ := flows.HistoryRange(asOf, opt)
	local, err := c.deps.Store.History(c.ctx, key, from, asOf)
	if err != nil {
		c.log.Warn("local history", "err", err)
	}
	h := history{offline: true}
	byID := map[string]flows.Purchase{}
	for _, p := range local {
		byID[p.ID] = p
	}
	if c.deps.HQ != nil {
		ctx, cancel := context.WithTimeout(c.ctx, HQBudget)
		resp, err := c.deps.HQ.History(ctx, key, opt.LookbackDays, asOf) // HQ adds the carry-in horizon
		cancel()
		if err != nil {
			h.hqErr = err.Error()
			c.log.Info("HQ history unavailable, using this store's records", "err", err)
		} else {
			h.offline = false
			var learn []flows.Purchase
			for _, p := range resp.Purchases {
				if _, ok := byID[p.ID]; !ok {
					learn = append(learn, p)
				}
				byID[p.ID] = p
			}
			if len(learn) > 0 {
				if _, _, err := c.deps.Store.PutPurchases(c.ctx, learn); err != nil {
					c.log.Warn("cache HQ purchases", "err", err)
				}
			}
		}
	}
	all := make([]flows.Purchase, 0, len(byID))
	for _, p := range byID {
		all = append(all, p)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].SoldAt.Before(all[j].SoldAt) })
	h.analysis = flows.Analyze(all, cat, asOf, opt)
	return h
}
