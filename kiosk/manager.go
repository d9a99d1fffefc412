package kiosk

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/store"
)

// managerScreen (manager PIN): completion per 100 visits today / this week / this month
// per pharmacist, the step funnel, the pharmacist × step heat map of where visits stall,
// the 30-day trend, the live self-check list and CSV export. 1–3 choose the period,
// 4 exports CSV, 5 lists the stalled visits (drill-down), 6 adds a pharmacist,
// 7 opens the settings, 8 closes the app (the only way out in --fullscreen).
type managerScreen struct {
	u      *UI
	back   screen
	period string
	drill  *drillFilter // non-nil: showing the stalled-visit list
	report Report
}

type drillFilter struct {
	pharmacist string // "" all
	step       int    // 0 all
}

func newManager(u *UI, back screen) *managerScreen {
	s := &managerScreen{u: u, back: back, period: PeriodMonth}
	s.load()
	return s
}

// load reads the visits and computes the report.
func (s *managerScreen) load() {
	u := s.u
	asOf := flows.DayOf(u.now())
	vs, err := u.deps.Store.Visits(u.ctx, ReportFrom(asOf), asOf)
	if err != nil {
		u.log.Warn("manager visits", "err", err)
	}
	names := map[string]string{}
	for _, p := range u.roster() {
		names[p.ID] = p.Name
	}
	synced := func(id string) bool {
		st, err := u.deps.Store.VisitSync(u.ctx, id)
		return err == nil && st == store.VisitSynced
	}
	s.report = BuildReport(vs, names, asOf, u.now(), s.period, synced)
	u.fetchEffect()
}

func (s *managerScreen) build() fyne.CanvasObject {
	if s.drill != nil {
		return s.buildDrill()
	}
	r := s.report
	periodBtns := []fyne.CanvasObject{}
	for i, p := range Periods {
		n := i + 1
		periodBtns = append(periodBtns, s.u.option(n, lang.L("period."+p), p == s.period, func() { s.onRune(rune('0' + n)) }))
	}
	head := container.NewVBox(title(lang.L("manager.title")), container.NewGridWithColumns(3, periodBtns...))

	// Completion per pharmacist: today / week / month.
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
	grid = append(grid, text(lang.L("manager.all"), 1, true), cell(r.Total[PeriodToday]), cell(r.Total[PeriodWeek]), cell(r.Total[PeriodMonth]))
	table := container.NewVBox(text(lang.L("manager.rate_title"), 1.1, true), container.NewGridWithColumns(4, grid...))

	left := container.NewVBox(table, widget.NewSeparator(), s.funnel(), widget.NewSeparator(), s.selfCheck())
	if eb := s.effectBox(); eb != nil {
		left.Add(widget.NewSeparator())
		left.Add(eb)
	}
	right := container.NewVBox(s.trend(), widget.NewSeparator(), s.heatmap())
	body := container.NewGridWithColumns(2, left, right)
	return container.NewBorder(head, nil, nil, nil, container.NewVScroll(body))
}

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
	tot := s.report.Total[s.period]
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
	return container.NewVBox(text(lang.L("manager.funnel", map[string]any{"Period": lang.L("period." + s.period)}), 1.1, true), fixed(w, y, objs...))
}

