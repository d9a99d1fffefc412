package flows

import (
	"sort"
	"strconv"
)

// Completion groupings.
const (
	ByPharmacist = "pharmacist"
	ByDay        = "day"
	ByStore      = "store"
	ByStep       = "step"
	ByAll        = "all"
)

// ValidGrouping reports whether by is a grouping Completion understands.
func ValidGrouping(by string) bool {
	switch by {
	case ByPharmacist, ByDay, ByStore, ByStep, ByAll:
		return true
	}
	return false
}

// Rollup is the mergeable set of counters behind the completion metrics. HQ can keep one
// per (day, store, pharmacist) at ingest: Add a visit's final version, or Remove the
// version it had stored before and Add the new one.
type Rollup struct {
	Visits     int `json:"visits"`
	Completed  int `json:"completed"`
	Abandoned  int `json:"abandoned"`
	InProgress int `json:"in_progress"`
	// Funnel[i] counts visits with steps 1..i+1 done: identified → questionnaire →
	// recommended → follow-up.
	Funnel [4]int `json:"funnel"`
	// Stalled[i] counts visits not complete whose next step was i+1 (heat map cell).
	Stalled [4]int `json:"stalled"`
	// StepSeconds[i] sums the seconds step i+1 took (from the previous step, or from
	// the visit start for step 1) over the StepTimed[i] visits that did it.
	StepSeconds [4]float64 `json:"step_seconds"`
	StepTimed   [4]int     `json:"step_timed"`
}

// VisitContribution is the Rollup of a single visit. Abandoned visits count as visits,
// never as completed.
func VisitContribution(v Visit) Rollup {
	var r Rollup
	r.Visits = 1
	done := StepsDone(v)
	complete := Complete(v)
	switch {
	case complete:
		r.Completed = 1
	case v.Outcome == OutcomeAbandoned:
		r.Abandoned = 1
	default:
		r.InProgress = 1
	}
	for i := 0; i < done; i++ {
		r.Funnel[i] = 1
	}
	if !complete && done < 4 {
		r.Stalled[done] = 1
	}
	ts := StepTimes(v)
	prev := v.StartedAt
	for i := 0; i < done; i++ {
		if !prev.IsZero() && !ts[i].IsZero() {
			if d := ts[i].Sub(prev).Seconds(); d >= 0 {
				r.StepSeconds[i] = d
				r.StepTimed[i] = 1
			}
		}
		prev = ts[i]
	}
	return r
}

// Add counts a visit.
func (r *Rollup) Add(v Visit) { r.Merge(VisitContribution(v)) }

// Remove un-counts a visit previously added (same version).
func (r *Rollup) Remove(v Visit) { r.merge(VisitContribution(v), -1) }

// Merge adds another rollup's counters.
func (r *Rollup) Merge(o Rollup) { r.merge(o, 1) }

func (r *Rollup) merge(o Rollup, sign int) {
	r.Visits += sign * o.Visits
	r.Completed += sign * o.Completed
	r.Abandoned += sign * o.Abandoned
	r.InProgress += sign * o.InProgress
	for i := 0; i < 4; i++ {
		r.Funnel[i] += sign * o.Funnel[i]
		r.Stalled[i] += sign * o.Stalled[i]
		r.StepSeconds[i] += float64(sign) * o.StepSeconds[i]
		r.StepTimed[i] += sign * o.StepTimed[i]
	}
}

// Rate is complete visits per 100 visits (0 with no visits).
func (r Rollup) Rate() float64 {
	if r.Visits <= 0 {
		return 0
	}
	return float64(r.Completed) * 100 / float64(r.Visits)
}

// AvgStepSeconds is the average duration of each step over the visits that did it.
func (r Rollup) AvgStepSeconds() [4]float64 {
	var out [4]float64
	for i := range out {
		if r.StepTimed[i] > 0 {
			out[i] = r.StepSeconds[i] / float64(r.StepTimed[i])
		}
	}
	return out
}

// CompletionRow is one row of the completion report.
type CompletionRow struct {
	By  string `json:"by"`  // pharmacist | day | store | step | all
	Key string `json:"key"` // pharmacist id, YYYY-MM-DD, store id, step "1".."4", or "all"
	Rollup
	// Rate is complete visits per 100 visits. For by=step rows it is visits that did
	// the step per 100 visits, and Completed holds that count.
	Rate           float64    `json:"rate"`
	AvgStepSeconds [4]float64 `json:"avg_step_seconds"`
}

// RowOf turns a rollup into a report row.
func RowOf(by, key string, r Rollup) CompletionRow {
	return CompletionRow{By: by, Key: key, Rollup: r, Rate: r.Rate(), AvgStepSeconds: r.AvgStepSeconds()}
}

// Completion groups visits by pharmacist, day (Asia/Shanghai date the visit started),
// store or step and returns one row per group, sorted by key. by=step returns four rows
// (one per step: visits that did it, stalled there, its average seconds). An unknown
// grouping (or "all") returns one total row keyed "all".
func Completion(visits []Visit, by string) []CompletionRow {
	if by == ByStep {
		var tot Rollup
		for i := range visits {
			tot.Add(visits[i])
		}
		rows := make([]CompletionRow, 4)
		avg := tot.AvgStepSeconds()
		for i := range rows {
			rows[i] = RowOf(ByStep, strconv.Itoa(i+1), tot)
			rows[i].Completed = tot.Funnel[i]
			rows[i].Rate = 0
			if tot.Visits > 0 {
				rows[i].Rate = float64(tot.Funnel[i]) * 100 / float64(tot.Visits)
			}
			rows[i].AvgStepSeconds = avg
		}
		return rows
	}
	if !ValidGrouping(by) {
		by = ByAll
	}
	groups := map[string]*Rollup{}
	for i := range visits {
		v := &visits[i]
		var k string
		switch by {
		case ByPharmacist:
			k = v.PharmacistID
		case ByDay:
			k = VisitDay(*v).String()
		case ByStore:
			k = v.StoreID
		default:
			k = ByAll
		}
		g := groups[k]
		if g == nil {
			g = &Rollup{}
			groups[k] = g
		}
		g.Add(*v)
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	rows := make([]CompletionRow, 0, len(keys))
	for _, k := range keys {
		rows = append(rows, RowOf(by, k, *groups[k]))
	}
	return rows
}
