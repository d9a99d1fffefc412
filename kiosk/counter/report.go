package counter

import (
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/pharmachain/counter/flows"
)

// Periods of the manager view.
const (
	PeriodToday = "today"
	PeriodWeek  = "week"  // since Monday
	PeriodMonth = "month" // since the 1st
)

// Periods lists the periods in key order (1, 2, 3).
func Periods() []string { return []string{PeriodToday, PeriodWeek, PeriodMonth} }

// TargetVisitSeconds is the goal for the pharmacist's entry time per visit.
const TargetVisitSeconds = 120

// PharmacistRow is one pharmacist's completion in the manager view.
type PharmacistRow struct {
	ID, Name string
	// Rollups for today, this week, this month.
	Today, Week, Month flows.Rollup
}

// DayPoint is one day of the 30-day trend.
type DayPoint struct {
	Day    flows.Day
	Visits int
	Rate   float64 // complete visits per 100 visits; 0 with no visits
}

// SelfCheck is the manager view's self-check list, computed from the visits (the
// traceability line is measured on the view itself: ManagerPage.Reach).
type SelfCheck struct {
	Visits          int     // finished visits this month with at least step 1 done
	Verifiable      int     // of them, every step done has its recorded action
	VerifiableShare float64 // per 100
	Overdue         int     // follow-ups due more than 72 h ago whose visit has not reached HQ
	AvgVisitSeconds float64 // complete visits this month, first scan → step 4
	AvgWithinTarget bool    // ≤ TargetVisitSeconds
}

// Report is everything the manager view shows.
type Report struct {
	AsOf        flows.Day
	Period      string
	Pharmacists []PharmacistRow
	Total       map[string]flows.Rollup // by period
	Trend       []DayPoint              // 30 days ending AsOf
	Check       SelfCheck
	Stalled     []flows.Visit // this period's unfinished/abandoned visits, newest first
}

// periodStart is the first day of a period containing d.
func periodStart(period string, d flows.Day) flows.Day {
	t := d.Time()
	switch period {
	case PeriodWeek:
		wd := (int(t.Weekday()) + 6) % 7 // Monday = 0
		return d - flows.Day(wd)
	case PeriodMonth:
		return d - flows.Day(t.Day()-1)
	}
	return d
}

// ReportFrom is the first day BuildReport needs visits from (30-day trend or the month).
func ReportFrom(asOf flows.Day) flows.Day {
	return min(asOf-29, periodStart(PeriodMonth, asOf), periodStart(PeriodWeek, asOf))
}

// BuildReport computes the manager view from the visits started ReportFrom(asOf)..asOf.
// names maps pharmacist ids to names; synced reports whether a visit reached HQ
// (nil: unknown, nothing counted overdue).
func BuildReport(visits []flows.Visit, names map[string]string, asOf flows.Day, now time.Time, period string, synced func(id string) bool) Report {
	r := Report{AsOf: asOf, Period: period, Total: map[string]flows.Rollup{}}
	rows := map[string]*PharmacistRow{}
	starts := map[string]flows.Day{}
	for _, p := range Periods() {
		starts[p] = periodStart(p, asOf)
	}
	trend := map[flows.Day]*flows.Rollup{}
	var visitSecs float64
	var visitN int
	for _, v := range visits {
		d := flows.VisitDay(v)
		if d > asOf {
			continue
		}
		pr := rows[v.PharmacistID]
		if pr == nil {
			pr = &PharmacistRow{ID: v.PharmacistID, Name: names[v.PharmacistID]}
			if pr.Name == "" {
				pr.Name = v.PharmacistID
			}
			rows[v.PharmacistID] = pr
		}
		for _, p := range Periods() {
			if d < starts[p] {
				continue
			}
			t := r.Total[p]
			t.Add(v)
			r.Total[p] = t
			switch p {
			case PeriodToday:
				pr.Today.Add(v)
			case PeriodWeek:
				pr.Week.Add(v)
			case PeriodMonth:
				pr.Month.Add(v)
			}
		}
		if d > asOf-30 {
			if trend[d] == nil {
				trend[d] = &flows.Rollup{}
			}
			trend[d].Add(v)
		}
		if d >= starts[period] && v.Outcome != flows.OutcomeComplete {
			r.Stalled = append(r.Stalled, v)
		}
		if d >= starts[PeriodMonth] && v.Outcome != flows.OutcomeInProgress && flows.StepsDone(v) > 0 {
			r.Check.Visits++
			if verifiable(v) {
				r.Check.Verifiable++
			}
			if v.Outcome == flows.OutcomeComplete && !v.EndedAt.IsZero() {
				visitSecs += v.EndedAt.Sub(v.StartedAt).Seconds()
				visitN++
			}
		}
		if f := scheduled(v); f != nil && synced != nil && now.Sub(f.DueAt) > flows.OverdueAfter && !synced(v.ID) {
			r.Check.Overdue++
		}
	}
	for _, pr := range rows {
		r.Pharmacists = append(r.Pharmacists, *pr)
	}
	sort.Slice(r.Pharmacists, func(i, j int) bool { return r.Pharmacists[i].ID < r.Pharmacists[j].ID })
	for d := asOf - 29; d <= asOf; d++ {
		p := DayPoint{Day: d}
		if t := trend[d]; t != nil {
			p.Visits, p.Rate = t.Visits, t.Rate()
		}
		r.Trend = append(r.Trend, p)
	}
	sort.SliceStable(r.Stalled, func(i, j int) bool { return r.Stalled[i].StartedAt.After(r.Stalled[j].StartedAt) })
	if r.Check.Visits > 0 {
		r.Check.VerifiableShare = float64(r.Check.Verifiable) * 100 / float64(r.Check.Visits)
	}
	if visitN > 0 {
		r.Check.AvgVisitSeconds = visitSecs / float64(visitN)
	}
	r.Check.AvgWithinTarget = visitN > 0 && r.Check.AvgVisitSeconds <= TargetVisitSeconds
	return r
}

