package effect

import (
	"encoding/binary"
	"hash/fnv"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/pharmachain/counter/flows"
)

// Outcome indices: the three over every included customer share one bootstrap draw
// per customer; the Rx basket is drawn over its own customers (those with rx receipts
// in both windows).
const (
	oPDC = iota
	oRevisit
	oNonDrug
	oBasket
	nOutcomes
)

var outcomeNames = [nOutcomes]string{OutcomePDC, OutcomeRevisit30, OutcomeNonDrug, OutcomeRxBasket}

// reportOrder is the order outcomes appear in a report.
var reportOrder = [nOutcomes]int{oPDC, oRevisit, oBasket, oNonDrug}

var levelNames = [3]string{flows.LevelOK, flows.LevelYellow, flows.LevelRed}

// cell is one (store, level) stratum of one class: the cohorts' values.
type cell struct {
	store int32
	level int8
	// vals[k]: per included customer of cohort k: pdc change, revisit, non-drug change,
	// basket change (0 without a basket), 1 if the customer has a basket in both
	// windows. (float64: converting float32 on each draw doubled the bootstrap's time.)
	vals [2][][5]float64
	nb   [2]int // customers with a basket
	// sums for the means (float64, from the exact values): [cohort][outcome]
	before, after [2][nOutcomes]float64
	// rep[o][b]: resample b's weighted difference w·(served mean − comparison mean),
	// w its weight: n_served for the three outcomes over every customer (fixed), the
	// resample's served basket customers for the basket (0 when the resample left a
	// cohort of the cell without one).
	rep  [nOutcomes][]float64
	repW []float64
}

func (c *cell) n(k, o int) int {
	if o == oBasket {
		return c.nb[k]
	}
	return len(c.vals[k])
}

// estimate turns one class's included customers (sorted by store, level, cohort, key)
// into the four outcomes.
func (d *Data) estimate(units []unit, class string, p Params) []Outcome {
	var cells []*cell
	for i := 0; i < len(units); {
		j := i
		c := &cell{store: units[i].store, level: units[i].level}
		for ; j < len(units) && units[j].store == c.store && units[j].level == c.level; j++ {
			u := &units[j]
			k := u.cohort
			v := [5]float64{u.pdcA - u.pdcB, u.rev, u.ndA - u.ndB}
			c.before[k][oPDC] += u.pdcB
			c.after[k][oPDC] += u.pdcA
			c.after[k][oRevisit] += u.rev
			c.before[k][oNonDrug] += u.ndB
			c.after[k][oNonDrug] += u.ndA
			if u.basket {
				v[3], v[4] = u.bA-u.bB, 1
				c.nb[k]++
				c.before[k][oBasket] += u.bB
				c.after[k][oBasket] += u.bA
			}
			c.vals[k] = append(c.vals[k], v)
		}
		cells = append(cells, c)
		i = j
	}
	d.bootstrap(cells, class, p)

	out := make([]Outcome, 0, nOutcomes)
	for _, o := range reportOrder {
		out = append(out, summarise(cells, o, p, d.stores))
	}
	return out
}

func ptr(x float64) *float64 { return &x }

// side is a cohort's means in one cell.
func side(c *cell, k, o int) Side {
	n := c.n(k, o)
	s := Side{N: n}
	if n == 0 {
		return s
	}
	s.After = c.after[k][o] / float64(n)
	if o != oRevisit {
		b := c.before[k][o] / float64(n)
		s.Before, s.Change = ptr(b), ptr(s.After-b)
	}
	return s
}

func summarise(cells []*cell, o int, p Params, stores []string) Outcome {
	out := Outcome{Name: outcomeNames[o], Strata: []Stratum{}}
	var w float64
	var est float64
	var sb, sa, cb, ca float64 // served sums, comparison weighted sums
	var matched []*cell
	for _, c := range cells {
		ns, nc := c.n(0, o), c.n(1, o)
		if ns == 0 && nc == 0 {
			continue
		}
		st := Stratum{StoreID: stores[c.store], Level: levelNames[c.level], Served: side(c, 0, o), Comparison: side(c, 1, o)}
		switch {
		case ns > 0 && nc > 0:
			st.Matched = true
			diff := st.Served.After - st.Comparison.After
			if o != oRevisit {
				diff = *st.Served.Change - *st.Comparison.Change
			}
			st.Diff = ptr(diff)
			fn := float64(ns)
			w += fn
			est += fn * diff
			out.MatchedServed += ns
			out.MatchedComparison += nc
			sb += c.before[0][o]
			sa += c.after[0][o]
			cb += fn * c.before[1][o] / float64(nc)
			ca += fn * c.after[1][o] / float64(nc)
			matched = append(matched, c)
		case ns > 0:
			out.UnmatchedServed += ns
		}
		out.Strata = append(out.Strata, st)
	}
	if out.MatchedServed < MinMatched {
		out.Status = StatusInsufficient
		return out
	}
	out.Status = StatusOK
	out.Served = &Side{N: out.MatchedServed, After: sa / w}
	out.Comparison = &Side{N: out.MatchedComparison, After: ca / w}
	if o != oRevisit {
		out.Served.Before, out.Served.Change = ptr(sb/w), ptr((sa-sb)/w)
		out.Comparison.Before, out.Comparison.Change = ptr(cb/w), ptr((ca-cb)/w)
	}
	out.Effect = ptr(est / w)
	reps := make([]float64, p.Resamples)
	ws := make([]float64, p.Resamples)
	for _, c := range matched {
		for b, x := range c.rep[o] {
			reps[b] += x
		}
		if o == oBasket {
			for b, x := range c.repW {
				ws[b] += x
			}
		}
	}
	for b := range reps {
		if o == oBasket {
			reps[b] /= ws[b] // ws > 0: some matched cell keeps basket customers on both sides in (almost) every resample
		} else {
			reps[b] /= w
		}
	}
	// A resample in which no stratum kept basket customers in both cohorts has no
	// basket effect (0/0); it is dropped and counted.
	reps = slices.DeleteFunc(reps, math.IsNaN)
	out.DroppedResamples = p.Resamples - len(reps)
	slices.Sort(reps)
	out.Low, out.High = ptr(quantile(reps, 0.025)), ptr(quantile(reps, 0.975))
	return out
}

