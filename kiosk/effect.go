package kiosk

import (
	"context"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/effect"
	"github.com/pharmachain/counter/sync/hqclient"
	"github.com/pharmachain/counter/sync/wire"
)

// effectHQ is an HQ that serves the store's effect report (sync/hqclient does). The
// manager view shows one line per class from it when HQ is reachable.
type effectHQ interface {
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

// effectPeriod is the latest year whose customers are all past their 90 days.
func effectPeriod(today flows.Day) (from, to flows.Day) {
	to = today - effect.FollowUpDays + 1
	return to - 364, to
}

// fetchEffect asks HQ for the store's effect report in the background (unless a fresh
// one is at hand or a request runs) and redraws the manager view when it arrives.
func (u *UI) fetchEffect() {
	hq, ok := u.deps.HQ.(effectHQ)
	if !ok || u.deps.HQ == nil || u.effect.fetching || (u.effect.resp != nil && u.now().Sub(u.effect.at) < effectMaxAge) {
		return
	}
	u.effect.fetching = true
	from, to := effectPeriod(flows.DayOf(u.now()))
	go func() {
		ctx, cancel := context.WithTimeout(u.ctx, hqclient.EffectTimeout)
		defer cancel()
		resp, err := hq.Effect(ctx, from, to)
		if err != nil {
			u.log.Info("effect report", "err", err)
		}
		u.deps.Do(func() {
			u.effect.fetching = false
			if err != nil {
				return
			}
			u.effect.resp, u.effect.at = &resp, u.now()
			if _, onManager := u.cur.(*managerScreen); onManager {
				u.refresh()
			}
		})
	}()
}

// pp formats a PDC difference as signed whole percentage points ("+9", "−3").
func pp(x float64) string {
	v := x * 100
	if v < 0 {
		return fmt.Sprintf("−%.0f", -v)
	}
	return fmt.Sprintf("+%.0f", v)
}

// effectLines are the manager view's lines of the effect report: per class the
// served customers' 90-day coverage effect with its interval and n, or "not enough
// data". Nil without a report (HQ not reachable or not yet answered).
func (u *UI) effectLines() []string {
	r := u.effect.resp
	if r == nil {
		return nil
	}
	lines := []string{lang.L("manager.effect_title", map[string]any{"From": r.From.String(), "To": r.To.String()})}
	for _, c := range r.Classes {
		for _, o := range c.Outcomes {
			if o.Name != effect.OutcomePDC {
				continue
			}
			if o.Status == effect.StatusOK && o.Effect != nil {
				lines = append(lines, lang.L("manager.effect_line", map[string]any{"Class": u.className(c.Class),
					"Effect": pp(*o.Effect), "Low": pp(*o.Low), "High": pp(*o.High), "N": o.MatchedServed}))
			} else {
				lines = append(lines, lang.L("manager.effect_insufficient", map[string]any{"Class": u.className(c.Class), "N": o.MatchedServed}))
			}
		}
	}
	return lines
}

// effectBox is the manager view's effect section (nil without a report).
func (s *managerScreen) effectBox() fyne.CanvasObject {
	lines := s.u.effectLines()
	if lines == nil {
		return nil
	}
	objs := []fyne.CanvasObject{text(lines[0], 1.1, true)}
	for _, l := range lines[1:] {
		objs = append(objs, text(l, 0.95, false))
	}
	return container.NewVBox(objs...)
}
