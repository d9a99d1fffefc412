package kiosk

// The manager view's effect section: the store's effect report (counter.Core.Effect) as
// one line per chronic class.

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"

	"github.com/pharmachain/counter/flows/effect"
)

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
	r := u.c.Effect()
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