// heatmap draws pharmacist × step: how many of the period's visits stalled before each
// step (darker = more). A tap on a cell drills down to those visits.
func (s *managerScreen) heatmap() fyne.CanvasObject {
	r := s.report
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
			tap := s.u.button("", func() { s.openDrill(&drillFilter{pharmacist: pid, step: step}) })
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

func (s *managerScreen) rollup(pr PharmacistRow) flows.Rollup {
	switch s.period {
	case PeriodToday:
		return pr.Today
	case PeriodWeek:
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
	pts := s.report.Trend
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

// selfCheck lists the seed's self-check items with a pass/fail label each.
func (s *managerScreen) selfCheck() fyne.CanvasObject {
	c := s.report.Check
	mark := func(ok bool) string {
		if ok {
			return "✓ " + lang.L("check.pass")
		}
		return "× " + lang.L("check.fail")
	}
	rows := []fyne.CanvasObject{text(lang.L("manager.selfcheck"), 1.1, true)}
	add := func(ok bool, s string) {
		t := text(mark(ok)+"  "+s, 0.9, false)
		if !ok {
			t.Color = color.NRGBA{0xb0, 0x1e, 0x1e, 0xff}
		}
		rows = append(rows, t)
	}
	add(c.Visits == 0 || c.Verifiable == c.Visits, lang.L("check.verifiable", map[string]any{
		"Share": fmt.Sprintf("%.0f", c.VerifiableShare), "N": c.Verifiable, "Of": c.Visits}))
	add(c.Overdue == 0, lang.L("check.overdue", map[string]any{"N": c.Overdue}))
	add(c.AvgWithinTarget, lang.L("check.avg_time", map[string]any{"Secs": fmt.Sprintf("%.0f", c.AvgVisitSeconds), "Target": TargetVisitSeconds}))
	add(c.DrillWithinLimit, lang.L("check.drill", map[string]any{"N": c.DrillClicks}))
	return container.NewVBox(rows...)
}

func (s *managerScreen) openDrill(f *drillFilter) {
	s.drill = f
	s.u.refresh()
}

// buildDrill lists the period's stalled visits with the step each is missing.
func (s *managerScreen) buildDrill() fyne.CanvasObject {
	rows := []fyne.CanvasObject{title(lang.L("drill.title"))}
	n := 0
	for _, v := range s.report.Stalled {
		next := flows.StepsDone(v) + 1
		if s.drill.pharmacist != "" && v.PharmacistID != s.drill.pharmacist {
			continue
		}
		if s.drill.step != 0 && next != s.drill.step {
			continue
		}
		n++
		if n > 40 {
			break
		}
		outcome := lang.L("summary.outcome." + v.Outcome)
		rows = append(rows, text(fmt.Sprintf("%s  %s  %s  %s  → %s", v.StartedAt.In(flows.Shanghai()).Format("01-02 15:04"),
			v.PharmacistID, v.CustomerMasked, outcome, lang.L("drill.missing", map[string]any{"Step": lang.L(fmt.Sprintf("step.%d", next))})), 0.9, false))
	}
	if n == 0 {
		rows = append(rows, text(lang.L("drill.none"), 1, false))
	}
	return container.NewVScroll(container.NewVBox(rows...))
}

func (s *managerScreen) hints() []hint {
	if s.drill != nil {
		return []hint{{"Backspace", lang.L("key.back")}}
	}
	return []hint{{"1–3", lang.L("key.period")}, {"4", lang.L("key.export")}, {"5", lang.L("key.drill")},
		{"6", lang.L("key.add_pharmacist")}, {"7", lang.L("waiting.settings")}, {"8", lang.L("key.quit")}, {"Backspace", lang.L("key.back")}}
}

func (s *managerScreen) onRune(r rune) bool {
	if s.drill != nil {
		return false
	}
	u := s.u
	switch r {
	case '1', '2', '3':
		s.period = Periods[r-'1']
		s.load()
		u.refresh()
	case '4':
		path, err := s.export()
		if err != nil {
			u.say(true, "%s", lang.L("manager.export_failed", map[string]any{"Err": err.Error()}))
		} else {
			u.say(false, "%s", lang.L("manager.exported", map[string]any{"Path": path}))
		}
	case '5':
		s.openDrill(&drillFilter{})
	case '6':
		u.show(newAddPharmacist(u, s))
	case '7':
		u.show(newSettings(u, s))
	case '8':
		if u.deps.Quit != nil {
			u.abandon(abandonPharmacist)
			u.deps.Quit()
		}
	default:
		return false
	}
	return true
}

func (s *managerScreen) onKey(k fyne.KeyName) bool {
	if k != fyne.KeyBackspace && k != fyne.KeyEscape {
		return false
	}
	if s.drill != nil {
		s.drill = nil
		s.u.refresh()
		return true
	}
	s.u.message = ""
	if w, ok := s.back.(*waitingScreen); ok {
		s.u.show(w)
	} else if s.u.pharmacist != nil {
		s.u.show(newWaiting(s.u))
	} else {
		s.u.show(newSignIn(s.u))
	}
	return true
}

// export writes the report CSV into <data>/exports and returns its path.
func (s *managerScreen) export() (string, error) {
	dir := filepath.Join(s.u.cfg.DataDir, "exports")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("export dir: %w", err)
	}
	path := filepath.Join(dir, "completion-"+s.u.now().In(flows.Shanghai()).Format("20060102-150405")+".csv")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return "", fmt.Errorf("export: %w", err)
	}
	if err := s.report.WriteCSV(f); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("export: %w", err)
	}
	return path, nil
}