func scheduled(v flows.Visit) *flows.FollowUp {
	if v.FollowUp == nil {
		return nil
	}
	return v.FollowUp.FollowUp
}

// verifiable reports whether every step the visit did has a recorded, checkable action:
// a timestamp plus the analysis, the answers, both recommendations with accepted/declined,
// and the consent record.
func verifiable(v flows.Visit) bool {
	if v.Identify != nil && (v.Identify.At.IsZero() || v.Identify.Adherence == nil) {
		return false
	}
	if q := v.Questionnaire; q != nil && (q.At.IsZero() || len(q.Answers) == 0) {
		return false
	}
	if rc := v.Recommend; rc != nil {
		if rc.At.IsZero() || len(rc.Items) != flows.RecommendationsPerVisit {
			return false
		}
		for _, it := range rc.Items {
			if it.Accepted == nil {
				return false
			}
		}
	}
	if f := v.FollowUp; f != nil && (f.At.IsZero() || f.Consent == nil) {
		return false
	}
	return v.Identify != nil
}

// WriteCSV writes the report as CSV: one row per pharmacist and period with visits,
// completed, rate per 100, the funnel and the stalled-at-step counts.
func (r Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := []string{"as_of", "period", "pharmacist_id", "name", "visits", "completed", "abandoned", "rate_per_100",
		"identified", "questionnaire", "recommended", "followup",
		"stalled_step1", "stalled_step2", "stalled_step3", "stalled_step4"}
	if err := cw.Write(head); err != nil {
		return fmt.Errorf("csv: %w", err)
	}
	write := func(period, id, name string, ro flows.Rollup) error {
		rec := []string{r.AsOf.String(), period, id, name, strconv.Itoa(ro.Visits), strconv.Itoa(ro.Completed),
			strconv.Itoa(ro.Abandoned), strconv.FormatFloat(ro.Rate(), 'f', 1, 64)}
		for _, n := range ro.Funnel {
			rec = append(rec, strconv.Itoa(n))
		}
		for _, n := range ro.Stalled {
			rec = append(rec, strconv.Itoa(n))
		}
		return cw.Write(rec)
	}
	for _, p := range Periods() {
		for _, pr := range r.Pharmacists {
			ro := map[string]flows.Rollup{PeriodToday: pr.Today, PeriodWeek: pr.Week, PeriodMonth: pr.Month}[p]
			if err := write(p, pr.ID, pr.Name, ro); err != nil {
				return fmt.Errorf("csv: %w", err)
			}
		}
		if err := write(p, "all", "", r.Total[p]); err != nil {
			return fmt.Errorf("csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("csv: %w", err)
	}
	return nil
}
