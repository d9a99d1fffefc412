package effect

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/pharmachain/counter/flows"
)

// Defaults of Params.
const (
	DefaultResamples = 1000
	// DefaultSeed seeds the bootstrap, so the same facts give the same report.
	DefaultSeed uint64 = 0x5eed_2026_0012
	// MinMatched is the least matched served n an effect is given for.
	MinMatched = 30
	// Window lengths (days) of the definitions in docs/effect.md.
	FollowUpDays     = 90  // follow-up PDC window [index, index+89]
	EstablishedDays  = 180 // a class fill in [index−180, index−1]
	ComparisonGuard  = 90  // no complete visit listing the class in [from−90, to]
	RevisitDays      = 30  // any purchase in [index+1, index+30]
	BasketDays       = 90  // [index−90, index−1] and [index, index+89]
	ConversionDays   = 14  // a product bought in [visit day, visit day+14]
	maxResamples     = 100000
	defaultLookback  = flows.DefaultLookbackDays
	defaultHorizon   = flows.DefaultHorizonDays
	levelOK, levelYl = 0, 1
	levelRed         = 2
)

// Outcome names, in report order.
const (
	OutcomePDC       = "pdc"           // follow-up PDC − baseline PDC (fraction; ×100 = percentage points)
	OutcomeRevisit30 = "revisit30"     // share with a purchase in [index+1, index+30]
	OutcomeRxBasket  = "rx_basket_fen" // mean rx amount per rx receipt, after − before (fen)
	OutcomeNonDrug   = "nondrug_fen"   // non-drug spend, after − before (fen)
)

// Statuses of an outcome's effect.
const (
	StatusOK           = "ok"
	StatusInsufficient = "insufficient_data" // matched served n < MinMatched: no number
)

// Cohort names.
const (
	CohortServed     = "served"
	CohortComparison = "comparison"
)

var cohortNames = [2]string{CohortServed, CohortComparison}

// Params select a report. From, To and AsOf are local dates; facts dated after AsOf
// are treated as not yet known.
type Params struct {
	From, To, AsOf flows.Day
	StoreID        string // "" every store
	Class          string // "" every chronic class
	Resamples      int    // 0: DefaultResamples
	Seed           uint64 // 0: DefaultSeed
}

func (p *Params) normalise() error {
	switch {
	case p.From > p.To:
		return fmt.Errorf("effect: from %s is after to %s", p.From, p.To)
	case p.From > p.AsOf:
		return fmt.Errorf("effect: from %s is after as_of %s", p.From, p.AsOf)
	case p.Class != "" && classIndex(p.Class) < 0:
		return fmt.Errorf("effect: class %q, want hypertension, diabetes or hyperlipidemia", p.Class)
	case p.Resamples < 0 || p.Resamples > maxResamples:
		return fmt.Errorf("effect: resamples %d outside 0..%d", p.Resamples, maxResamples)
	}
	if p.Resamples == 0 {
		p.Resamples = DefaultResamples
	}
	if p.Seed == 0 {
		p.Seed = DefaultSeed
	}
	return nil
}

// Report is the effect report.
type Report struct {
	From      flows.Day     `json:"from"`
	To        flows.Day     `json:"to"`
	AsOf      flows.Day     `json:"as_of"`
	StoreID   string        `json:"store_id,omitempty"`
	Resamples int           `json:"resamples"`
	Seed      uint64        `json:"seed"`
	MinN      int           `json:"min_matched_served"`
	Classes   []ClassReport `json:"classes"`
	// Conversion of the recommendations made in complete visits started in [from, to].
	Conversion Conversion `json:"conversion"`
}

// ClassReport is one chronic class.
type ClassReport struct {
	Class      string      `json:"class"`
	Served     CohortCount `json:"served"`
	Comparison CohortCount `json:"comparison"`
	Outcomes   []Outcome   `json:"outcomes"` // pdc, revisit30, rx_basket_fen, nondrug_fen
}

// CohortCount counts a cohort's customers: Customers met the cohort rule; of them New
// had no class fill in the 180 days before the index, Pending are established but
// index + 89 d is after as_of, and Included (established and mature) are analysed.
type CohortCount struct {
	Customers int `json:"customers"`
	New       int `json:"new"`
	Pending   int `json:"pending"`
	Included  int `json:"included"`
}

