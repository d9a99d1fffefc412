package effect_test

import (
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/effect"
)

// F is the first day of the period in the hand-made histories.
var F = flows.DayFromDate(2026, 3, 1)

func testCatalog() *flows.Catalog {
	return flows.NewCatalog([]flows.Drug{
		{Code: "AML", Name: "氨氯地平", Ingredient: "amlodipine", ATC: "C08CA01", PackDaysSupply: 30},
		{Code: "VAL", Name: "缬沙坦", Ingredient: "valsartan", ATC: "C09CA03", PackDaysSupply: 30},
		{Code: "MET", Name: "二甲双胍", Ingredient: "metformin", ATC: "A10BA02", PackDaysSupply: 30},
		{Code: "IBU", Name: "布洛芬", Ingredient: "ibuprofen", ATC: "M01AE01", Kind: flows.KindOTC},
		{Code: "6945670010147", Name: "分药盒", Kind: flows.KindNonDrug, AltCodes: []string{"FYBOX"}},
		{Code: "6945670010000", Name: "血压计", Kind: flows.KindNonDrug},
	})
}

func testKB() *flows.KnowledgeBase {
	return &flows.KnowledgeBase{Version: 1, Items: []flows.KBItem{
		{ID: "pill_organiser", Kind: "product", ProductCodes: []string{"FYBOX"}},
		{ID: "refill_plan", Kind: "service"},
		{ID: "home_bp_training", Kind: "service", ProductCodes: []string{"06945670010000"}},
	}}
}

// hist builds hand-made histories.
type hist struct {
	t  testing.TB
	b  *effect.Builder
	ps []flows.Purchase // every purchase, for cross-checks against flows.Analyze
	n  int
}

func newHist(t testing.TB) *hist {
	return &hist{t: t, b: effect.NewBuilder(testCatalog(), testKB())}
}

// line is one purchase line: amt < 0 means no amount; qty 0 means 1.
type line struct {
	cust, store string
	day         flows.Day
	code        string
	days        int
	amt         int64
	receipt     string
	qty         float64
	kind        string
}

func (h *hist) buy(ls ...line) {
	h.t.Helper()
	for _, l := range ls {
		h.n++
		if l.store == "" {
			l.store = "S1"
		}
		if l.qty == 0 {
			l.qty = 1
		}
		p := flows.Purchase{ID: l.store + ":" + l.receipt + ":" + l.code, CustomerKey: l.cust, StoreID: l.store,
			SoldAt: l.day.Time().Add(10*time.Hour + time.Duration(h.n)*time.Second), DrugCode: l.code, Quantity: l.qty,
			DaysSupply: l.days, Kind: l.kind}
		if l.receipt == "" {
			p.ID = l.store + ":auto" + itoa(h.n) + ":" + l.code
		}
		if l.amt >= 0 {
			a := l.amt
			p.AmountFen = &a
		}
		h.ps = append(h.ps, p)
		if err := h.b.AddPurchase(effect.PurchaseFactOf(p)); err != nil {
			h.t.Fatal(err)
		}
	}
}

// fill is a 30-day amlodipine fill (hypertension) with an amount.
func fill(cust string, day flows.Day) line {
	return line{cust: cust, day: day, code: "AML", days: 30, amt: 3000}
}

type rec struct {
	item     string
	accepted bool
}

type visit struct {
	cust, store string
	day         flows.Day
	classes     []string
	incomplete  bool
	qclass      string
	recs        []rec
	cv          int // content version
}

func (h *hist) visit(vs ...visit) {
	h.t.Helper()
	for _, v := range vs {
		h.n++
		if v.store == "" {
			v.store = "S1"
		}
		if v.classes == nil {
			v.classes = []string{flows.ClassHypertension}
		}
		f := effect.VisitFact{CustomerKey: v.cust, StoreID: v.store, StartedAt: v.day.Time().Add(9*time.Hour + time.Duration(h.n)*time.Second),
			Complete: !v.incomplete, StepsDone: 4, Classes: v.classes, QuestionnaireClass: v.qclass, ContentVersion: v.cv}
		if v.incomplete {
			f.StepsDone = 2
		}
		for _, r := range v.recs {
			acc := r.accepted
			f.Recommendations = append(f.Recommendations, effect.RecommendationFact{ItemID: r.item, Accepted: &acc})
		}
		if err := h.b.AddVisit(f); err != nil {
			h.t.Fatal(err)
		}
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// rows maps customer key → its row for one class.
func rows(t testing.TB, d *effect.Data, p effect.Params, class string) map[string]effect.CustomerRow {
	t.Helper()
	rs, err := d.Customers(p)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]effect.CustomerRow{}
	for _, r := range rs {
		if r.Class == class {
			if _, dup := out[r.CustomerKey]; dup {
				t.Fatalf("customer %s twice in class %s", r.CustomerKey, class)
			}
			out[r.CustomerKey] = r
		}
	}
	return out
}

func near(a, b float64) bool {
	d := a - b
	return d < 1e-9 && d > -1e-9
}
