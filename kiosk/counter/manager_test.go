package counter

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
)

// The manager view behind the manager PIN: periods, export, the lists and the measured
// reach of its indicators on the demo month.
func TestManagerView(t *testing.T) {
	r := newRig(t, rigOpts{})
	r.signIn(2, "2345") // 李娜, not a manager
	r.press("2")        // the manager view asks the manager's PIN
	if p, ok := r.c.Page().(*PINPage); !ok || p.Who.ID != "P01" {
		t.Fatalf("page %s, want 王芳's PIN", r.screen())
	}
	r.press("2345") // 李娜's PIN is not the manager's
	r.key(KeyEnter)
	if !r.c.Page().(*PINPage).Bad {
		t.Fatal("a wrong manager PIN was taken")
	}
	r.press("1234")
	r.key(KeyEnter)
	r.mustBe(ScreenManager)
	m := r.c.Page().(*ManagerPage)
	if m.Period != PeriodMonth || len(m.Report.Pharmacists) != 3 || m.Report.Pharmacists[0].Name != "王芳" {
		t.Fatalf("manager view: %s, %+v", m.Period, m.Report.Pharmacists)
	}
	if !m.Reach.OK() || m.Reach.Visits == 0 || m.Reach.Max != 1 {
		t.Fatalf("reach on the demo month %+v, want every stalled visit within 1 action", m.Reach)
	}
	r.press("1")
	if m.Period != PeriodToday {
		t.Fatalf("period %s after 1", m.Period)
	}
	r.press("3")
	r.press("4")
	if r.messageKey() != "manager.exported" {
		t.Fatalf("export: %q", r.messageKey())
	}
	files, _ := filepath.Glob(filepath.Join(r.dir, "exports", "*.csv"))
	if len(files) != 1 {
		t.Fatalf("exports %v", files)
	}
	b, _ := os.ReadFile(files[0])
	if !strings.HasPrefix(string(b), "as_of,period,pharmacist_id") || !strings.Contains(string(b), "month,P01,王芳") {
		t.Fatalf("CSV:\n%s", b)
	}
	r.c.DrillCell("P02", 3)
	rows, _ := DrillList(m.Report, *m.Drill)
	if len(rows) == 0 {
		t.Fatal("P02's cell before step 3 lists nothing on the demo month")
	}
	for _, row := range rows {
		if row.Visit.PharmacistID != "P02" || row.Missing != 3 {
			t.Fatalf("cell list has %s missing step %d", row.Visit.PharmacistID, row.Missing)
		}
	}
	r.key(KeyBackspace)
	if m.Drill != nil {
		t.Fatal("Backspace left the list open")
	}
	r.key(KeyBackspace)
	r.mustBe(ScreenWaiting)
}

// The reach is measured, not asserted: a cell with more stalled visits than a list
// shows leaves some out, and the check says so.
func TestManagerReachFailsWhenAListCannotShowAVisit(t *testing.T) {
	asOf := flows.DayOf(testNow)
	var vs []flows.Visit
	for i := 0; i < DrillRows+5; i++ {
		start := testNow.Add(-time.Duration(i) * time.Minute)
		v := flows.NewVisit(fmt.Sprintf("01REACH%019d", i), "S001", "P01", flows.Customer{Key: fmt.Sprintf("%032x", i+1)}, start)
		if err := flows.Abandon(&v, AbandonPharmacist, start.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	reports := map[string]Report{}
	for _, p := range Periods() {
		reports[p] = BuildReport(vs, nil, asOf, testNow, p, nil)
	}
	reach := MeasureReach(reports, MaxReachClicks)
	if reach.OK() || reach.Unreachable != 3*5 {
		t.Fatalf("reach %+v with %d stalled visits in one cell, want the 5 beyond the list unreachable in each period", reach, DrillRows+5)
	}
}
