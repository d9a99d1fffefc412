package effect

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"time"

	"github.com/pharmachain/counter/flows"
)

// Process-health targets and windows (docs/effect.md).
const (
	TargetCompleteness = 0.95 // share of started visits finishing each step
	TargetCoordination = 0.85 // share sent within 2 h of due; share opened within 72 h of send
	TargetVisitSeconds = 120  // a visit entered in ≤ 120 s
	SendWithin         = flows.SendWithin
	OpenWithin         = flows.OverdueAfter
	AnswerWithin       = flows.OverdueAfter // an overdue follow-up answered within 72 h of becoming overdue
)

// HealthParams select a health report: visits started and follow-ups due on local days
// [From, To], judged at Now (a follow-up whose window has not closed by Now is pending).
type HealthParams struct {
	From, To flows.Day
	Now      time.Time
	StoreID  string // "" every store, plus the chain row
}

// Health is the process-health report: one row per store, and the chain row when no
// store was asked for.
type Health struct {
	From    flows.Day   `json:"from"`
	To      flows.Day   `json:"to"`
	Now     time.Time   `json:"now"`
	Targets Targets     `json:"targets"`
	Chain   *HealthRow  `json:"chain,omitempty"`
	Stores  []HealthRow `json:"stores"`
}

// Targets are the target lines the dashboard draws.
type Targets struct {
	Completeness float64 `json:"completeness"`
	Coordination float64 `json:"coordination"`
	VisitSeconds float64 `json:"visit_seconds"`
}

// HealthRow is one store's (or the chain's) three dimensions.
type HealthRow struct {
	StoreID string `json:"store_id,omitempty"` // "" for the chain row
	Visits  int    `json:"visits"`             // started in [from, to]
	// Completeness[i]: visits that finished step i+1, of the started ones.
	Completeness [4]Share `json:"completeness"`
	// Rhythm.
	StepSeconds  [4]Spread `json:"step_seconds"`  // per step, over visits that did it (timed)
	VisitSeconds Spread    `json:"visit_seconds"` // start → end of complete visits
	WithinTarget Share     `json:"within_target"` // complete visits entered in ≤ 120 s
	// Coordination.
	SentOnTime Share `json:"sent_on_time"` // sent within 2 h of due, of those due whose 2 h have passed
	Opened72h  Share `json:"opened_72h"`   // opened within 72 h of the send, of the sent whose 72 h have passed
	// Overdue: follow-ups that became overdue (not sent by due + 2 h, or sent and not
	// opened by send + 72 h); Answered: the missing send or open came within 72 h after
	// that, of those whose 72 h have passed.
	Overdue         int   `json:"overdue"`
	OverdueAnswered Share `json:"overdue_answered"`
}

// Share is Num of Den; Rate is omitted when Den is 0.
type Share struct {
	Num  int      `json:"num"`
	Den  int      `json:"den"`
	Rate *float64 `json:"rate,omitempty"`
}

func (s *Share) add(ok bool) {
	s.Den++
	if ok {
		s.Num++
	}
}

func (s *Share) finish() {
	if s.Den > 0 {
		r := float64(s.Num) / float64(s.Den)
		s.Rate = &r
	}
}

// Spread is the median and 90th percentile (type-7 quantiles) of N durations in
// seconds; omitted when N is 0.
type Spread struct {
	N      int      `json:"n"`
	Median *float64 `json:"median,omitempty"`
	P90    *float64 `json:"p90,omitempty"`
}

// metrics of the rhythm: the four steps and the visit.
const nMetrics = 5

type healthAcc struct {
	row HealthRow
	n   [nMetrics]int // durations per metric
}

