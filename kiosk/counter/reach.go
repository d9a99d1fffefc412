package counter

import "github.com/pharmachain/counter/flows"

// DrillRows is how many stalled visits a list shows.
const DrillRows = 100

// MaxReachClicks is the self-check's limit: any stalled visit behind an indicator of the
// manager view is listed, with its missing step, within this many actions.
const MaxReachClicks = 3

// DrillRow is one stalled visit in a list, with the step it is missing.
type DrillRow struct {
	Visit   flows.Visit
	Missing int // the first step not done
}

// DrillList is what a list shows: the period's stalled visits matching f, newest first,
// at most DrillRows of them; more tells how many were left out.
func DrillList(r Report, f DrillFilter) (rows []DrillRow, more int) {
	for _, v := range r.Stalled {
		next := flows.StepsDone(v) + 1
		if f.Pharmacist != "" && v.PharmacistID != f.Pharmacist {
			continue
		}
		if f.Step != 0 && next != f.Step {
			continue
		}
		if len(rows) == DrillRows {
			more++
			continue
		}
		rows = append(rows, DrillRow{Visit: v, Missing: next})
	}
	return rows, more
}

// Reach is the measured traceability of the manager view: for every stalled visit any
// period's indicators count (rates, funnel, heat map), the fewest of the view's own
// actions (keys 1–3 and 5, heat-map taps) from the view as it opens to a list showing
// that visit with its missing step.
type Reach struct {
	Visits      int // stalled visits behind the indicators (all periods)
	Max         int // the most actions any of them needs
	Unreachable int // visits no sequence of at most the limit's actions lists
}

// OK reports whether every stalled visit is listed within MaxReachClicks actions.
func (r Reach) OK() bool { return r.Unreachable == 0 && r.Max <= MaxReachClicks }

// MeasureReach explores the manager view's navigation breadth-first from its opening
// state (this month, no list) up to limit actions, through the same transition function
// its keys and taps use, and reports for each stalled visit the depth of the first list
// that shows it.
func MeasureReach(reports map[string]Report, limit int) Reach {
	type target struct{ period, id string }
	need := map[target]bool{}
	for period, r := range reports {
		for _, v := range r.Stalled {
			need[target{period, v.ID}] = true
		}
	}
	res := Reach{Visits: len(need)}
	found := map[target]int{}
	start := ManagerView{Period: PeriodMonth}
	seen := map[string]bool{key(start): true}
	level := []ManagerView{start}
	for depth := 0; depth <= limit && len(level) > 0; depth++ {
		var next []ManagerView
		for _, v := range level {
			r := reports[v.Period]
			if v.Drill != nil {
				rows, _ := DrillList(r, *v.Drill)
				for _, row := range rows {
					// A visit listed in the month's list also answers the week's and
					// today's indicators that count it.
					for period, pr := range reports {
						t := target{period, row.Visit.ID}
						if _, ok := found[t]; !ok && need[t] && stalledIn(pr, row.Visit.ID) {
							found[t] = depth
						}
					}
				}
			}
			for _, a := range v.actions(r) {
				n := v.next(a)
				if k := key(n); !seen[k] {
					seen[k] = true
					next = append(next, n)
				}
			}
		}
		level = next
	}
	for t := range need {
		d, ok := found[t]
		if !ok {
			res.Unreachable++
			continue
		}
		res.Max = max(res.Max, d)
	}
	return res
}

func stalledIn(r Report, id string) bool {
	for _, v := range r.Stalled {
		if v.ID == id {
			return true
		}
	}
	return false
}

func key(v ManagerView) string {
	if v.Drill == nil {
		return v.Period
	}
	return v.Period + "|" + v.Drill.Pharmacist + "|" + string(rune('0'+v.Drill.Step))
}
