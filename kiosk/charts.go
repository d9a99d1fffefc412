package kiosk

import (
	"fmt"
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/counter"
)

// The manager view's charts: the step funnel, the pharmacist × step heat map and the
// 30-day trend, drawn with canvas primitives at fixed sizes.

// fixed is a container of a fixed minimum size whose children are placed absolutely.
func fixed(w, h float32, objs ...fyne.CanvasObject) fyne.CanvasObject {
	sizer := canvas.NewRectangle(color.Transparent)
	sizer.SetMinSize(fyne.NewSize(w, h))
	return container.NewStack(sizer, container.NewWithoutLayout(objs...))
}

func place(o fyne.CanvasObject, x, y, w, h float32) fyne.CanvasObject {
	o.Move(fyne.NewPos(x, y))
	o.Resize(fyne.NewSize(w, h))
	return o
}

func placeText(t *canvas.Text, x, y float32) fyne.CanvasObject {
	t.Move(fyne.NewPos(x, y))
	t.Resize(t.MinSize())
	return t
}

// funnel draws the step funnel of the selected period as horizontal bars.
func (s *managerScreen) funnel() fyne.CanvasObject {
	u := s.u
	tot := s.p.Report.Total[s.p.Period]
	const w, barH, labelW = 560, 28, 150
	objs := []fyne.CanvasObject{}
	max := float32(tot.Visits)
	if max == 0 {
		max = 1
	}
	y := float32(0)
	rows := []struct {
		label string
		n     int
	}{{lang.L("manager.visits"), tot.Visits}}
	for i := 0; i < 4; i++ {
		rows = append(rows, struct {
			label string
			n     int
		}{lang.L(fmt.Sprintf("step.%d", i+1)), tot.Funnel[i]})
	}
	for _, row := range rows {
		objs = append(objs, placeText(text(row.label, 0.9, false), 0, y+2))
		bw := (w - labelW - 110) * float32(row.n) / max
		bar := canvas.NewRectangle(u.th.Color(theme.ColorNamePrimary, 0))
		objs = append(objs, place(bar, labelW, y+2, bw, barH-6))
		pct := 0.0
		if tot.Visits > 0 {
			pct = float64(row.n) * 100 / float64(tot.Visits)
		}
		objs = append(objs, placeText(text(fmt.Sprintf("%d (%.0f%%)", row.n, pct), 0.85, true), labelW+bw+6, y+2))
		y += barH
	}
	return container.NewVBox(text(lang.L("manager.funnel", map[string]any{"Period": lang.L("period." + s.p.Period)}), 1.1, true), fixed(w, y, objs...))
}

// heatmap draws pharmacist × step: how many of the period's visits stalled before each
// step (darker = more). A tap on a cell drills down to those visits.
func (s *managerScreen) heatmap() fyne.CanvasObject {
	r := s.p.Report
	const nameW, cellW, cellH = 150, 100, 34
	objs := []fyne.CanvasObject{}
	for i := 0; i < 4; i++ {
		objs = append(objs, placeText(text(lang.L(fmt.Sprintf("step.%d", i+1)), 0.8, true), nameW+float32(i)*cellW+4, 0))
	}
	maxN := 1
	for _, pr := range r.Pharmacists {
		ro := s.rollup(pr)
		for _, n := range ro.Stalled {
			maxN = max(maxN, n)
		}
	}
	y := float32(cellH)
	for _, pr := range r.Pharmacists {
		ro := s.rollup(pr)
		objs = append(objs, placeText(text(pr.Name, 0.9, false), 0, y+4))
		for i, n := range ro.Stalled {
			shade := float64(n) / float64(maxN)
			c := color.NRGBA{uint8(255 - 55*shade), uint8(245 - 200*shade), uint8(235 - 200*shade), 255}
			rect := canvas.NewRectangle(c)
			rect.StrokeColor = color.NRGBA{0xbb, 0xbb, 0xbb, 0xff}
			rect.StrokeWidth = 1
			objs = append(objs, place(rect, nameW+float32(i)*cellW, y, cellW-4, cellH-4))
			pid, step := pr.ID, i+1
			tap := s.u.button("", func() { s.u.c.DrillCell(pid, step) })
			tap.Importance = widget.LowImportance
			objs = append(objs, place(tap, nameW+float32(i)*cellW, y, cellW-4, cellH-4))
			t := text(fmt.Sprintf("%d", n), 1, true)
			if shade > 0.6 {
				t.Color = color.White
			}
			objs = append(objs, placeText(t, nameW+float32(i)*cellW+cellW/2-10, y+2))
		}
		y += cellH
	}
	return container.NewVBox(text(lang.L("manager.heatmap"), 1.1, true), fixed(nameW+4*cellW, y, objs...))
}

func (s *managerScreen) rollup(pr counter.PharmacistRow) flows.Rollup {
	switch s.p.Period {
	case counter.PeriodToday:
		return pr.Today
	case counter.PeriodWeek:
		return pr.Week
	}
	return pr.Month
}

// trend draws the completion rate per day over 30 days as a line chart with axes and a
// bar per day for the number of visits.
func (s *managerScreen) trend() fyne.CanvasObject {
	u := s.u
	const w, h, left, bottom, top = 560, 220, 44, 26, 10
	pw, ph := float32(w-left-10), float32(h-bottom-top)
	objs := []fyne.CanvasObject{}
	axis := color.NRGBA{0x44, 0x44, 0x44, 0xff}
	grid := color.NRGBA{0xdd, 0xdd, 0xdd, 0xff}
	for _, v := range []int{0, 50, 100} {
		y := top + ph - ph*float32(v)/100
		l := canvas.NewLine(grid)
		if v == 0 {
			l.StrokeColor = axis
		}
		l.StrokeWidth = 1
		l.Position1, l.Position2 = fyne.NewPos(left, y), fyne.NewPos(left+pw, y)
		objs = append(objs, l, placeText(text(fmt.Sprintf("%d", v), 0.7, false), 4, y-10))
	}
	pts := s.p.Report.Trend
	maxV := 1
	for _, p := range pts {
		maxV = max(maxV, p.Visits)
	}
	step := pw / float32(max(1, len(pts)-1))
	var prev *fyne.Position
	for i, p := range pts {
		x := left + step*float32(i)
		bh := ph * 0.35 * float32(p.Visits) / float32(maxV)
		bar := canvas.NewRectangle(color.NRGBA{0xb3, 0xd4, 0xf5, 0xff})
		objs = append(objs, place(bar, x-step*0.35, top+ph-bh, step*0.7, bh))
		if p.Visits == 0 {
			prev = nil
			continue
		}
		pos := fyne.NewPos(x, top+ph-ph*float32(p.Rate)/100)
		if prev != nil {
			l := canvas.NewLine(u.th.Color(theme.ColorNamePrimary, 0))
			l.StrokeWidth = 3
			l.Position1, l.Position2 = *prev, pos
			objs = append(objs, l)
		}
		dot := canvas.NewCircle(u.th.Color(theme.ColorNamePrimary, 0))
		objs = append(objs, place(dot, pos.X-4, pos.Y-4, 8, 8))
		prev = &pos
		if (len(pts)-1-i)%7 == 0 {
			t := p.Day.Time().Format("01-02")
			objs = append(objs, placeText(text(t, 0.7, false), x-20, top+ph+4))
		}
	}
	return container.NewVBox(text(lang.L("manager.trend"), 1.1, true), fixed(w, h, objs...),
		text(lang.L("manager.trend_legend"), 0.8, false))
}
