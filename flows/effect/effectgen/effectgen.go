// Package effectgen generates a synthetic pharmacy chain for the effect report's tests
// and benchmarks: customers of one chronic class each who refill with a
// customer-specific delay, some of them served (a complete four-step visit on their
// first refill in the period), with a built-in effect on the served customers' refill
// delays and non-drug spend after the visit, and the ground truth of that effect
// computed on each served customer's counterfactual history (the same random draws
// without the effect).
//
// Served customers are chosen at random, independently of their behaviour, so within a
// stratum (store × baseline level) the comparison customers show what the served
// would have done: the difference-in-differences estimates the truth.
package effectgen

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/effect"
)

// Config describes a chain. Zero fields take the defaults noted.
type Config struct {
	Seed              uint64
	Stores            int // default 10
	CustomersPerStore int // default 100
	// From, To, AsOf: the report period the chain is built for (default 2026-01-01 …
	// 2026-12-31, as of 2026-12-31). Purchases start HistoryDays before From.
	From, To, AsOf flows.Day
	HistoryDays    int     // default 200
	ServedShare    float64 // share of customers served, default 0.5
	// PDCEffect θ ∈ [0, 1): after their index, served customers' refill delays are
	// (1 − θ) of what they would have been.
	PDCEffect float64
	// NonDrugFen: a served customer who accepts the pill organiser (half of them) buys
	// it for this many fen on the index day (0: nobody buys it).
	NonDrugFen int64
	// ExtraLines is the expected number of OTC / non-drug lines per trip (default 0.25).
	ExtraLines float64
	// AbandonedVisits is the share of a customer's trips in the period with an abandoned
	// visit when no complete one is recorded (default 0.6).
	AbandonedVisits float64
	// Batch: visits are emitted in day order within batches of this many customers
	// (default 4096), so consecutive visits come from different customers as they do
	// from storage keyed by visit id.
	Batch int
}

func (c *Config) defaults() {
	if c.Stores <= 0 {
		c.Stores = 10
	}
	if c.CustomersPerStore <= 0 {
		c.CustomersPerStore = 100
	}
	if c.From == 0 && c.To == 0 {
		c.From, c.To = flows.DayFromDate(2026, 1, 1), flows.DayFromDate(2026, 12, 31)
	}
	if c.AsOf == 0 {
		c.AsOf = c.To
	}
	if c.HistoryDays <= 0 {
		c.HistoryDays = 200
	}
	if c.ServedShare == 0 {
		c.ServedShare = 0.5
	}
	if c.ExtraLines == 0 {
		c.ExtraLines = 0.25
	}
	if c.AbandonedVisits == 0 {
		c.AbandonedVisits = 0.6
	}
	if c.Batch <= 0 {
		c.Batch = 4096
	}
}

// Drugs of the generated chain (codes of the default catalog in assets/data).
type drug struct {
	code, ingr, atc, class string
	pack                   int
	price                  int64
}

var drugs = []drug{
	{"6930120010006", "amlodipine", "C08CA01", flows.ClassHypertension, 28, 3200},
	{"6932880011118", "valsartan", "C09CA03", flows.ClassHypertension, 28, 5600},
	{"6930470016291", "metformin", "A10BA02", flows.ClassDiabetes, 20, 1800},
	{"6932880017035", "gliclazide", "A10BB09", flows.ClassDiabetes, 30, 4200},
	{"6935620020739", "atorvastatin", "C10AA05", flows.ClassHyperlipidemia, 28, 6100},
}

// Product codes.
const (
	CodeIbuprofen  = "6935620023693" // otc
	CodeVitaminC   = "6930120024805" // otc
	CodePillBox    = "6945670010147" // nondrug, product of pill_organiser
	CodeBPMonitor  = "6945670010000" // nondrug, product of home_bp_training
	ItemPillBox    = "pill_organiser"
	ItemRefillPlan = "refill_plan"
)