// Outcome is one outcome's estimate.
type Outcome struct {
	Name   string `json:"name"`
	Status string `json:"status"` // ok | insufficient_data
	// MatchedServed is Σ n_served over strata having both cohorts (the weight);
	// UnmatchedServed the served in strata without comparison customers.
	MatchedServed     int `json:"matched_served"`
	UnmatchedServed   int `json:"unmatched_served"`
	MatchedComparison int `json:"matched_comparison"`
	// Served: means over the matched served. Comparison: stratum means weighted by
	// n_served (standardised to the served), so Effect = Served.Change − Comparison.Change
	// (for revisit30, which has no before: Served.After − Comparison.After). Omitted
	// with insufficient data.
	Served     *Side `json:"served,omitempty"`
	Comparison *Side `json:"comparison,omitempty"`
	// Effect and its 95 % bootstrap interval [Low, High]; omitted with insufficient data.
	Effect *float64 `json:"effect,omitempty"`
	Low    *float64 `json:"low,omitempty"`
	High   *float64 `json:"high,omitempty"`
	// DroppedResamples: resamples without an estimate (only the Rx basket can have
	// them, when a resample leaves no stratum with basket customers in both cohorts).
	DroppedResamples int `json:"dropped_resamples,omitempty"`
	// Strata lists every (store, baseline level) with a customer for this outcome,
	// matched or not, in store then level order.
	Strata []Stratum `json:"strata"`
}

// Side is a cohort's means: Before and Change are omitted for revisit30.
type Side struct {
	N      int      `json:"n"`
	Before *float64 `json:"before,omitempty"`
	After  float64  `json:"after"`
	Change *float64 `json:"change,omitempty"`
}

// Stratum is one (store, baseline level) cell.
type Stratum struct {
	StoreID    string   `json:"store_id"`
	Level      string   `json:"level"` // ok | yellow | red
	Matched    bool     `json:"matched"`
	Served     Side     `json:"served"`
	Comparison Side     `json:"comparison"`
	Diff       *float64 `json:"diff,omitempty"` // served − comparison (change, or share for revisit30); matched only
}

// Conversion of accepted recommendations vs declined ones (the control). Only
// recommendations of items with product codes count; a recommendation whose visit day
// + 14 d is after as_of is pending.
type Conversion struct {
	Accepted Rate             `json:"accepted"`
	Declined Rate             `json:"declined"`
	Pending  int              `json:"pending"`
	Items    []ItemConversion `json:"items"`
}

// Rate is converted of n (Share omitted when n = 0).
type Rate struct {
	N         int      `json:"n"`
	Converted int      `json:"converted"`
	Share     *float64 `json:"share,omitempty"`
}

func (r *Rate) finish() {
	if r.N > 0 {
		s := float64(r.Converted) / float64(r.N)
		r.Share = &s
	}
}

// ItemConversion is one knowledge-base item's conversion.
type ItemConversion struct {
	ItemID   string `json:"item_id"`
	Accepted Rate   `json:"accepted"`
	Declined Rate   `json:"declined"`
}

// Customer statuses in a cohort.
const (
	CustomerIncluded = "included" // established and mature: analysed
	CustomerNew      = "new"      // no class fill in [index−180, index−1]
	CustomerPending  = "pending"  // index + 89 d after as_of
)

// CustomerRow is one customer of one class's cohort with its outcomes, for analysts
// recomputing the report (Customers). Outcomes are set for included customers only.
type CustomerRow struct {
	CustomerKey string    `json:"customer_key"`
	Class       string    `json:"class"`
	Cohort      string    `json:"cohort"` // served | comparison
	StoreID     string    `json:"store_id"`
	Index       flows.Day `json:"index"`
	Status      string    `json:"status"` // included | new | pending
	Level       string    `json:"level,omitempty"`
	PDCBefore   float64   `json:"pdc_before"`
	PDCAfter    float64   `json:"pdc_after"`
	Revisit30   bool      `json:"revisit30"`
	// HasBasket: rx receipts (with every rx amount known) in both windows.
	HasBasket     bool    `json:"has_basket"`
	BasketBefore  float64 `json:"basket_before_fen"`
	BasketAfter   float64 `json:"basket_after_fen"`
	NonDrugBefore float64 `json:"nondrug_before_fen"`
	NonDrugAfter  float64 `json:"nondrug_after_fen"`
}

// Customers lists every customer of the cohorts the report for p would count (new and
// pending ones too), in class, store, cohort and customer-key order.
func (d *Data) Customers(p Params) ([]CustomerRow, error) {
	if err := p.normalise(); err != nil {
		return nil, err
	}
	q, ok := d.query(p)
	if !ok {
		return []CustomerRow{}, nil
	}
	sc := scratch{conv: convAcc{items: make([]itemAcc, len(d.itemIDs))}, rows: []CustomerRow{}}
	for u := range len(d.keys) {
		d.evalCustomer(int32(u), &q, &sc)
	}
	slices.SortFunc(sc.rows, func(x, y CustomerRow) int {
		return cmp.Or(cmp.Compare(classIndex(x.Class), classIndex(y.Class)), strings.Compare(x.StoreID, y.StoreID),
			strings.Compare(x.Cohort, y.Cohort), strings.Compare(x.CustomerKey, y.CustomerKey))
	})
	return sc.rows, nil
}

