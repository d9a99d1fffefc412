package counter

import (
	"bytes"
	"encoding/csv"
	"math"
	"testing"

	"github.com/pharmachain/counter/assets"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/counter/countertest"
)

func TestManagerReportKnownData(t *testing.T) {
	dom, err := flows.LoadData(assets.FS())
	if err != nil {
		t.Fatal(err)
	}
	vs := countertest.KnownVisits(t, dom, testNow)
	asOf := flows.DayOf(testNow)
	r := BuildReport(vs, map[string]string{"P01": "王芳", "P02": "李娜"}, asOf, testNow, PeriodMonth, func(string) bool { return false })
	near := func(got, want float64) bool { return math.Abs(got-want) < 0.01 }
	type want struct {
		visits, completed int
		rate              float64
	}
	for p, w := range map[string]want{PeriodToday: {3, 2, 66.67}, PeriodWeek: {4, 3, 75}, PeriodMonth: {6, 4, 66.67}} {
		got := r.Total[p]
		if got.Visits != w.visits || got.Completed != w.completed || !near(got.Rate(), w.rate) {
			t.Errorf("%s: %d visits %d complete %.2f, want %+v", p, got.Visits, got.Completed, got.Rate(), w)
		}
	}
	if len(r.Pharmacists) != 2 || r.Pharmacists[0].Name != "王芳" {
		t.Fatalf("pharmacists %+v", r.Pharmacists)
	}
	p1, p2 := r.Pharmacists[0], r.Pharmacists[1]
	if p1.Month.Visits != 4 || !near(p1.Month.Rate(), 75) || p1.Today.Visits != 3 || p2.Month.Visits != 2 || !near(p2.Month.Rate(), 50) || p2.Week.Visits != 0 {
		t.Errorf("per pharmacist: P01 %+v, P02 %+v", p1, p2)
	}
	// Heat map: P01 stalled once before step 3, P02 once before step 2.
	if p1.Month.Stalled != [4]int{0, 0, 1, 0} || p2.Month.Stalled != [4]int{0, 1, 0, 0} {
		t.Errorf("stalled P01 %v P02 %v", p1.Month.Stalled, p2.Month.Stalled)
	}
	if f := r.Total[PeriodMonth].Funnel; f != [4]int{6, 5, 4, 4} {
		t.Errorf("funnel %v, want [6 5 4 4]", f)
	}
	if len(r.Trend) != 30 || r.Trend[29].Visits != 3 || !near(r.Trend[29].Rate, 66.67) || r.Trend[2].Day != flows.DayFromDate(2026, 10, 30) || r.Trend[2].Visits != 1 {
		t.Errorf("trend ends %+v; 10-30: %+v", r.Trend[29], r.Trend[2])
	}
	c := r.Check
	if c.Visits != 6 || c.Verifiable != 6 || c.Overdue != 2 || !near(c.AvgVisitSeconds, 90) || !c.AvgWithinTarget {
		t.Errorf("self-check %+v", c)
	}
	if len(r.Stalled) != 2 {
		t.Errorf("stalled visits %d, want 2", len(r.Stalled))
	}
	reports := map[string]Report{}
	for _, p := range Periods() {
		reports[p] = BuildReport(vs, nil, asOf, testNow, p, nil)
	}
	// Every stalled visit (today's counts in today, the week and the month; 11-10's in the
	// month) is listed by one tap on its heat-map cell (or key 5).
	if reach := MeasureReach(reports, MaxReachClicks); !reach.OK() || reach.Max != 1 || reach.Visits != 4 {
		t.Errorf("reach %+v, want all 4 (period, visit) pairs in 1 action", reach)
	}
	var buf bytes.Buffer
	if err := r.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1+3*3 {
		t.Fatalf("%d CSV rows", len(recs))
	}
	found := false
	for _, rec := range recs {
		if rec[1] == PeriodMonth && rec[2] == "all" {
			found = rec[4] == "6" && rec[5] == "4" && rec[7] == "66.7"
		}
	}
	if !found {
		t.Errorf("CSV month total row wrong:\n%s", buf.String())
	}
}