// Catalog is the generated chain's catalog (a subset of the default one, same codes).
func Catalog() *flows.Catalog {
	var ds []flows.Drug
	for _, d := range drugs {
		ds = append(ds, flows.Drug{Code: d.code, Name: d.ingr, Ingredient: d.ingr, ATC: d.atc, PackDaysSupply: d.pack, Kind: flows.KindRx})
	}
	ds = append(ds,
		flows.Drug{Code: CodeIbuprofen, Name: "布洛芬缓释胶囊", Ingredient: "ibuprofen", ATC: "M01AE01", Kind: flows.KindOTC},
		flows.Drug{Code: CodeVitaminC, Name: "维生素C片", Ingredient: "ascorbic acid", ATC: "A11GA01", Kind: flows.KindOTC},
		flows.Drug{Code: CodePillBox, Name: "一周分药盒", Kind: flows.KindNonDrug, AltCodes: []string{"FY02003"}},
		flows.Drug{Code: CodeBPMonitor, Name: "上臂式电子血压计", Kind: flows.KindNonDrug, AltCodes: []string{"FY02001"}},
	)
	return flows.NewCatalog(ds)
}

// Knowledge is the generated chain's knowledge base: the pill organiser (a product)
// and the home blood-pressure training (whose product is the monitor) have product
// codes, the refill plan (a service) none.
func Knowledge() *flows.KnowledgeBase {
	return &flows.KnowledgeBase{Version: 1, Items: []flows.KBItem{
		{ID: ItemPillBox, Kind: "product", Title: "一周分药盒", TitleEn: "Pill organiser", Base: 6, Reason: "分药盒", ReasonEn: "organiser",
			ProductCodes: []string{CodePillBox}},
		{ID: ItemRefillPlan, Kind: "service", Title: "续药提醒计划", TitleEn: "Refill plan", Base: 4, Reason: "续药", ReasonEn: "refill"},
		{ID: "home_bp_training", Kind: "service", Title: "家庭血压测量指导", TitleEn: "Home BP", Classes: []string{flows.ClassHypertension},
			Base: 2, Reason: "血压", ReasonEn: "BP", ProductCodes: []string{"FY02001"}},
	}}
}

// Truth is the built-in effect on one served customer.
type Truth struct {
	CustomerKey string
	StoreID     string
	Class       string
	Index       flows.Day
	// Level is the baseline level (the PDC analysis as of index − 1).
	Level string
	// Included: established (a class fill in [index−180, index−1]) and mature.
	Included bool
	// PDC is the follow-up PDC minus the counterfactual follow-up PDC; NonDrugFen the
	// extra non-drug spend in [index, index+89].
	PDC        float64
	NonDrugFen float64
}

// Sink receives the facts. Purchases come grouped by customer (as a customer-keyed
// history index yields them); visits in day order within each batch of customers.
type Sink struct {
	Purchase func(*effect.PurchaseFact)
	Visit    func(*effect.VisitFact)
	FollowUp func(*effect.FollowUpFact)
}

// Counts of what was emitted.
type Counts struct {
	Customers, Purchases, Visits, FollowUps int
	// PeriodPurchases are the purchases dated in [From, To] (the rest is history).
	PeriodPurchases int
}

// rnd is splitmix64: a tiny deterministic generator.
type rnd struct{ s uint64 }

func (r *rnd) u64() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (r *rnd) float() float64 { return float64(r.u64()>>11) / (1 << 53) }
func (r *rnd) intn(n int) int { return int(r.u64() % uint64(n)) }
func (r *rnd) chance(p float64) bool {
	return r.float() < p
}

func mix(a, b uint64) uint64 {
	r := rnd{s: a ^ (b * 0x9e3779b97f4a7c15)}
	return r.u64()
}

// gapU is the uniform draw of a customer's k-th refill gap: the same in the factual and
// counterfactual histories.
func gapU(cseed uint64, k int) float64 {
	r := rnd{s: mix(cseed, uint64(k)+1<<40)}
	return r.float()
}

type fill struct {
	day    flows.Day
	supply int
}

type visitEv struct {
	f   effect.VisitFact
	day flows.Day
	sec int32
}