// query turns params into the loops' form; ok is false for an unknown store (nothing
// to report).
func (d *Data) query(p Params) (query, bool) {
	q := query{from: p.From, to: min(p.To, p.AsOf), asOf: p.AsOf, classMask: 7, store: -1, qclass: -1}
	if p.Class != "" {
		ci := classIndex(p.Class)
		q.classMask = 1 << ci
		q.qclass = int8(ci)
	}
	if p.StoreID != "" {
		s, ok := d.storeIdx[p.StoreID]
		if !ok {
			return q, false
		}
		q.store = s
	}
	return q, true
}

// unit is one included customer of one class and cohort.
type unit struct {
	cust   int32
	store  int32
	class  int8
	level  int8
	cohort int8 // 0 served, 1 comparison
	basket bool
	pdcB   float64
	pdcA   float64
	rev    float64
	ndB    float64
	ndA    float64
	bB     float64
	bA     float64
}

type query struct {
	from, to, asOf flows.Day
	classMask      uint8
	store          int32 // -1 every store
	qclass         int8  // -1 every class (conversion)
}

// scratch is one worker's reusable memory.
type scratch struct {
	fills []flows.CoverFill
	rcpt  []receipt
	units []unit
	count [3][2]CohortCount
	conv  convAcc
	rows  []CustomerRow // Customers only
}

type receipt struct {
	key   uint64
	sum   int64
	bad   bool
	after bool
}

type convAcc struct {
	acc, dec, pending int
	accConv, decConv  int
	items             []itemAcc
}

type itemAcc struct{ acc, accConv, dec, decConv int }

// Effect computes the effect report (docs/effect.md).
func (d *Data) Effect(p Params) (Report, error) {
	if err := p.normalise(); err != nil {
		return Report{}, err
	}
	rep := Report{From: p.From, To: p.To, AsOf: p.AsOf, StoreID: p.StoreID, Resamples: p.Resamples, Seed: p.Seed, MinN: MinMatched}
	q, known := d.query(p)

	// Per customer, in parallel over contiguous customer ranges.
	workers := max(1, min(runtime.GOMAXPROCS(0), 8))
	scs := make([]scratch, workers)
	if known {
		n := len(d.keys)
		var wg sync.WaitGroup
		for w := range workers {
			lo, hi := n*w/workers, n*(w+1)/workers
			sc := &scs[w]
			sc.conv.items = make([]itemAcc, len(d.itemIDs))
			wg.Go(func() {
				for u := lo; u < hi; u++ {
					d.evalCustomer(int32(u), &q, sc)
				}
			})
		}
		wg.Wait()
	}
	var units []unit
	var count [3][2]CohortCount
	conv := convAcc{items: make([]itemAcc, len(d.itemIDs))}
	for w := range scs {
		sc := &scs[w]
		units = append(units, sc.units...)
		for c := range 3 {
			for k := range 2 {
				count[c][k].Customers += sc.count[c][k].Customers
				count[c][k].New += sc.count[c][k].New
				count[c][k].Pending += sc.count[c][k].Pending
				count[c][k].Included += sc.count[c][k].Included
			}
		}
		conv.acc += sc.conv.acc
		conv.accConv += sc.conv.accConv
		conv.dec += sc.conv.dec
		conv.decConv += sc.conv.decConv
		conv.pending += sc.conv.pending
		for i, it := range sc.conv.items {
			conv.items[i].acc += it.acc
			conv.items[i].accConv += it.accConv
			conv.items[i].dec += it.dec
			conv.items[i].decConv += it.decConv
		}
		sc.units = nil
	}
	// Strata order: class, store, level, cohort; within, the canonical customer order
	// the workers produced (a stable counting sort keeps it).
	units = d.bucketSort(units)
	classes := flows.Classes()
	for ci := range 3 {
		if q.classMask&(1<<ci) == 0 {
			continue
		}
		lo, _ := slices.BinarySearchFunc(units, int8(ci), func(u unit, c int8) int { return cmp.Compare(u.class, c) })
		hi, _ := slices.BinarySearchFunc(units, int8(ci+1), func(u unit, c int8) int { return cmp.Compare(u.class, c) })
		cr := ClassReport{Class: classes[ci], Served: count[ci][0], Comparison: count[ci][1]}
		cr.Outcomes = d.estimate(units[lo:hi], classes[ci], p)
		rep.Classes = append(rep.Classes, cr)
	}
	rep.Conversion = Conversion{
		Accepted: Rate{N: conv.acc, Converted: conv.accConv},
		Declined: Rate{N: conv.dec, Converted: conv.decConv},
		Pending:  conv.pending,
		Items:    []ItemConversion{},
	}
	rep.Conversion.Accepted.finish()
	rep.Conversion.Declined.finish()
	for i, it := range conv.items {
		if it.acc+it.dec == 0 {
			continue
		}
		ic := ItemConversion{ItemID: d.itemIDs[i], Accepted: Rate{N: it.acc, Converted: it.accConv}, Declined: Rate{N: it.dec, Converted: it.decConv}}
		ic.Accepted.finish()
		ic.Declined.finish()
		rep.Conversion.Items = append(rep.Conversion.Items, ic)
	}
	return rep, nil
}

