package counter

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/store"
)

// ManagerPage (manager PIN): completion per 100 visits per pharmacist, the step funnel,
// the pharmacist × step heat map, the 30-day trend, the self-check list, the store's
// effect report from HQ (Core.Effect) and CSV export.
// 1–3 choose the period, 4 exports CSV, 5 lists the stalled visits, a heat-map cell
// (DrillCell) lists that pharmacist's visits stalled before that step, 6 adds a
// pharmacist, 7 opens the settings, 8 closes the app, Backspace goes back.
type ManagerPage struct {
	ManagerView
	Report Report // of the period shown
	// Reach is how many of this view's own actions it takes to list any stalled visit
	// with its missing step, measured over the view's navigation (MeasureReach).
	Reach   Reach
	reports map[string]Report // every period's report
	back    Page
}

// ManagerView is where the manager view stands: the period shown and, when a list of
// stalled visits is open, its filter.
type ManagerView struct {
	Period string
	Drill  *DrillFilter
}

// DrillFilter selects the stalled visits listed: one pharmacist's (or all, "") stalled
// before one step (or any, 0).
type DrillFilter struct {
	Pharmacist string
	Step       int
}

// Screen implements Page.
func (*ManagerPage) Screen() Screen { return ScreenManager }

// showManager opens the manager view on this month.
func (c *Core) showManager(back Page) {
	p := &ManagerPage{ManagerView: ManagerView{Period: PeriodMonth}, back: back}
	c.loadReports(p)
	c.fetchEffect() // the effect report's lines (Core.Effect) arrive when HQ answers
	c.show(p)
}

// loadReports reads the visits and computes every period's report and the reach.
func (c *Core) loadReports(p *ManagerPage) {
	asOf := flows.DayOf(c.now())
	vs, err := c.deps.Store.Visits(c.ctx, ReportFrom(asOf), asOf)
	if err != nil {
		c.log.Warn("manager visits", "err", err)
	}
	names := map[string]string{}
	for _, ph := range c.Roster() {
		names[ph.ID] = ph.Name
	}
	synced := func(id string) bool {
		st, err := c.deps.Store.VisitSync(c.ctx, id)
		return err == nil && st == store.VisitSynced
	}
	p.reports = map[string]Report{}
	for _, period := range Periods() {
		p.reports[period] = BuildReport(vs, names, asOf, c.now(), period, synced)
	}
	p.Report = p.reports[p.Period]
	p.Reach = MeasureReach(p.reports, MaxReachClicks)
}

// The manager view's actions: keys 1–3 and 5, and a tap on a heat-map cell.
type managerAction struct {
	period string       // choose this period
	drill  *DrillFilter // open this list
	close  bool         // Backspace on a list
}

// next is where an action leads: the one transition function of the view, used by its
// keys and taps and by MeasureReach.
func (v ManagerView) next(a managerAction) ManagerView {
	switch {
	case a.close:
		v.Drill = nil
	case a.period != "":
		v.Period, v.Drill = a.period, nil
	case a.drill != nil:
		d := *a.drill
		v.Drill = &d
	}
	return v
}

// actions are what the view offers where it stands: periods and "all stalled" on the
// overview, a cell per pharmacist and step of the heat map, Backspace on a list.
func (v ManagerView) actions(r Report) []managerAction {
	if v.Drill != nil {
		return []managerAction{{close: true}}
	}
	out := []managerAction{}
	for _, period := range Periods() {
		out = append(out, managerAction{period: period})
	}
	out = append(out, managerAction{drill: &DrillFilter{}})
	for _, pr := range r.Pharmacists {
		for step := 1; step <= 4; step++ {
			out = append(out, managerAction{drill: &DrillFilter{Pharmacist: pr.ID, Step: step}})
		}
	}
	return out
}

func (c *Core) managerAct(p *ManagerPage, a managerAction) {
	v := p.next(a)
	if v.Period != p.Period {
		p.Report = p.reports[v.Period]
	}
	p.ManagerView = v
	c.changed()
}

// DrillCell opens the list of a heat-map cell (a tap on it).
func (c *Core) DrillCell(pharmacist string, step int) {
	if p, ok := c.page.(*ManagerPage); ok && p.Drill == nil {
		c.managerAct(p, managerAction{drill: &DrillFilter{Pharmacist: pharmacist, Step: step}})
	}
}

func (p *ManagerPage) rune(c *Core, r rune) bool {
	if p.Drill != nil {
		return false
	}
	switch r {
	case '1', '2', '3':
		c.managerAct(p, managerAction{period: Periods()[r-'1']})
	case '4':
		path, err := c.exportReport(p.Report)
		if err != nil {
			c.say(true, "manager.export_failed", map[string]any{"Err": err.Error()})
		} else {
			c.say(false, "manager.exported", map[string]any{"Path": path})
		}
	case '5':
		c.managerAct(p, managerAction{drill: &DrillFilter{}})
	case '6':
		c.show(&AddPharmacistPage{back: p})
	case '7':
		c.show(&SettingsPage{back: p})
	case '8':
		if c.deps.Quit != nil {
			c.abandon(AbandonPharmacist)
			c.deps.Quit()
		}
	default:
		return false
	}
	return true
}

func (p *ManagerPage) key(c *Core, k Key) bool {
	if k != KeyBackspace && k != KeyEscape {
		return false
	}
	if p.Drill != nil {
		c.managerAct(p, managerAction{close: true})
		return true
	}
	c.clearMessage()
	switch {
	case p.back != nil && p.back.Screen() == ScreenWaiting:
		c.show(p.back)
	case c.pharmacist != nil:
		c.show(&WaitingPage{})
	default:
		c.show(&SignInPage{})
	}
	return true
}

// exportReport writes the report CSV into <data>/exports and returns its path.
func (c *Core) exportReport(r Report) (string, error) {
	dir := filepath.Join(c.cfg.DataDir, "exports")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("export dir: %w", err)
	}
	path := filepath.Join(dir, "completion-"+c.now().In(flows.Shanghai()).Format("20060102-150405")+".csv")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return "", fmt.Errorf("export: %w", err)
	}
	if err := r.WriteCSV(f); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("export: %w", err)
	}
	return path, nil
}
