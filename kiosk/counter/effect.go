package counter

import (
	"context"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/effect"
	"github.com/pharmachain/counter/sync/wire"
)

// EffectHQ is an HQ that also serves the store's effect report (sync/hqclient does). The
// manager view shows one line per chronic class from it when HQ is reachable.
type EffectHQ interface {
	Effect(ctx context.Context, from, to flows.Day) (wire.EffectResponse, error)
}

// effectMaxAge: the manager view asks HQ again after this long.
const effectMaxAge = time.Hour

// effectState is the last effect report HQ gave the manager view.
type effectState struct {
	resp     *wire.EffectResponse
	at       time.Time
	fetching bool
}

// EffectPeriod is the latest year whose customers are all past their 90 days.
func EffectPeriod(today flows.Day) (from, to flows.Day) {
	to = today - effect.FollowUpDays + 1
	return to - 364, to
}

// Effect is the store's effect report as HQ last gave it (nil: none yet, or no HQ).
func (c *Core) Effect() *wire.EffectResponse { return c.effect.resp }

// fetchEffect asks HQ for the store's effect report in the background (unless a fresh
// one is at hand or a request runs); the view is redrawn when it arrives. The client's
// own budget bounds the request (the report takes longer than a history).
func (c *Core) fetchEffect() {
	hq, ok := c.deps.HQ.(EffectHQ)
	if !ok || c.effect.fetching || (c.effect.resp != nil && c.now().Sub(c.effect.at) < effectMaxAge) {
		return
	}
	c.effect.fetching = true
	from, to := EffectPeriod(flows.DayOf(c.now()))
	go func() {
		resp, err := hq.Effect(c.ctx, from, to)
		if err != nil {
			c.log.Info("effect report", "err", err)
		}
		c.post(func() {
			c.effect.fetching = false
			if err != nil {
				return
			}
			c.effect.resp, c.effect.at = &resp, c.now()
			c.changed()
		})
	}()
}
