package kiosk

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"github.com/pharmachain/counter/assets"

	"github.com/pharmachain/counter/flows"
)

// knownVisits is a small data set whose manager numbers are worked out by hand
// (testNow is Thursday 2026-11-26; the week starts Monday 11-23, the month 11-01).
func knownVisits(t *testing.T, dom flows.Data) []flows.Visit {
	t.Helper()
	n := 0
	mk := func(pharm string, day time.Time, steps int, seconds int) flows.Visit {
		n++
		start := day.Add(9 * time.Hour)
		key := fmt.Sprintf("%032x", n)
		v := flows.NewVisit(fmt.Sprintf("01KNOWN%019d", n), "S001", pharm, flows.Customer{Key: key, Masked: "1101**********002X"}, start)
		at := func(i int) time.Time { return start.Add(time.Duration(seconds*i/4) * time.Second) }
		a := flows.Analysis{AsOf: flows.DayOf(start), Classes: []flows.ClassResult{{Class: flows.ClassHypertension, Level: flows.LevelRed}}}
		must := func(err error) {
			if err != nil {
				t.Fatal(err)
			}
		}
		if steps >= 1 {
			must(flows.RecordIdentify(&v, a, false, at(1)))
		}
		q := dom.Questionnaires.For(flows.ClassHypertension)
		ans := map[string]string{}
		for _, qu := range q.Questions {
			if qu.Mandatory {
				ans[qu.ID] = qu.Choices[0].ID
			}
		}
		if steps >= 2 {
			must(flows.RecordAnswers(&v, q, ans, at(2)))
		}
		if steps >= 3 {
			recs, err := dom.Knowledge.Recommend(flows.ClassHypertension, flows.LevelRed, ans)
			must(err)
			yes, no := true, false
			recs[0].Accepted, recs[1].Accepted = &yes, &no
			must(flows.RecordRecommendations(&v, recs, at(3)))
		}
		if steps >= 4 {
			must(flows.RecordFollowUp(&v, map[string]bool{flows.ChannelWeCom: true}, flows.DefaultFollowUpPolicy(), at(4)))
		} else {
			must(flows.Abandon(&v, "pharmacist", at(steps+1)))
		}
		return v
	}
	today := flows.DayOf(testNow).Time()
	return []flows.Visit{
		mk("P01", today, 4, 90), mk("P01", today, 4, 90), mk("P01", today, 2, 60), // today
		mk("P01", today.AddDate(0, 0, -2), 4, 90),                                                                          // this week (Tue)
		mk("P02", flows.DayFromDate(2026, 11, 10).Time(), 1, 30), mk("P02", flows.DayFromDate(2026, 11, 10).Time(), 4, 90), // this month
		mk("P02", flows.DayFromDate(2026, 10, 30).Time(), 4, 90), // last month, inside the 30-day trend
	}
}

func TestManagerReportKnownData(t *testing.T) {
	dom, err := flows.LoadData(assets.FS())
	if err != nil {
		t.Fatal(err)
	}
	vs := knownVisits(t, dom)
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
	if c.Visits != 6 || c.Verifiable != 6 || c.Overdue != 2 || !near(c.AvgVisitSeconds, 90) || !c.AvgWithinTarget || !c.DrillWithinLimit {
		t.Errorf("self-check %+v", c)
	}
	if len(r.Stalled) != 2 {
		t.Errorf("stalled visits %d, want 2", len(r.Stalled))
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

// The manager view shows the numbers of the known data set.
func TestManagerViewShowsKnownData(t *testing.T) {
	h := newHarness(t, harnessOpts{noSeed: true})
	for _, v := range knownVisits(t, h.dom) {
		if err := h.st.SaveVisit(context.Background(), v); err != nil {
			t.Fatal(err)
		}
	}
	h.key(fyne.KeyF2) // empty roster: add the manager first
	a := h.u.cur.(*addPharmacistScreen)
	a.id.SetText("P01")
	a.name.SetText("Wang Fang")
	a.pin.SetText("1234")
	a.save()
	h.signIn(1, "1234")
	h.mustShow("今日完成率 67（3 次服务）")
	h.typeRune('2')
	h.typeString("1234")
	h.key(fyne.KeyReturn)
	h.mustShow("Wang Fang")
	h.mustShow("67  (2/3)")    // P01 today
	h.mustShow("75  (3/4)")    // P01 this week and month
	h.mustShow("50  (1/2)")    // P02 this month
	h.mustShow("67  (4/6)")    // store, this month
	h.mustShow("5 (83%)")      // funnel: questionnaire 5 of 6
	h.mustShow("逾期未发出的随访 2 条") // 11-10 and 10-30: due more than 72 h ago, never reached HQ
}