// quantile is the type-7 (linear interpolation) quantile of sorted xs.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	h := float64(len(xs)-1) * q
	lo := int(math.Floor(h))
	if lo >= len(xs)-1 {
		return xs[len(xs)-1]
	}
	return xs[lo] + (h-float64(lo))*(xs[lo+1]-xs[lo])
}

// bootstrap fills every matched cell's resampled differences. Per cell and cohort, n
// customers are drawn with replacement from the cell's n (so each stratum keeps its
// weight), Resamples times; one draw of a customer serves every outcome (the basket
// mean is over the drawn customers with a basket). Each cell and cohort has its own
// random stream seeded by (seed, class, store id, level, cohort), so the result depends
// neither on the order cells are computed in nor on the other stores in the report.
func (d *Data) bootstrap(cells []*cell, class string, p Params) {
	var jobs []*cell
	for _, c := range cells {
		if len(c.vals[0]) > 0 && len(c.vals[1]) > 0 {
			jobs = append(jobs, c)
		}
	}
	// Biggest first, for balance.
	slices.SortStableFunc(jobs, func(x, y *cell) int {
		return (len(y.vals[0]) + len(y.vals[1])) - (len(x.vals[0]) + len(x.vals[1]))
	})
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, min(runtime.GOMAXPROCS(0), len(jobs))) {
		wg.Go(func() {
			var sums [2][]sum5
			for {
				i := int(next.Add(1)) - 1
				if i >= len(jobs) {
					return
				}
				c := jobs[i]
				B := p.Resamples
				for k := range 2 {
					if cap(sums[k]) < B {
						sums[k] = make([]sum5, B)
					}
					sums[k] = sums[k][:B]
					r := newRNG(streamSeed(p.Seed, class, d.stores[c.store], c.level, k))
					resample(&r, c.vals[k], sums[k])
				}
				ns, nc := float64(len(c.vals[0])), float64(len(c.vals[1]))
				for o := range nOutcomes {
					c.rep[o] = make([]float64, B)
				}
				c.repW = make([]float64, B)
				for b := range B {
					s, q := &sums[0][b], &sums[1][b]
					for o := range oBasket {
						// n_s × (served mean − comparison mean)
						c.rep[o][b] = s[o] - ns*q[o]/nc
					}
					if s[4] > 0 && q[4] > 0 {
						c.rep[oBasket][b] = s[3] - s[4]*q[3]/q[4]
						c.repW[b] = s[4]
					}
				}
			}
		})
	}
	wg.Wait()
}

// sum5 holds one resample's sums of the five values.
type sum5 [5]float64

// resample draws len(xs) customers with replacement, len(out) times, and sums their
// values. Two draws come from one 64-bit random number.
func resample(r *rng, xs [][5]float64, out []sum5) {
	n := uint32(len(xs))
	for b := range out {
		var s0, s1, s2, s3, s4 float64
		j := uint32(0)
		for ; j+1 < n; j += 2 {
			x := r.next()
			a := &xs[r.bounded(uint32(x), n)]
			c := &xs[r.bounded(uint32(x>>32), n)]
			s0 += a[0] + c[0]
			s1 += a[1] + c[1]
			s2 += a[2] + c[2]
			s3 += a[3] + c[3]
			s4 += a[4] + c[4]
		}
		if j < n {
			a := &xs[r.bounded(uint32(r.next()), n)]
			s0 += a[0]
			s1 += a[1]
			s2 += a[2]
			s3 += a[3]
			s4 += a[4]
		}
		out[b] = sum5{s0, s1, s2, s3, s4}
	}
}

func streamSeed(seed uint64, class, store string, level int8, cohort int) uint64 {
	h := fnv.New64a()
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], seed)
	h.Write(buf[:])
	h.Write([]byte(class))
	h.Write([]byte{0})
	h.Write([]byte(store))
	h.Write([]byte{0, byte(level), byte(cohort)})
	return h.Sum64()
}

// rng is wyrand (Wang Yi's 64-bit generator): fast, passes BigCrush, and fixed here so
// that a report is reproducible across Go versions.
type rng struct{ s uint64 }

func newRNG(seed uint64) rng { return rng{s: seed} }

func (r *rng) next() uint64 {
	r.s += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(r.s, r.s^0xe7037ed1a0b428db)
	return hi ^ lo
}

// bounded maps the 32 random bits u to [0, n) without bias (Lemire's multiply-shift;
// the rare rejected values are redrawn).
func (r *rng) bounded(u, n uint32) uint32 {
	m := uint64(u) * uint64(n)
	if uint32(m) < n {
		t := -n % n
		for uint32(m) < t {
			m = uint64(uint32(r.next())) * uint64(n)
		}
	}
	return uint32(m >> 32)
}
