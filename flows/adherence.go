package flows

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
	"strings"
)

// Chronic classes (see docs/adherence.md). ClassGeneral is not an adherence class: it
// names the questionnaire and knowledge-base scope used when no chronic class applies.
const (
	ClassHypertension   = "hypertension"
	ClassDiabetes       = "diabetes"
	ClassHyperlipidemia = "hyperlipidemia"
	ClassGeneral        = "general"
)

// Classes lists the chronic classes in display order.
func Classes() []string {
	return []string{ClassHypertension, ClassDiabetes, ClassHyperlipidemia}
}

var classPrefixes = [...]struct{ prefix, class string }{
	{"C02", ClassHypertension},
	{"C03", ClassHypertension},
	{"C07", ClassHypertension},
	{"C08", ClassHypertension},
	{"C09", ClassHypertension},
	{"A10B", ClassDiabetes}, // insulin (A10A) is deliberately not in the class
	{"C10", ClassHyperlipidemia},
}

// ClassOf returns the chronic class of an ATC code (case and surrounding spaces
// ignored), or "" when the code belongs to no class.
func ClassOf(atc string) string {
	atc = strings.TrimSpace(atc)
	for _, p := range classPrefixes {
		if len(atc) >= len(p.prefix) && strings.EqualFold(atc[:len(p.prefix)], p.prefix) {
			return p.class
		}
	}
	return ""
}

func classIndex(class string) int {
	switch class {
	case ClassHypertension:
		return 0
	case ClassDiabetes:
		return 1
	case ClassHyperlipidemia:
		return 2
	}
	return -1
}

// AdherenceOptions configure the analysis. Zero or negative fields take the defaults.
type AdherenceOptions struct {
	LookbackDays int // L, default DefaultLookbackDays
	HorizonDays  int // carry-in horizon before the window start, default DefaultHorizonDays
}

// DefaultAdherenceOptions returns L = DefaultLookbackDays, horizon = DefaultHorizonDays.
func DefaultAdherenceOptions() AdherenceOptions {
	return AdherenceOptions{LookbackDays: DefaultLookbackDays, HorizonDays: DefaultHorizonDays}
}

func (o AdherenceOptions) normalised() AdherenceOptions {
	d := DefaultAdherenceOptions()
	if o.LookbackDays <= 0 {
		o.LookbackDays = d.LookbackDays
	}
	if o.HorizonDays <= 0 {
		o.HorizonDays = d.HorizonDays
	}
	// keep the bitset bounded whatever a config file says
	if o.LookbackDays > 3660 {
		o.LookbackDays = 3660
	}
	if o.HorizonDays > 3660 {
		o.HorizonDays = 3660
	}
	return o
}

// Analysis is the step-1 result for one customer.
type Analysis struct {
	AsOf    Day              `json:"as_of"`
	Options AdherenceOptions `json:"-"`
	// Classes holds one result per chronic class with a fill in the horizon, in
	// Classes() order.
	Classes []ClassResult `json:"classes"`
	// Shown is every purchase dated inside the horizon [W−horizon, E], oldest first,
	// for the pharmacist to check.
	Shown []Purchase `json:"shown"`
	// Lines runs parallel to Shown with what the analysis made of each purchase.
	Lines []Line `json:"lines"`
	// Uncounted are the shown purchases that may matter for a chronic class but could
	// not be counted: days' supply unknown, or the drug unknown (no ATC anywhere).
	Uncounted []Purchase `json:"uncounted,omitempty"`
}

