package counter

import (
	"context"
	"time"

	"github.com/pharmachain/counter/sync/wire"
)

// HQState is what the banner says about HQ.
type HQState int

// HQ states.
const (
	HQNone    HQState = iota // no HQ configured
	HQOnline                 // answered last time (or not asked yet)
	HQOffline                // did not answer last time
)

// Status is the banner's content: store, pharmacist, device, HQ and the outbox.
type Status struct {
	StoreID    string
	Pharmacist string // name; "" when nobody is signed in
	Device     string // devices.State*; "" when no reader reported
	DeviceErr  any    // why the device is not connected (*devices.Problem or text)
	HQ         HQState
	Outbox     wire.OutboxStats
}

// Warn reports whether the banner should stand out: records waiting, HQ offline or
// records HQ refused.
func (s Status) Warn() bool {
	return s.Outbox.Pending > 0 || s.HQ == HQOffline || s.Outbox.Rejected > 0
}

// Status is the banner's content now.
func (c *Core) Status() Status {
	s := Status{StoreID: c.cfg.StoreID, Device: c.device, Outbox: c.stats}
	if c.pharmacist != nil {
		s.Pharmacist = c.pharmacist.Name
	}
	if c.deviceProb != nil {
		s.DeviceErr = c.deviceProb
	} else if c.deviceErr != "" {
		s.DeviceErr = c.deviceErr
	}
	switch {
	case c.deps.HQ == nil:
		s.HQ = HQNone
	case c.hqChecked && !c.hqOnline:
		s.HQ = HQOffline
	default:
		s.HQ = HQOnline
	}
	return s
}

// refreshStats reads the outbox backlog and last sync from the store.
func (c *Core) refreshStats() {
	st, err := c.deps.Store.Stats(c.ctx)
	if err != nil {
		c.log.Warn("outbox stats", "err", err)
		return
	}
	c.stats = st
}

// OutboxChanged re-reads the outbox numbers for the banner (the drainer just drained).
func (c *Core) OutboxChanged() {
	old := c.stats
	c.refreshStats()
	if c.stats.Pending != old.Pending || c.stats.Rejected != old.Rejected || !c.stats.LastSync.Equal(old.LastSync) {
		c.changed()
	}
}

// TickEvery is how often the app calls Tick.
const TickEvery = 2 * time.Second

// rosterEvery: every 15 ticks (30 s) a sync cycle pulls the roster, points and
// content pack again (roster changes, points earned by follow-up clicks, a pack HQ
// assigned).
const rosterEvery = 15

// SyncEvery is the sync cycle: how often the roster, points and content pack are
// pulled from HQ.
const SyncEvery = rosterEvery * TickEvery

// Tick runs the periodic checks: idle lock, visits left open by a crash that nobody
// resumed, the banner's outbox numbers and, every SyncEvery, the sync cycle (SyncHQ).
func (c *Core) Tick() {
	c.ticks++
	c.CheckIdle()
	c.expireResumable()
	c.OutboxChanged()
	if c.ticks%rosterEvery == 0 {
		c.SyncHQ()
	}
}

// Run posts Tick every TickEvery until ctx ends or the core is closed.
func (c *Core) Run(ctx context.Context) {
	t := time.NewTicker(TickEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.ctx.Done():
			return
		case <-t.C:
			c.post(c.Tick)
		}
	}
}

// pullRoster refreshes the cached roster and points from HQ in the background.
func (c *Core) pullRoster() {
	if c.deps.HQ == nil {
		return
	}
	hq, st, storeID, log := c.deps.HQ, c.deps.Store, c.cfg.StoreID, c.log
	go func() {
		ctx, cancel := context.WithTimeout(c.ctx, HQBudget)
		defer cancel()
		r, err := hq.Roster(ctx)
		if err == nil {
			err = st.PutRoster(storeID, r.Pharmacists)
		}
		if err == nil {
			p, perr := hq.Points(ctx)
			if perr == nil {
				perr = st.PutPoints(p.Rows)
			}
			if perr != nil { // the roster came: HQ is up; the points wait for the next pull
				log.Info("points pull", "err", perr)
			}
		}
		if err != nil {
			log.Info("roster pull", "err", err)
		}
		c.post(func() {
			c.hqChecked, c.hqOnline = true, err == nil
			c.changed()
		})
	}()
}

// DeviceState is the reader's state (devices.State*; "" when none reported).
func (c *Core) DeviceState() string { return c.device }