// Health computes the process-health report.
func (d *Data) Health(p HealthParams) (Health, error) {
	if p.From > p.To {
		return Health{}, fmt.Errorf("health: from %s is after to %s", p.From, p.To)
	}
	if p.Now.IsZero() {
		return Health{}, fmt.Errorf("health: no as-of time")
	}
	h := Health{From: p.From, To: p.To, Now: p.Now, Stores: []HealthRow{},
		Targets: Targets{Completeness: TargetCompleteness, Coordination: TargetCoordination, VisitSeconds: TargetVisitSeconds}}
	only := int32(-1)
	if p.StoreID != "" {
		s, ok := d.storeIdx[p.StoreID]
		if !ok {
			return h, nil
		}
		only = s
	}
	acc := make([]*healthAcc, len(d.stores))
	get := func(s int32) *healthAcc {
		if acc[s] == nil {
			acc[s] = &healthAcc{row: HealthRow{StoreID: d.stores[s]}}
		}
		return acc[s]
	}
	in := func(v *hrec) bool { return v.day >= p.From && v.day <= p.To && (only < 0 || v.store == only) }
	// Pass 1: counts. Pass 2: durations into one array per metric, grouped by store, so
	// each store's quantiles and the chain's come from selection in place.
	for i := range d.health {
		v := &d.health[i]
		if !in(v) {
			continue
		}
		a := get(v.store)
		a.row.Visits++
		for k := range 4 {
			done := int(v.steps) > k
			a.row.Completeness[k].add(done)
			if done && v.timed&(1<<k) != 0 {
				a.n[k]++
			}
		}
		if v.complete && v.timed&(1<<4) != 0 {
			a.n[4]++
			a.row.WithinTarget.add(v.visitSec <= TargetVisitSeconds)
		}
	}
	var dur [nMetrics][]float32
	off := make([][nMetrics]int, len(d.stores)+1)
	for s := range d.stores {
		off[s+1] = off[s]
		if a := acc[s]; a != nil {
			for m := range nMetrics {
				off[s+1][m] += a.n[m]
			}
		}
	}
	for m := range nMetrics {
		dur[m] = make([]float32, off[len(d.stores)][m])
	}
	next := make([][nMetrics]int, len(d.stores))
	copy(next, off)
	for i := range d.health {
		v := &d.health[i]
		if !in(v) {
			continue
		}
		nx := &next[v.store]
		for k := range 4 {
			if int(v.steps) > k && v.timed&(1<<k) != 0 {
				dur[k][nx[k]] = v.stepSec[k]
				nx[k]++
			}
		}
		if v.complete && v.timed&(1<<4) != 0 {
			dur[4][nx[4]] = v.visitSec
			nx[4]++
		}
	}
	now := p.Now.Unix()
	for i := range d.follow {
		f := d.follow[i]
		if only >= 0 && f.store != only {
			continue
		}
		if day, _ := DayAndSecond(time.Unix(f.due, 0)); day < p.From || day > p.To {
			continue
		}
		if f.due > now {
			continue
		}
		// What happened after Now is not known yet.
		if f.sent > now {
			f.sent = 0
		}
		if f.opened > now {
			f.opened = 0
		}
		a := get(f.store)
		decide(&a.row.SentOnTime, f.sent, f.due+secs(SendWithin), now)
		if f.sent != 0 {
			decide(&a.row.Opened72h, f.opened, f.sent+secs(OpenWithin), now)
		}
		if since, answered, ok := overdueOf(f); ok && since <= now {
			a.row.Overdue++
			decide(&a.row.OverdueAnswered, answered, since+secs(AnswerWithin), now)
		}
	}
	var chain healthAcc
	for st, a := range acc {
		if a == nil {
			continue
		}
		if only < 0 {
			mergeAcc(&chain, a)
		}
		r := finishRow(a)
		for m := range nMetrics {
			sp := spread(dur[m][off[st][m]:off[st+1][m]])
			if m < 4 {
				r.StepSeconds[m] = sp
			} else {
				r.VisitSeconds = sp
			}
		}
		h.Stores = append(h.Stores, r)
	}
	if only < 0 {
		r := finishRow(&chain)
		for m := range nMetrics {
			if m < 4 {
				r.StepSeconds[m] = spread(dur[m])
			} else {
				r.VisitSeconds = spread(dur[m])
			}
		}
		h.Chain = &r
	}
	return h, nil
}