// Line is the analysis' reading of one shown purchase.
type Line struct {
	PurchaseID string `json:"purchase_id"`
	Day        Day    `json:"day"`
	Name       string `json:"name,omitempty"`
	Ingredient string `json:"ingredient,omitempty"`
	ATC        string `json:"atc,omitempty"`
	Class      string `json:"class,omitempty"`
	Kind       string `json:"kind,omitempty"` // rx | otc | nondrug: the purchase's, else the catalog's; "" unknown
	DaysSupply int    `json:"days_supply"`    // 0 unknown
	Counted    bool   `json:"counted"`
	// CoverFrom/CoverTo is the span the fill covers after same-ingredient shifting
	// (only for counted fills).
	CoverFrom Day `json:"cover_from,omitempty"`
	CoverTo   Day `json:"cover_to,omitempty"`
	// Unknown says why a purchase was not counted: "drug" (not in the catalog and no
	// ATC on the sale), "days_supply" (no way to know it) or "return" (negative
	// quantity: a refund line, never counted).
	Unknown string `json:"unknown,omitempty"`
}

// Class returns the result for a class.
func (a Analysis) Class(class string) (ClassResult, bool) {
	for _, r := range a.Classes {
		if r.Class == class {
			return r, true
		}
	}
	return ClassResult{}, false
}

// Worst returns the class result the pharmacist should address first: red before
// yellow before unknown before ok, ties in Classes() order. ok is false when the
// analysis has no class.
func (a Analysis) Worst() (ClassResult, bool) {
	best, bestRank := -1, -1
	for i, r := range a.Classes {
		rk := levelRank(r.Level)
		if rk > bestRank {
			best, bestRank = i, rk
		}
	}
	if best < 0 {
		return ClassResult{}, false
	}
	return a.Classes[best], true
}

// PrimaryClass is the class whose questionnaire step 2 uses: the Worst class, or
// ClassGeneral when the customer has no chronic class.
func (a Analysis) PrimaryClass() string {
	if r, ok := a.Worst(); ok {
		return r.Class
	}
	return ClassGeneral
}

func levelRank(level string) int {
	switch level {
	case LevelRed:
		return 3
	case LevelYellow:
		return 2
	case LevelUnknown:
		return 1
	}
	return 0
}

// MaxDaysSupply bounds one fill's days' supply (ten years); larger values are data
// errors and would overflow day arithmetic.
const MaxDaysSupply = 3660

// ReadPurchase is how the continuity analysis reads one purchase: the purchase as
// ResolvePurchase completes it from the catalog (its local date, drug facts, kind and
// days' supply), its class, and whether it counts (Counted) or why not (Unknown). The
// cover span is left empty. Apart from the copied ID, date and name, the result depends
// only on DrugCode, Ingredient, ATC, Kind, DaysSupply and Quantity, so a caller reading
// many purchases may cache it on those fields. cat may be nil.
func ReadPurchase(p Purchase, cat *Catalog) Line {
	ResolvePurchase(cat, &p)
	ln := Line{PurchaseID: p.ID, Day: DayOf(p.SoldAt), Name: p.Name, Ingredient: p.Ingredient,
		ATC: p.ATC, DaysSupply: p.DaysSupply, Kind: p.Kind}
	ln.Class = ClassOf(ln.ATC)
	switch {
	case p.Quantity < 0:
		// A return line: shown, never counted, not a missing-data problem.
		ln.Unknown = "return"
		ln.DaysSupply = 0
	case ln.ATC == "" && ln.Kind == KindNonDrug:
		// A non-drug product (blood-pressure monitor, pill organiser): shown only.
	case ln.ATC == "":
		// Unknown drug: it may be a chronic medicine we cannot attribute.
		ln.Unknown = "drug"
	case ln.Class == "":
		// Known, but not a chronic class: shown only.
	case ln.DaysSupply == 0:
		ln.Unknown = "days_supply"
	default:
		ln.Counted = true
	}
	return ln
}

// packSupply is round(quantity × pack days' supply) bounded to [1, MaxDaysSupply], or 0
// when either is unknown (pack 0, quantity not a positive finite number).
func packSupply(quantity float64, pack int) int {
	if pack <= 0 || !(quantity > 0) || math.IsInf(quantity, 0) {
		return 0
	}
	ds := math.Round(quantity * float64(pack))
	if ds < 1 {
		ds = 1
	}
	if ds > MaxDaysSupply {
		ds = MaxDaysSupply
	}
	return int(ds)
}