var adherenceOpts = flows.AdherenceOptions{LookbackDays: defaultLookback, HorizonDays: defaultHorizon}

// bucketSort orders units by (class, store, level, cohort), stably.
func (d *Data) bucketSort(units []unit) []unit {
	ns := len(d.stores)
	bucket := func(u *unit) int {
		return ((int(u.class)*ns+int(u.store))*3+int(u.level))*2 + int(u.cohort)
	}
	off := make([]int, 3*ns*3*2+1)
	for i := range units {
		off[bucket(&units[i])+1]++
	}
	for i := 1; i < len(off); i++ {
		off[i] += off[i-1]
	}
	out := make([]unit, len(units))
	for i := range units {
		b := bucket(&units[i])
		out[off[b]] = units[i]
		off[b]++
	}
	return out
}

// evalCustomer finds the customer's cohort and outcomes per class and the conversions
// of their complete visits.
func (d *Data) evalCustomer(u int32, q *query, sc *scratch) {
	lines := d.lines[d.lineOff[u]:d.lineOff[u+1]]
	vis := d.vis[d.visOff[u]:d.visOff[u+1]]
	for ci := range int8(3) {
		if q.classMask&d.cmask[u]&(1<<ci) == 0 {
			continue
		}
		bit := uint8(1) << ci
		var index flows.Day
		store := int32(-1)
		cohort := int8(0)
		for i := range vis {
			v := &vis[i]
			if v.day > q.to {
				break
			}
			if v.day >= q.from && v.classes&bit != 0 {
				index, store = v.day, v.store
				break
			}
		}
		if store < 0 {
			blocked := false
			for i := range vis {
				v := &vis[i]
				if v.day > q.to {
					break
				}
				if v.day >= q.from-ComparisonGuard && v.classes&bit != 0 {
					blocked = true
					break
				}
			}
			if blocked {
				continue
			}
			for i := range lines {
				l := &lines[i]
				if l.day > q.to {
					break
				}
				if inf := &d.infos[l.info]; l.day >= q.from && inf.counted && inf.class == ci {
					index, store, cohort = l.day, l.store, 1
					break
				}
			}
			if store < 0 {
				continue
			}
		}
		if q.store >= 0 && store != q.store {
			continue
		}
		cnt := &sc.count[ci][cohort]
		cnt.Customers++
		row := func(status string) *CustomerRow {
			if sc.rows == nil {
				return nil
			}
			sc.rows = append(sc.rows, CustomerRow{CustomerKey: d.keys[u], Class: flows.Classes()[ci], Cohort: cohortNames[cohort],
				StoreID: d.stores[store], Index: index, Status: status})
			return &sc.rows[len(sc.rows)-1]
		}
		established := false
		for i := range lines {
			l := &lines[i]
			if l.day >= index {
				break
			}
			if inf := &d.infos[l.info]; l.day >= index-EstablishedDays && inf.counted && inf.class == ci {
				established = true
				break
			}
		}
		if !established {
			cnt.New++
			row(CustomerNew)
			continue
		}
		if index+FollowUpDays-1 > q.asOf {
			cnt.Pending++
			row(CustomerPending)
			continue
		}
		cnt.Included++
		un := d.outcomes(u, ci, cohort, index, store, lines, sc)
		if r := row(CustomerIncluded); r != nil {
			r.Level = levelNames[un.level]
			r.PDCBefore, r.PDCAfter, r.Revisit30 = un.pdcB, un.pdcA, un.rev == 1
			r.HasBasket, r.BasketBefore, r.BasketAfter = un.basket, un.bB, un.bA
			r.NonDrugBefore, r.NonDrugAfter = un.ndB, un.ndA
			continue
		}
		sc.units = append(sc.units, un)
	}
	d.conversions(vis, lines, q, sc)
}

