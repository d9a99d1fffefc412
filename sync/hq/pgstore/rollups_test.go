package pgstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/pgstore"
)

// The completion report reads whole months from the monthly rollups and the edges from
// the daily ones: for many random ranges (month boundaries, single days, open ends) and
// every grouping it must equal a plain sum over the rows loaded.
func TestCompletionMonthsAndEdgesMatchDailySums(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	first := flows.DayFromDate(2025, 11, 20)
	const days = 160
	var rows []hq.RollupRow
	for s := 1; s <= 3; s++ {
		for d := 0; d < days; d++ {
			for p := 1; p <= 2; p++ {
				if r.IntN(4) == 0 {
					continue // a day without visits
				}
				n := 1 + r.IntN(9)
				c := r.IntN(n + 1)
				rows = append(rows, hq.RollupRow{StoreID: fmt.Sprintf("S%d", s), PharmacistID: fmt.Sprintf("P%d", p), Day: first + flows.Day(d), ContentVersion: r.IntN(3),
					Rollup: flows.Rollup{Visits: n, Completed: c, Abandoned: n - c, Funnel: [4]int{n, n, c + 1, c}, Stalled: [4]int{0, 1, n - c, 0},
						StepTimed: [4]int{n, n, 0, 0}, StepSeconds: [4]float64{float64(n) * 1.5, 2, 0, 0}}})
			}
		}
	}
	// Loaded in three calls, in shuffled order.
	r.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	for i := 0; i < len(rows); i += len(rows)/3 + 1 {
		if err := st.AddRollups(ctx, rows[i:min(i+len(rows)/3+1, len(rows))]); err != nil {
			t.Fatal(err)
		}
	}
	want := func(q hq.CompletionQuery) []hq.CompletionGroup {
		m := map[string]*hq.CompletionGroup{}
		for _, row := range rows {
			if q.From != 0 && row.Day < q.From || q.To != 0 && row.Day > q.To ||
				q.StoreID != "" && row.StoreID != q.StoreID || q.PharmacistID != "" && row.PharmacistID != q.PharmacistID {
				continue
			}
			var g hq.CompletionGroup
			switch q.GroupBy {
			case hq.GroupByPharmacist:
				g = hq.CompletionGroup{Key: row.StoreID + "/" + row.PharmacistID, StoreID: row.StoreID, PharmacistID: row.PharmacistID}
			case hq.GroupByDay:
				g = hq.CompletionGroup{Key: row.Day.String(), Day: row.Day}
			case hq.GroupByContentVersion:
				n := row.ContentVersion
				g = hq.CompletionGroup{Key: fmt.Sprint(n), ContentVersion: &n}
			default:
				g = hq.CompletionGroup{Key: row.StoreID, StoreID: row.StoreID}
			}
			if m[g.Key] == nil {
				m[g.Key] = &g
			}
			m[g.Key].Rollup.Merge(row.Rollup)
		}
		var out []hq.CompletionGroup
		for _, g := range m {
			out = append(out, *g)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
		return out
	}
	d := func(y int, m, dd int) flows.Day { return flows.DayFromDate(y, timeMonth(m), dd) }
	ranges := [][2]flows.Day{
		{0, 0}, {d(2025, 12, 1), d(2026, 2, 28)}, {d(2025, 12, 1), d(2026, 3, 1)}, {d(2025, 11, 30), d(2026, 2, 28)},
		{d(2025, 12, 2), d(2026, 1, 30)}, {d(2026, 1, 15), d(2026, 1, 15)}, {0, d(2026, 1, 31)}, {d(2026, 2, 1), 0},
		{d(2026, 1, 31), d(2026, 2, 1)}, {d(2026, 3, 5), d(2026, 2, 5)},
	}
	for i := 0; i < 30; i++ {
		a := first - 5 + flows.Day(r.IntN(days+10))
		b := a + flows.Day(r.IntN(120))
		ranges = append(ranges, [2]flows.Day{a, b})
	}
	for _, rg := range ranges {
		for _, q := range []hq.CompletionQuery{
			{GroupBy: hq.GroupByStore}, {GroupBy: hq.GroupByPharmacist}, {GroupBy: hq.GroupByDay},
			{GroupBy: hq.GroupByStore, StoreID: "S2"}, {GroupBy: hq.GroupByStore, PharmacistID: "P1"},
			{GroupBy: hq.GroupByDay, StoreID: "S3", PharmacistID: "P2"},
			{GroupBy: hq.GroupByContentVersion}, {GroupBy: hq.GroupByContentVersion, StoreID: "S1", PharmacistID: "P2"},
		} {
			q.From, q.To = rg[0], rg[1]
			got, err := st.Completion(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			exp := want(q)
			if len(got) != len(exp) {
				t.Fatalf("%+v: %d groups, want %d", q, len(got), len(exp))
			}
			for i := range got {
				g, e := got[i], exp[i]
				g.Rollup.StepSeconds, e.Rollup.StepSeconds = [4]float64{}, [4]float64{}
				if (g.ContentVersion == nil) != (e.ContentVersion == nil) || g.ContentVersion != nil && *g.ContentVersion != *e.ContentVersion {
					t.Fatalf("%+v: group %d content version %v, want %v", q, i, g.ContentVersion, e.ContentVersion)
				}
				g.ContentVersion, e.ContentVersion = nil, nil
				if g != e || !near(got[i].Rollup.StepSeconds, exp[i].Rollup.StepSeconds) {
					t.Fatalf("%+v: group %d = %+v, want %+v", q, i, got[i], exp[i])
				}
			}
		}
	}
}

func near(a, b [4]float64) bool {
	for i := range a {
		if d := a[i] - b[i]; d > 1e-6 || d < -1e-6 {
			return false
		}
	}
	return true
}

func TestMonthOf(t *testing.T) {
	for _, c := range []struct {
		y, m, d int
	}{{2026, 1, 1}, {2026, 1, 31}, {2025, 12, 31}, {2024, 2, 29}, {1970, 1, 1}, {1969, 12, 31}} {
		day := flows.DayFromDate(c.y, timeMonth(c.m), c.d)
		mo := pgstore.MonthOf(day)
		if mo.FirstDay() != flows.DayFromDate(c.y, timeMonth(c.m), 1) {
			t.Errorf("%v: month %d starts %s", day, mo, mo.FirstDay())
		}
		if (mo + 1).FirstDay() <= day {
			t.Errorf("%v: next month starts %s", day, (mo + 1).FirstDay())
		}
	}
}