// IngredientKey is the key under which a counted fill shifts other fills (step 2 of the
// algorithm): the lower-cased ingredient, or the upper-cased full ATC code when the
// ingredient is not known (a full ATC code names one substance).
func IngredientKey(ln Line) string {
	if ln.Ingredient == "" {
		return strings.ToUpper(ln.ATC)
	}
	return strings.ToLower(ln.Ingredient)
}

// CoverFill is one counted fill of a class as ClassCoverage sees it.
type CoverFill struct {
	Day    Day
	Supply int32 // days' supply, ≥ 1
	Ingr   int32 // fills with the same Ingr shift each other; any numbering will do
}

// CoverSpan is the span a fill covers after same-ingredient shifting.
type CoverSpan struct{ From, To Day }

// Coverage is the PDC of one class as of a date (steps 3–7 of the algorithm).
type Coverage struct {
	PeriodStart       Day
	PeriodDays        int
	CoveredDays       int
	DaysWithoutSupply int
	Fills             int // fills in the horizon
	PDC               float64
	Level             string
}

// ClassCoverage is the core of Analyze for one class: the PQA-style PDC as of asOf over
// the counted fills of the class, which must be grouped by Ingr with each group in date
// order (a stable sort on Ingr of a date-sorted list). Fills outside the horizon
// [W − HorizonDays, asOf] are skipped, so one sorted list serves any as-of date. ok is
// false when no fill lies in the horizon (the class has no result). spans, if not nil,
// must have len(fills) and receives each fill's covered span (left as is for skipped
// fills). It allocates nothing for lookbacks up to 256 days.
func ClassCoverage(fills []CoverFill, asOf Day, opt AdherenceOptions, spans []CoverSpan) (c Coverage, ok bool) {
	opt = opt.normalised()
	E := asOf
	W := E - Day(opt.LookbackDays-1)
	H := W - Day(opt.HorizonDays)
	L := opt.LookbackDays
	words := (L + 63) / 64
	var bstack [4]uint64
	var cov []uint64
	if words <= len(bstack) {
		cov = bstack[:words]
	} else {
		cov = make([]uint64, words)
	}
	S := E + 1
	lastCov := Day(math.MinInt32)
	var cursor Day
	prevIngr := int32(math.MinInt32)
	first := true
	for fi := range fills {
		f := &fills[fi]
		if f.Day < H || f.Day > E {
			continue
		}
		if first || f.Ingr != prevIngr {
			first = false
			prevIngr = f.Ingr
			cursor = math.MinInt32
		}
		if f.Day < S {
			S = f.Day
		}
		supply := min(max(int(f.Supply), 1), MaxDaysSupply)
		start := max(f.Day, cursor)
		end := start + Day(supply) - 1
		cursor = end + 1
		if spans != nil {
			spans[fi] = CoverSpan{start, end}
		}
		c.Fills++
		if start > E {
			continue
		}
		if e := min(end, E); e > lastCov {
			lastCov = e
		}
		lo, hi := max(start, W), min(end, E)
		if lo <= hi {
			setRange(cov, int(lo-W), int(hi-W))
		}
	}
	if c.Fills == 0 {
		return Coverage{}, false
	}
	if S < W {
		S = W
	}
	c.PeriodStart = S
	c.PeriodDays = int(E-S) + 1
	// Only [S, E] counts; bits before S are never set because no fill starts before S
	// unless S == W.
	for _, w := range cov {
		c.CoveredDays += bits.OnesCount64(w)
	}
	c.PDC = float64(c.CoveredDays) / float64(c.PeriodDays)
	c.DaysWithoutSupply = int(E - lastCov)
	c.Level = levelOf(c.CoveredDays, c.PeriodDays, c.DaysWithoutSupply)
	return c, true
}

