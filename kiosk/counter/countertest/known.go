// Package countertest holds data sets the counter's tests share (the core's and the
// screens').
package countertest

import (
	"fmt"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
)

// KnownVisits is a small data set whose manager numbers are worked out by hand, as of
// now = Thursday 2026-11-26 10:00 in Shanghai (the week starts Monday 11-23, the month
// 11-01): today P01 completes two visits and stops one after step 2, on Tuesday P01
// completes one; on 11-10 P02 stops one after step 1 and completes one; on 10-30 P02
// completes one.
func KnownVisits(t testing.TB, dom flows.Data, now time.Time) []flows.Visit {
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
			recs, err := dom.Knowledge.Recommend(flows.ClassHypertension, flows.LevelRed, ans, flows.ReasonWords{})
			must(err)
			yes, no := true, false
			recs[0].Accepted, recs[1].Accepted = &yes, &no
			must(flows.RecordRecommendations(&v, recs, at(3)))
		}
		if steps >= 4 {
			policy := flows.DefaultFollowUpPolicy()
			policy.Text = dom.Messages.Reminder
			must(flows.RecordFollowUp(&v, map[string]bool{flows.ChannelWeCom: true}, policy, at(4)))
		} else {
			must(flows.Abandon(&v, "pharmacist", at(steps+1)))
		}
		return v
	}
	today := flows.DayOf(now).Time()
	return []flows.Visit{
		mk("P01", today, 4, 90), mk("P01", today, 4, 90), mk("P01", today, 2, 60), // today
		mk("P01", today.AddDate(0, 0, -2), 4, 90),                                                                          // this week (Tue)
		mk("P02", flows.DayFromDate(2026, 11, 10).Time(), 1, 30), mk("P02", flows.DayFromDate(2026, 11, 10).Time(), 4, 90), // this month
		mk("P02", flows.DayFromDate(2026, 10, 30).Time(), 4, 90), // last month, inside the 30-day trend
	}
}