// Generate emits the chain to sink and returns the truth for every served customer.
func Generate(cfg Config, sink Sink) ([]Truth, Counts) {
	cfg.defaults()
	var truths []Truth
	var cnt Counts
	total := cfg.Stores * cfg.CustomersPerStore
	var batch []visitEv
	var order []int32
	flush := func() {
		order = order[:0]
		for i := range batch {
			order = append(order, int32(i))
		}
		slices.SortFunc(order, func(x, y int32) int {
			a, b := &batch[x], &batch[y]
			return cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(a.sec, b.sec), cmp.Compare(x, y))
		})
		for _, i := range order {
			if sink.Visit != nil {
				sink.Visit(&batch[i].f)
			}
		}
		batch = batch[:0]
	}
	var pf effect.PurchaseFact
	for ci := 0; ci < total; ci++ {
		st := ci % cfg.Stores
		cseed := mix(cfg.Seed, uint64(ci))
		r := rnd{s: cseed}
		key := fmt.Sprintf("%016x%016x", mix(cseed, 1), mix(cseed, 2))
		store := fmt.Sprintf("S%03d", st+1)
		dg := drugs[r.intn(len(drugs))]
		givenDays := r.chance(0.5)
		supply := dg.pack
		if givenDays {
			supply = 30
		}
		mu := [...]float64{1, 6, 16}[r.intn(3)]
		served := r.chance(cfg.ServedShare)
		cnt.Customers++

		// Factual fills, and the index (first fill in [From, To]).
		start := cfg.From - flows.Day(cfg.HistoryDays) + flows.Day(r.intn(40))
		index := flows.Day(math.MinInt32)
		var fact, cf []fill
		gen := func(theta float64, out []fill) []fill {
			t, idx := start, flows.Day(math.MinInt32)
			for k := 0; t <= cfg.AsOf; k++ {
				out = append(out, fill{t, supply})
				if idx == math.MinInt32 && t >= cfg.From && t <= cfg.To {
					idx = t
				}
				m := mu
				if served && idx != math.MinInt32 {
					m *= 1 - theta
				}
				gap := int(math.Floor(-m*math.Log(1-gapU(cseed, k)))) - 3
				t += flows.Day(supply + gap)
			}
			if index == math.MinInt32 {
				index = idx
			}
			return out
		}
		fact = gen(cfg.PDCEffect, nil)
		if served && index != math.MinInt32 {
			cf = gen(0, nil)
		}
		if index == math.MinInt32 {
			served = false // no fill in the period: neither cohort
		}

		// Purchases and visits, trip by trip. A trip's lines depend only on the
		// customer and the trip's number, so the counterfactual history has the same
		// lines on its own trip days.
		boughtBox, boxFen := false, int64(0)
		for k, f := range fact {
			lines, sec := tripLines(cfg, cseed, k, dg, givenDays, supply)
			receipt := mix(cseed, uint64(k)+7<<40)
			// emit sends a line; 3 % of lines lack their amount (older POS exports).
			emit := func(l tripLine) bool {
				pf = effect.PurchaseFact{CustomerKey: key, StoreID: store, Day: f.day, Second: sec, DrugCode: l.code,
					Quantity: 1, DaysSupply: l.days, Receipt: receipt}
				if l.hasAmount {
					pf.AmountFen, pf.HasAmount = l.amount, true
				}
				cnt.Purchases++
				if f.day >= cfg.From && f.day <= cfg.To {
					cnt.PeriodPurchases++
				}
				if sink.Purchase != nil {
					sink.Purchase(&pf)
				}
				return pf.HasAmount
			}
			for _, l := range lines {
				emit(l)
			}
			isIndex := served && f.day == index
			if isIndex && cfg.NonDrugFen > 0 {
				if r.chance(0.5) {
					boughtBox = true
					if emit(tripLine{code: CodePillBox, amount: cfg.NonDrugFen, hasAmount: !r.chance(0.03)}) {
						boxFen = cfg.NonDrugFen // what the data shows
					}
				}
			}
			if f.day < cfg.From || f.day > cfg.AsOf {
				continue
			}
			// Visits.
			var v effect.VisitFact
			switch {
			case isIndex || (served && f.day > index && r.chance(0.7)):
				v = completeVisit(&r, key, store, f.day, sec, dg.class, boughtBox && isIndex, cfg.NonDrugFen > 0 && isIndex)
				cnt.Visits++
				if sink.FollowUp != nil && r.chance(0.8) {
					sink.FollowUp(followUp(&r, store, v.StartedAt.Add(time.Duration(v.VisitSeconds*float64(time.Second)))))
					cnt.FollowUps++
				}
			case r.chance(cfg.AbandonedVisits):
				v = abandonedVisit(&r, key, store, f.day, sec, dg.class)
				cnt.Visits++
			default:
				continue
			}
			batch = append(batch, visitEv{v, f.day, sec})
		}
		if (ci+1)%cfg.Batch == 0 {
			flush()
		}
		if !served {
			continue
		}
		t := Truth{CustomerKey: key, StoreID: store, Class: dg.class, Index: index}
		for _, f := range fact {
			if f.day >= index-effect.EstablishedDays && f.day < index {
				t.Included = true
			}
		}
		t.Included = t.Included && index+effect.FollowUpDays-1 <= cfg.AsOf
		t.PDC = pdcAt(fact, index+effect.FollowUpDays-1).PDC - pdcAt(cf, index+effect.FollowUpDays-1).PDC
		t.Level = pdcAt(fact, index-1).Level
		// Non-drug spend: the organiser, and the extra lines of the trips the faster
		// refills add (or remove) in [index, index+89].
		t.NonDrugFen = float64(boxFen + nonDrugAfter(cfg, cseed, fact, index, dg, givenDays, supply) -
			nonDrugAfter(cfg, cseed, cf, index, dg, givenDays, supply))
		truths = append(truths, t)
	}
	flush()
	return truths, cnt
}