// Analyze computes the PQA-style PDC over a 90-day lookback for every chronic class of
// the customer's purchases as of asOf (see docs/adherence.md). Each purchase is read by
// ReadPurchase; a purchase whose days' supply cannot be known is shown but not counted.
// cat may be nil.
func Analyze(purchases []Purchase, cat *Catalog, asOf Day, opt AdherenceOptions) Analysis {
	opt = opt.normalised()
	E := asOf
	W := E - Day(opt.LookbackDays-1)
	H := W - Day(opt.HorizonDays)
	a := Analysis{AsOf: E, Options: opt}

	// Collect purchases in the horizon, oldest first (stable on input order).
	type dated struct {
		d Day
		i int
	}
	var stack [64]dated
	in := stack[:0]
	for i := range purchases {
		d := DayOf(purchases[i].SoldAt)
		if d < H || d > E {
			continue
		}
		in = append(in, dated{d, i})
	}
	byDay := func(x, y dated) int { return cmp.Compare(x.d, y.d) }
	if !slices.IsSortedFunc(in, byDay) { // a store's history usually comes in order
		slices.SortStableFunc(in, byDay)
	}

	type fill struct {
		class int
		ingr  string
		line  int // index into Lines/Shown
	}
	a.Shown = make([]Purchase, len(in))
	a.Lines = make([]Line, len(in))
	fills := make([]fill, 0, len(in))
	var uncountedByClass [3][]string
	var anyFill [3]bool
	for k, dp := range in {
		p := purchases[dp.i]
		a.Shown[k] = p
		ln := ReadPurchase(p, cat)
		ci := classIndex(ln.Class)
		switch {
		case ln.Counted:
			fills = append(fills, fill{class: ci, ingr: IngredientKey(ln), line: k})
			anyFill[ci] = true
		case ln.Unknown == "drug":
			a.Uncounted = append(a.Uncounted, p)
		case ln.Unknown == "days_supply":
			a.Uncounted = append(a.Uncounted, p)
			uncountedByClass[ci] = append(uncountedByClass[ci], p.ID)
		}
		a.Lines[k] = ln
	}

	// Group by class, then ingredient, then date (input is already date-sorted, so a
	// stable sort keeps same-day fills in input order).
	slices.SortStableFunc(fills, func(x, y fill) int {
		if c := cmp.Compare(x.class, y.class); c != 0 {
			return c
		}
		return strings.Compare(x.ingr, y.ingr)
	})
	var cstack [64]CoverFill
	var sstack [64]CoverSpan
	var istack [64]int
	cf, spans, idx := cstack[:0], sstack[:0], istack[:0]
	classes := Classes()
	for ci := 0; ci < 3; ci++ {
		if !anyFill[ci] && len(uncountedByClass[ci]) == 0 {
			continue
		}
		r := ClassResult{Class: classes[ci], LookbackDays: opt.LookbackDays, Uncounted: uncountedByClass[ci]}
		if !anyFill[ci] {
			r.Level = LevelUnknown
			a.Classes = append(a.Classes, r)
			continue
		}
		cf, spans, idx = cf[:0], spans[:0], idx[:0]
		ingr := int32(-1)
		prev := "\x00"
		for fi := range fills {
			f := &fills[fi]
			if f.class != ci {
				continue
			}
			if f.ingr != prev {
				prev = f.ingr
				ingr++
			}
			ln := &a.Lines[f.line]
			cf = append(cf, CoverFill{Day: ln.Day, Supply: int32(ln.DaysSupply), Ingr: ingr})
			spans = append(spans, CoverSpan{})
			idx = append(idx, f.line)
		}
		c, _ := ClassCoverage(cf, E, opt, spans)
		for j, line := range idx {
			ln := &a.Lines[line]
			ln.CoverFrom, ln.CoverTo = spans[j].From, spans[j].To
			r.FillIDs = append(r.FillIDs, a.Shown[line].ID)
		}
		r.Fills = c.Fills
		r.PeriodStart, r.PeriodDays, r.CoveredDays = c.PeriodStart, c.PeriodDays, c.CoveredDays
		r.PDC, r.DaysWithoutSupply, r.Level = c.PDC, c.DaysWithoutSupply, c.Level
		a.Classes = append(a.Classes, r)
	}
	return a
}