func secs(d time.Duration) int64 { return int64(d / time.Second) }

// decide counts an event that had to happen by deadline: a success once it happened in
// time, a failure once the deadline has passed without it; undecided (pending) before.
func decide(s *Share, at, deadline, now int64) {
	switch {
	case at != 0 && at <= deadline:
		s.add(true)
	case deadline <= now:
		s.add(false)
	}
}

// overdueOf applies sync/followup's overdue rule over a follow-up's timeline: it is
// overdue from due + 2 h when by then it was neither confirmed sent nor opened
// (not_sent; answered by the first later send or open), else, when sent by then, from
// send + 72 h when not opened by then (not_opened; answered by the open). A follow-up is
// counted once, at the first time it became overdue. Times are unix seconds, 0 = never.
func overdueOf(f frec) (since, answered int64, ok bool) {
	t1 := f.due + secs(SendWithin)
	sentInTime := f.sent != 0 && f.sent <= t1
	if !sentInTime && !(f.opened != 0 && f.opened <= t1) {
		for _, t := range []int64{f.sent, f.opened} {
			if t != 0 && (answered == 0 || t < answered) {
				answered = t
			}
		}
		return t1, answered, true
	}
	if !sentInTime {
		return 0, 0, false // opened without a recorded send: never overdue
	}
	t2 := f.sent + secs(OpenWithin)
	if f.opened != 0 && f.opened <= t2 {
		return 0, 0, false
	}
	return t2, f.opened, true
}

func mergeAcc(dst, src *healthAcc) {
	r, s := &dst.row, &src.row
	r.Visits += s.Visits
	for k := range 4 {
		r.Completeness[k].Num += s.Completeness[k].Num
		r.Completeness[k].Den += s.Completeness[k].Den
	}
	for _, pair := range [][2]*Share{{&r.WithinTarget, &s.WithinTarget}, {&r.SentOnTime, &s.SentOnTime},
		{&r.Opened72h, &s.Opened72h}, {&r.OverdueAnswered, &s.OverdueAnswered}} {
		pair[0].Num += pair[1].Num
		pair[0].Den += pair[1].Den
	}
	r.Overdue += s.Overdue
}

func finishRow(a *healthAcc) HealthRow {
	r := a.row
	for k := range 4 {
		r.Completeness[k].finish()
	}
	r.WithinTarget.finish()
	r.SentOnTime.finish()
	r.Opened72h.finish()
	r.OverdueAnswered.finish()
	return r
}

// spread computes the median and p90 of xs (reordering xs).
func spread(xs []float32) Spread {
	s := Spread{N: len(xs)}
	if len(xs) == 0 {
		return s
	}
	q := quantiles7(xs, 0.5, 0.9)
	s.Median, s.P90 = ptr(q[0]), ptr(q[1])
	return s
}

// quantile7 is the type-7 quantile of xs (linear interpolation between the order
// statistics ⌊h⌋ and ⌊h⌋+1, h = (n−1)q), reordering xs.
func quantile7(xs []float32, q float64) float64 { return quantiles7(xs, q)[0] }