// tripLine is one line of a trip.
type tripLine struct {
	code      string
	days      int
	amount    int64
	hasAmount bool
	nondrug   bool
}

// tripLines are the lines of a customer's k-th trip and its time of day: the class
// fill (price ±10 %: discounts, price changes) and ExtraLines OTC or non-drug lines on
// average; 3 % of lines lack their amount (older POS exports).
func tripLines(cfg Config, cseed uint64, k int, dg drug, givenDays bool, supply int) ([]tripLine, int32) {
	r := rnd{s: mix(cseed, uint64(k)+3<<40)}
	sec := int32(9*3600 + r.intn(10*3600))
	days := 0
	if givenDays {
		days = supply
	}
	lines := []tripLine{{code: dg.code, days: days, amount: dg.price * int64(90+r.intn(21)) / 100}}
	for x := r.float(); x < cfg.ExtraLines; x++ {
		if r.chance(0.8) {
			lines = append(lines, tripLine{code: []string{CodeIbuprofen, CodeVitaminC}[r.intn(2)], amount: int64(1200 + r.intn(3000))})
		} else {
			lines = append(lines, tripLine{code: CodeBPMonitor, amount: 19900, nondrug: true})
		}
	}
	for i := range lines {
		lines[i].hasAmount = !r.chance(0.03)
	}
	return lines, sec
}

// nonDrugAfter is the recorded non-drug spend of the trips in [index, index+89].
func nonDrugAfter(cfg Config, cseed uint64, fs []fill, index flows.Day, dg drug, givenDays bool, supply int) int64 {
	var sum int64
	for k, f := range fs {
		if f.day < index || f.day > index+effect.BasketDays-1 {
			continue
		}
		lines, _ := tripLines(cfg, cseed, k, dg, givenDays, supply)
		for _, l := range lines {
			if l.nondrug && l.hasAmount {
				sum += l.amount
			}
		}
	}
	return sum
}

func pdcAt(fs []fill, e flows.Day) flows.Coverage {
	cfs := make([]flows.CoverFill, len(fs))
	for i, f := range fs {
		cfs[i] = flows.CoverFill{Day: f.day, Supply: int32(f.supply)}
	}
	c, _ := flows.ClassCoverage(cfs, e, flows.AdherenceOptions{}, nil)
	return c
}

func at(day flows.Day, sec int32) time.Time {
	return day.Time().Add(time.Duration(sec) * time.Second)
}

func completeVisit(r *rnd, key, store string, day flows.Day, sec int32, class string, accept, offerBox bool) effect.VisitFact {
	v := effect.VisitFact{CustomerKey: key, StoreID: store, StartedAt: at(day, sec), Complete: true, StepsDone: 4,
		Classes: []string{class}, QuestionnaireClass: class, VisitTimed: true}
	for i := range 4 {
		v.StepSeconds[i] = float64(8 + r.intn(40))
		v.StepTimed[i] = true
		v.VisitSeconds += v.StepSeconds[i]
	}
	yes, no := true, false
	box := &no
	if accept || (!offerBox && r.chance(0.5)) {
		box = &yes
	}
	plan := &no
	if r.chance(0.6) {
		plan = &yes
	}
	v.Recommendations = []effect.RecommendationFact{{ItemID: ItemPillBox, Accepted: box}, {ItemID: ItemRefillPlan, Accepted: plan}}
	return v
}