// outcomes computes one included customer's outcomes.
func (d *Data) outcomes(u int32, ci, cohort int8, index flows.Day, store int32, lines []pline, sc *scratch) unit {
	un := unit{cust: u, store: store, class: ci, cohort: cohort}
	// PDC: flows' coverage over the class's counted fills, grouped by ingredient.
	fills := sc.fills[:0]
	for i := range lines {
		l := &lines[i]
		if inf := &d.infos[l.info]; inf.counted && inf.class == ci {
			fills = append(fills, flows.CoverFill{Day: l.day, Supply: inf.supply, Ingr: inf.ingr})
		}
	}
	byIngr := func(x, y flows.CoverFill) int { return cmp.Compare(x.Ingr, y.Ingr) }
	if !slices.IsSortedFunc(fills, byIngr) {
		slices.SortStableFunc(fills, byIngr)
	}
	sc.fills = fills
	base, _ := flows.ClassCoverage(fills, index-1, adherenceOpts, nil)
	fol, _ := flows.ClassCoverage(fills, index+FollowUpDays-1, adherenceOpts, nil)
	un.pdcB, un.pdcA = base.PDC, fol.PDC
	switch base.Level {
	case flows.LevelYellow:
		un.level = levelYl
	case flows.LevelRed:
		un.level = levelRed
	default:
		un.level = levelOK
	}
	// Revisit, Rx basket and non-drug spend.
	rc := sc.rcpt[:0]
	for i := range lines {
		l := &lines[i]
		if l.day < index-BasketDays {
			continue
		}
		if l.day > index+BasketDays-1 {
			break
		}
		inf := &d.infos[l.info]
		if inf.ret {
			continue
		}
		after := l.day >= index
		if l.day > index && l.day <= index+RevisitDays {
			un.rev = 1
		}
		switch inf.kind {
		case kindNonDrug:
			if l.amount >= 0 {
				if after {
					un.ndA += float64(l.amount)
				} else {
					un.ndB += float64(l.amount)
				}
			}
		case kindRx:
			k := -1
			for j := range rc {
				if rc[j].key == l.receipt && rc[j].after == after {
					k = j
					break
				}
			}
			if k < 0 {
				rc = append(rc, receipt{key: l.receipt, after: after})
				k = len(rc) - 1
			}
			if l.amount < 0 {
				rc[k].bad = true
			} else {
				rc[k].sum += l.amount
			}
		}
	}
	sc.rcpt = rc
	var nB, nA int
	var sB, sA int64
	for _, r := range rc {
		switch {
		case r.bad:
		case r.after:
			nA++
			sA += r.sum
		default:
			nB++
			sB += r.sum
		}
	}
	if nB > 0 && nA > 0 {
		un.basket = true
		un.bB, un.bA = float64(sB)/float64(nB), float64(sA)/float64(nA)
	}
	return un
}

// conversions counts the recommendations of the customer's complete visits in the
// period.
func (d *Data) conversions(vis []vrec, lines []pline, q *query, sc *scratch) {
	for i := range vis {
		v := &vis[i]
		if v.day > q.to {
			break
		}
		if v.day < q.from || (q.store >= 0 && v.store != q.store) || (q.qclass >= 0 && v.qclass != q.qclass) {
			continue
		}
		for _, r := range v.recs {
			if r.item < 0 || r.accepted < 0 || len(d.itemEnt[r.item]) == 0 {
				continue
			}
			if v.day+ConversionDays > q.asOf {
				sc.conv.pending++
				continue
			}
			ents := d.itemEnt[r.item]
			conv := false
			for j := range lines {
				l := &lines[j]
				if l.day < v.day {
					continue
				}
				if l.day > v.day+ConversionDays {
					break
				}
				if inf := &d.infos[l.info]; !inf.ret && inf.entry >= 0 && slices.Contains(ents, inf.entry) {
					conv = true
					break
				}
			}
			it := &sc.conv.items[d.itemOf[r.item]]
			if r.accepted == 1 {
				sc.conv.acc++
				it.acc++
				if conv {
					sc.conv.accConv++
					it.accConv++
				}
			} else {
				sc.conv.dec++
				it.dec++
				if conv {
					sc.conv.decConv++
					it.decConv++
				}
			}
		}
	}
}
