package kiosk

import (
	"fmt"
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/counter"
)

// managerScreen renders counter.ManagerPage: the rate table, the funnel and the
// self-check list on the left, the trend and the heat map on the right (charts.go), or
// a list of stalled visits when one is open.
type managerScreen struct {
	u *UI
	p *counter.ManagerPage
}

func (s *managerScreen) build() fyne.CanvasObject {
	if s.p.Drill != nil {
		return s.drillList()
	}
	r := s.p.Report
	periodBtns := []fyne.CanvasObject{}
	for i, p := range counter.Periods() {
		periodBtns = append(periodBtns, s.u.option(i+1, lang.L("period."+p), p == s.p.Period, s.u.press(rune('1'+i))))
	}
	head := container.NewVBox(title(lang.L("manager.title")), container.NewGridWithColumns(3, periodBtns...))
	grid := []fyne.CanvasObject{text(lang.L("manager.pharmacist"), 1, true),
		text(lang.L("period.today"), 1, true), text(lang.L("period.week"), 1, true), text(lang.L("period.month"), 1, true)}
	cell := func(ro flows.Rollup) fyne.CanvasObject {
		if ro.Visits == 0 {
			return text("—", 1, false)
		}
		return text(fmt.Sprintf("%.0f  (%d/%d)", ro.Rate(), ro.Completed, ro.Visits), 1, false)
	}
	for _, pr := range r.Pharmacists {
		grid = append(grid, text(pr.Name, 1, false), cell(pr.Today), cell(pr.Week), cell(pr.Month))
	}
	grid = append(grid, text(lang.L("manager.all"), 1, true), cell(r.Total[counter.PeriodToday]),
		cell(r.Total[counter.PeriodWeek]), cell(r.Total[counter.PeriodMonth]))
	table := container.NewVBox(text(lang.L("manager.rate_title"), 1.1, true), container.NewGridWithColumns(4, grid...))
	left := container.NewVBox(table, widget.NewSeparator(), s.funnel(), widget.NewSeparator(), s.selfCheck())
	right := container.NewVBox(s.trend(), widget.NewSeparator(), s.heatmap())
	body := container.NewVBox(container.NewGridWithColumns(2, left, right))
	if eb := s.effectBox(); eb != nil { // the whole width: its lines are longer than a column
		body.Add(widget.NewSeparator())
		body.Add(eb)
	}
	return container.NewBorder(head, nil, nil, nil, container.NewVScroll(body))
}

// selfCheck lists the self-check items with a pass/fail label each; the last one is
// the reach measured on this view's own navigation.
func (s *managerScreen) selfCheck() fyne.CanvasObject {
	c := s.p.Report.Check
	rows := []fyne.CanvasObject{text(lang.L("manager.selfcheck"), 1.1, true)}
	add := func(ok bool, line string) {
		mark := "✓ " + lang.L("check.pass")
		if !ok {
			mark = "× " + lang.L("check.fail")
		}
		t := text(mark+"  "+line, 0.9, false)
		if !ok {
			t.Color = color.NRGBA{0xb0, 0x1e, 0x1e, 0xff}
		}
		rows = append(rows, t)
	}
	add(c.Visits == 0 || c.Verifiable == c.Visits, lang.L("check.verifiable", map[string]any{
		"Share": fmt.Sprintf("%.0f", c.VerifiableShare), "N": c.Verifiable, "Of": c.Visits}))
	add(c.Overdue == 0, lang.L("check.overdue", map[string]any{"N": c.Overdue}))
	add(c.AvgWithinTarget, lang.L("check.avg_time", map[string]any{"Secs": fmt.Sprintf("%.0f", c.AvgVisitSeconds), "Target": counter.TargetVisitSeconds}))
	rc := s.p.Reach
	add(rc.OK(), lang.L("check.drill", map[string]any{"Max": rc.Max, "Limit": counter.MaxReachClicks, "N": rc.Visits}))
	if rc.Unreachable > 0 {
		add(false, lang.L("check.drill_missed", map[string]any{"Missed": rc.Unreachable, "Limit": counter.MaxReachClicks}))
	}
	return container.NewVBox(rows...)
}

// drillList lists the stalled visits of the open list with the step each is missing.
func (s *managerScreen) drillList() fyne.CanvasObject {
	rows := []fyne.CanvasObject{title(lang.L("drill.title"))}
	list, more := counter.DrillList(s.p.Report, *s.p.Drill)
	for _, row := range list {
		v := row.Visit
		rows = append(rows, text(fmt.Sprintf("%s  %s  %s  %s  → %s", v.StartedAt.In(flows.Shanghai()).Format("01-02 15:04"),
			v.PharmacistID, v.CustomerMasked, lang.L("summary.outcome."+v.Outcome),
			lang.L("drill.missing", map[string]any{"Step": lang.L(fmt.Sprintf("step.%d", row.Missing))})), 0.9, false))
	}
	if more > 0 {
		rows = append(rows, text(lang.L("drill.more", map[string]any{"N": more}), 0.9, true))
	}
	if len(list) == 0 {
		rows = append(rows, text(lang.L("drill.none"), 1, false))
	}
	return container.NewVScroll(container.NewVBox(rows...))
}

func (s *managerScreen) hints() []hint {
	if s.p.Drill != nil {
		return []hint{{"Backspace", lang.L("key.back")}}
	}
	return []hint{{"1–3", lang.L("key.period")}, {"4", lang.L("key.export")}, {"5", lang.L("key.drill")},
		{"6", lang.L("key.add_pharmacist")}, {"7", lang.L("waiting.settings")}, {"8", lang.L("key.quit")}, {"Backspace", lang.L("key.back")}}
}