func abandonedVisit(r *rnd, key, store string, day flows.Day, sec int32, class string) effect.VisitFact {
	v := effect.VisitFact{CustomerKey: key, StoreID: store, StartedAt: at(day, sec), StepsDone: r.intn(4)}
	for i := 0; i < v.StepsDone; i++ {
		v.StepSeconds[i] = float64(8 + r.intn(60))
		v.StepTimed[i] = true
	}
	if v.StepsDone > 0 {
		v.Classes = []string{class}
	}
	return v
}

func followUp(r *rnd, store string, ended time.Time) *effect.FollowUpFact {
	f := &effect.FollowUpFact{StoreID: store, DueAt: ended.Add(24 * time.Hour)}
	switch x := r.float(); {
	case x < 0.9:
		f.SentAt = f.DueAt.Add(time.Duration(r.intn(90*60)) * time.Second)
	case x < 0.95:
		f.SentAt = f.DueAt.Add(3 * time.Hour)
	}
	if !f.SentAt.IsZero() {
		switch x := r.float(); {
		case x < 0.6:
			f.OpenedAt = f.SentAt.Add(time.Duration(3600+r.intn(59*3600)) * time.Second)
		case x < 0.7:
			f.OpenedAt = f.SentAt.Add(time.Duration(80+r.intn(20)) * time.Hour)
		}
	}
	return f
}

// VisitOf turns a generated visit fact into the service record a kiosk would send
// (steps timed as the fact says), so tests can feed HQ's API and storage.
func VisitOf(f *effect.VisitFact, id string) flows.Visit {
	v := flows.Visit{ID: id, StoreID: f.StoreID, PharmacistID: "P01", CustomerKey: f.CustomerKey, StartedAt: f.StartedAt,
		UpdatedAt: f.StartedAt, Outcome: flows.OutcomeAbandoned, AbandonReason: "idle"}
	at := f.StartedAt
	step := func(i int) time.Time {
		at = at.Add(time.Duration(f.StepSeconds[i] * float64(time.Second)))
		return at
	}
	if f.StepsDone >= 1 {
		var rs []flows.ClassResult
		for _, c := range f.Classes {
			rs = append(rs, flows.ClassResult{Class: c, Level: flows.LevelYellow})
		}
		v.Identify = &flows.IdentifyStep{At: step(0), AsOf: flows.DayOf(f.StartedAt), Adherence: rs}
	}
	if f.StepsDone >= 2 {
		v.Questionnaire = &flows.QuestionnaireStep{At: step(1), Class: f.QuestionnaireClass, Answers: map[string]string{}}
	}
	if f.StepsDone >= 3 {
		var items []flows.Recommendation
		for _, r := range f.Recommendations {
			items = append(items, flows.Recommendation{ID: r.ItemID, Title: r.ItemID, Reason: "r", Accepted: r.Accepted})
		}
		v.Recommend = &flows.RecommendStep{At: step(2), Items: items}
	}
	if f.StepsDone >= 4 {
		v.FollowUp = &flows.FollowUpStep{At: step(3), Consent: map[string]bool{flows.ChannelWeCom: false}, Declined: true}
	}
	v.UpdatedAt, v.EndedAt = at, at
	if f.Complete {
		v.Outcome, v.AbandonReason = flows.OutcomeComplete, ""
	}
	return v
}

// PurchaseOf turns a generated purchase fact into the purchase a POS would send; n
// makes its id unique.
func PurchaseOf(f *effect.PurchaseFact, n int) flows.Purchase {
	receipt := fmt.Sprintf("R%016x", f.Receipt)
	p := flows.Purchase{ID: fmt.Sprintf("%s:%s:%s:%d", f.StoreID, receipt, f.DrugCode, n), CustomerKey: f.CustomerKey, StoreID: f.StoreID,
		SoldAt: f.Day.Time().Add(time.Duration(f.Second) * time.Second), DrugCode: f.DrugCode, Ingredient: f.Ingredient, ATC: f.ATC,
		Quantity: f.Quantity, DaysSupply: f.DaysSupply, ReceiptID: receipt, Kind: f.Kind}
	if f.HasAmount {
		a := f.AmountFen
		p.AmountFen = &a
	}
	return p
}