// setRange sets bits lo..hi inclusive.
func setRange(b []uint64, lo, hi int) {
	for lo <= hi {
		w, o := lo/64, lo%64
		n := min(hi-lo+1, 64-o)
		var m uint64
		if n == 64 {
			m = ^uint64(0)
		} else {
			m = ((uint64(1) << n) - 1) << o
		}
		b[w] |= m
		lo += n
	}
}

// levelOf applies the thresholds with integer arithmetic, so boundaries are exact:
// red if gap > 14 or (period ≥ 30 and pdc < 0.5); yellow if gap ≥ 4 or
// (period ≥ 30 and pdc < 0.8); ok otherwise.
func levelOf(covered, period, gap int) string {
	judged := period >= 30
	switch {
	case gap > 14 || (judged && covered*2 < period):
		return LevelRed
	case gap >= 4 || (judged && covered*5 < period*4):
		return LevelYellow
	}
	return LevelOK
}

// Percent is the pdc as a whole percentage for display. It is rounded, but never
// rounded up across a level threshold (a pdc of 0.797 shows 79%, not 80%).
func Percent(r ClassResult) int {
	p := int(math.Round(r.PDC * 100))
	if r.PeriodDays > 0 {
		if r.CoveredDays*5 < r.PeriodDays*4 && p >= 80 {
			p = 79
		}
		if r.CoveredDays*2 < r.PeriodDays && p >= 50 {
			p = 49
		}
	}
	return p
}

// Alert codes: what the counter says about one class. The words are the translations'
// (alert.<code>); flows gives the code and the numbers.
const (
	// AlertGap: yellow or red — continuity in doubt: Percent over LookbackDays days,
	// DaysWithoutSupply days without supply (and Uncounted purchases not counted, if any).
	AlertGap = "gap"
	// AlertNotComputable: level unknown — Uncounted purchases of the class lack days'
	// supply, so no coverage can be computed.
	AlertNotComputable = "not_computable"
	// AlertUncounted: ok, but Uncounted purchases of the class lack days' supply and were
	// not counted.
	AlertUncounted = "uncounted"
)

// Alert is the counter's alert for one class as a code and its numbers.
type Alert struct {
	Code              string `json:"code"`  // AlertGap, AlertNotComputable or AlertUncounted
	Class             string `json:"class"` // chronic class
	Level             string `json:"level"`
	LookbackDays      int    `json:"lookback_days"`
	Percent           int    `json:"percent"` // Percent(r)
	DaysWithoutSupply int    `json:"days_without_supply"`
	Uncounted         int    `json:"uncounted"` // purchases of the class without days' supply
}

// AlertOf is the alert for one class result: AlertGap for yellow and red,
// AlertNotComputable for unknown, AlertUncounted for a class otherwise ok that has
// purchases it could not count. ok is false when there is nothing to say.
func AlertOf(r ClassResult) (Alert, bool) {
	a := Alert{Class: r.Class, Level: r.Level, LookbackDays: r.LookbackDays, Percent: Percent(r),
		DaysWithoutSupply: r.DaysWithoutSupply, Uncounted: len(r.Uncounted)}
	if a.LookbackDays <= 0 {
		a.LookbackDays = DefaultLookbackDays
	}
	switch {
	case r.Level == LevelYellow || r.Level == LevelRed:
		a.Code = AlertGap
	case r.Level == LevelUnknown:
		a.Code = AlertNotComputable
	case a.Uncounted > 0:
		a.Code = AlertUncounted
	default:
		return Alert{}, false
	}
	return a, true
}

// UnknownDrugs is how many shown purchases have an unknown drug (not in the catalog and
// no ATC on the sale), so they could not be counted for any class.
func UnknownDrugs(a Analysis) int {
	n := 0
	for _, ln := range a.Lines {
		if ln.Unknown == "drug" {
			n++
		}
	}
	return n
}