// quantiles7 computes type-7 quantiles of xs (non-negative finite values), reordering
// xs. Small slices use selection (O(n) per order statistic); large ones a radix
// select: one pass counts the values by the top 16 bits of their IEEE bits (which
// order like the values for non-negative floats), a second collects the few buckets
// holding the wanted order statistics, and selection finishes inside them.
func quantiles7(xs []float32, qs ...float64) []float64 {
	n := len(xs)
	out := make([]float64, len(qs))
	ranks := make([]int, 0, 2*len(qs))
	for _, q := range qs {
		h := float64(n-1) * q
		lo := int(math.Floor(h))
		ranks = append(ranks, lo, min(lo+1, n-1))
	}
	// The distinct ranks, ascending.
	uniq := slices.Clone(ranks)
	slices.Sort(uniq)
	uniq = slices.Compact(uniq)
	got := make([]float32, len(uniq))
	if n <= 1<<16 {
		// Each selection works right of the previous rank, where every value is ≥ it;
		// the next rank up is that part's minimum.
		prev := -1
		for i, k := range uniq {
			if k == prev+1 && prev >= 0 {
				j := k + indexOfMin(xs[k:])
				xs[k], xs[j] = xs[j], xs[k]
				got[i] = xs[k]
			} else {
				got[i] = selectK(xs[prev+1:], k-prev-1)
			}
			prev = k
		}
	} else {
		radixSelect(xs, uniq, got)
	}
	vals := make([]float32, len(ranks))
	for i, k := range ranks {
		j, _ := slices.BinarySearch(uniq, k)
		vals[i] = got[j]
	}
	for i, q := range qs {
		h := float64(n-1) * q
		lo := int(math.Floor(h))
		x, y := float64(vals[2*i]), float64(vals[2*i+1])
		out[i] = x + (h-float64(lo))*(y-x)
	}
	return out
}

func indexOfMin(xs []float32) int {
	m := 0
	for i, x := range xs {
		if x < xs[m] {
			m = i
		}
	}
	return m
}

func radixSelect(xs []float32, ranks []int, vals []float32) {
	var hist [1 << 16]int32
	for _, x := range xs {
		hist[math.Float32bits(x)>>16]++
	}
	// The bucket of each rank, and the rank within the bucket.
	type want struct{ bucket, within int }
	ws := make([]want, len(ranks))
	for i, k := range ranks {
		c := 0
		for b, h := range hist {
			if c+int(h) > k {
				ws[i] = want{b, k - c}
				break
			}
			c += int(h)
		}
	}
	// The wanted buckets (at most one per rank) and their values.
	var ids []int
	for _, w := range ws {
		if !slices.Contains(ids, w.bucket) {
			ids = append(ids, w.bucket)
		}
	}
	got := make([][]float32, len(ids))
	for _, x := range xs {
		b := int(math.Float32bits(x) >> 16)
		for j, id := range ids {
			if b == id {
				got[j] = append(got[j], x)
				break
			}
		}
	}
	buckets := make(map[int][]float32, len(ids))
	for j, id := range ids {
		buckets[id] = got[j]
	}
	for i, w := range ws {
		vals[i] = selectK(buckets[w.bucket], w.within)
	}
}

// selectK puts the k-th smallest element (0-based) at xs[k] with no larger element
// before it and no smaller one after it, and returns it (quickselect, median-of-three
// pivots; a sort finishes slices that stop shrinking fast enough).
func selectK(xs []float32, k int) float32 {
	lo, hi := 0, len(xs)-1
	budget := 2 * (bits.Len(uint(len(xs))) + 1)
	for hi-lo > 16 {
		if budget--; budget < 0 {
			slices.Sort(xs[lo : hi+1])
			return xs[k]
		}
		mid := lo + (hi-lo)/2
		if xs[mid] < xs[lo] {
			xs[mid], xs[lo] = xs[lo], xs[mid]
		}
		if xs[hi] < xs[lo] {
			xs[hi], xs[lo] = xs[lo], xs[hi]
		}
		if xs[hi] < xs[mid] {
			xs[hi], xs[mid] = xs[mid], xs[hi]
		}
		pivot := xs[mid]
		i, j := lo, hi
		for i <= j {
			for xs[i] < pivot {
				i++
			}
			for xs[j] > pivot {
				j--
			}
			if i <= j {
				xs[i], xs[j] = xs[j], xs[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return xs[k] // between j and i: equal to the pivot
		}
	}
	slices.Sort(xs[lo : hi+1])
	return xs[k]
}
