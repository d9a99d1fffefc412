package effect_test

import (
	"strings"
	"testing"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/effect"
)

// period [F, F+29], data as of F+200 unless a test says otherwise.
func params(asOf flows.Day) effect.Params {
	return effect.Params{From: F, To: F + 29, AsOf: asOf}
}

func TestCohortRules(t *testing.T) {
	h := newHist(t)
	ht := []string{flows.ClassHypertension}
	for _, c := range []string{"c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "c11", "c12", "c13"} {
		h.buy(fill(c, F-100)) // every one established
	}
	// c1: served on its earliest complete visit listing hypertension, at its store.
	h.visit(visit{cust: "c1", store: "S2", day: F + 10}, visit{cust: "c1", store: "S1", day: F + 5})
	// c2: an incomplete visit listing the class and a complete one not listing it do
	// not serve; its class fill in the period makes it comparison, at the fill's store.
	h.visit(visit{cust: "c2", day: F + 3, incomplete: true}, visit{cust: "c2", day: F + 8, classes: []string{flows.ClassDiabetes}})
	h.buy(line{cust: "c2", store: "S3", day: F + 2, code: "AML", days: 30, amt: 1})
	// c3: a complete visit listing the class on F−90 excludes it from comparison.
	h.visit(visit{cust: "c3", day: F - 90})
	h.buy(fill("c3", F+4))
	// c4: one on F−91 does not.
	h.visit(visit{cust: "c4", day: F - 91})
	h.buy(fill("c4", F+4))
	// c5: a complete visit on F−1 neither serves nor leaves it comparison.
	h.visit(visit{cust: "c5", day: F - 1})
	h.buy(fill("c5", F+4))
	// c6: a complete visit on to+1 is outside both windows: comparison.
	h.visit(visit{cust: "c6", day: F + 30})
	h.buy(fill("c6", F+10))
	// c7, c8: served on the period's first and last day.
	h.visit(visit{cust: "c7", day: F}, visit{cust: "c8", day: F + 29})
	// c9: fills only just outside the period: in neither cohort.
	h.buy(fill("c9", F-1), fill("c9", F+30))
	// c11: two same-day fills: the earlier sale's store.
	h.buy(line{cust: "c11", store: "S2", day: F + 3, code: "VAL", days: 30, amt: 1}, line{cust: "c11", store: "S1", day: F + 3, code: "AML", days: 30, amt: 1})
	// c12: only a non-class purchase in the period; c13: only a return of the class.
	h.buy(line{cust: "c12", day: F + 3, code: "IBU", amt: 1}, line{cust: "c13", day: F + 3, code: "AML", qty: -1, amt: 0})
	_ = ht
	d := h.b.Build()
	got := rows(t, d, params(F+200), flows.ClassHypertension)
	want := map[string]struct {
		cohort, store string
		index         flows.Day
	}{
		"c1":  {effect.CohortServed, "S1", F + 5},
		"c2":  {effect.CohortComparison, "S3", F + 2},
		"c4":  {effect.CohortComparison, "S1", F + 4},
		"c6":  {effect.CohortComparison, "S1", F + 10},
		"c7":  {effect.CohortServed, "S1", F},
		"c8":  {effect.CohortServed, "S1", F + 29},
		"c11": {effect.CohortComparison, "S2", F + 3},
	}
	for k, w := range want {
		r, ok := got[k]
		if !ok || r.Cohort != w.cohort || r.StoreID != w.store || r.Index != w.index || r.Status != effect.CustomerIncluded {
			t.Errorf("%s: got %+v (present %v), want %+v included", k, r, ok, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s should be in no cohort: %+v", k, got[k])
		}
	}
	// The report counts the same customers.
	rep, err := d.Effect(params(F + 200))
	if err != nil {
		t.Fatal(err)
	}
	c := rep.Classes[0]
	if c.Class != flows.ClassHypertension || c.Served.Customers != 3 || c.Served.Included != 3 || c.Comparison.Customers != 4 {
		t.Errorf("counts %+v %+v", c.Served, c.Comparison)
	}
	// c2's complete visit listing diabetes serves it for diabetes (new: it has no
	// diabetes fill); hyperlipidemia has nobody.
	if len(rep.Classes) != 3 || rep.Classes[1].Served != (effect.CohortCount{Customers: 1, New: 1}) ||
		rep.Classes[2].Served.Customers+rep.Classes[2].Comparison.Customers != 0 {
		t.Errorf("diabetes %+v, hyperlipidemia %+v", rep.Classes[1], rep.Classes[2])
	}
	// A store filter keeps the customers whose index store it is.
	s2 := params(F + 200)
	s2.StoreID = "S2"
	if rs := rows(t, d, s2, flows.ClassHypertension); len(rs) != 1 || rs["c11"].StoreID != "S2" {
		t.Errorf("store S2: %+v", rs)
	}
	s2.StoreID = "S404"
	if rs := rows(t, d, s2, flows.ClassHypertension); len(rs) != 0 {
		t.Errorf("unknown store: %+v", rs)
	}
}

func TestEstablishedNewPending(t *testing.T) {
	h := newHist(t)
	h.buy(fill("e1", F-180), fill("e1", F))  // fill exactly 180 days before the index: established
	h.buy(fill("e2", F-181), fill("e2", F))  // 181 days: new
	h.buy(fill("e3", F), fill("e3", F))      // only on the index day: new
	h.buy(fill("e4", F-1), fill("e4", F+29)) // index F+29, mature iff as_of ≥ F+118
	h.buy(fill("e6", F+29))                  // new and not mature: new
	h.buy(fill("e7", F-1), line{cust: "e7", day: F + 29, code: "AML", days: 30, amt: 1, store: "S2"})
	d := h.b.Build()
	check := func(asOf flows.Day, want map[string]string) {
		t.Helper()
		got := rows(t, d, params(asOf), flows.ClassHypertension)
		for k, w := range want {
			if got[k].Status != w {
				t.Errorf("as of %s: %s status %q, want %q (%+v)", asOf, k, got[k].Status, w, got[k])
			}
		}
		if len(got) != len(want) {
			t.Errorf("as of %s: %d rows, want %d", asOf, len(got), len(want))
		}
	}
	check(F+118, map[string]string{"e1": "included", "e2": "new", "e3": "new", "e4": "included", "e6": "new", "e7": "included"})
	check(F+117, map[string]string{"e1": "included", "e2": "new", "e3": "new", "e4": "pending", "e6": "new", "e7": "pending"})
	// Index + 89 = as_of exactly for an index on the first day.
	check(F+89, map[string]string{"e1": "included", "e2": "new", "e3": "new", "e4": "pending", "e6": "new", "e7": "pending"})
	check(F+88, map[string]string{"e1": "pending", "e2": "new", "e3": "new", "e4": "pending", "e6": "new", "e7": "pending"})
	rep, _ := d.Effect(params(F + 117))
	if c := rep.Classes[0].Comparison; c.Customers != 6 || c.New != 3 || c.Pending != 2 || c.Included != 1 {
		t.Errorf("counts %+v", c)
	}
	// Facts dated after as_of are not known yet: with as_of F+10 the fills of F+29 do
	// not exist, so e4, e6 and e7 are in no cohort.
	got := rows(t, d, effect.Params{From: F, To: F + 29, AsOf: F + 10}, flows.ClassHypertension)
	if len(got) != 3 || got["e4"].Status != "" {
		t.Errorf("as of F+10: %+v", got)
	}
}

// pdcOf is flows.Analyze's PDC of a customer's hypertension purchases as of e.
func (h *hist) pdcOf(cust string, e flows.Day) (float64, string) {
	var ps []flows.Purchase
	for _, p := range h.ps {
		if p.CustomerKey == cust {
			ps = append(ps, p)
		}
	}
	a := flows.Analyze(ps, testCatalog(), e, flows.DefaultAdherenceOptions())
	r, _ := a.Class(flows.ClassHypertension)
	return r.PDC, r.Level
}

func TestPDCOutcomes(t *testing.T) {
	h := newHist(t)
	// p1 (comparison, index F): covered every day of the 90 before; afterwards fills
	// on F and F+30 only: 60 of the 90 days [F, F+89] covered, 30 days without supply.
	h.buy(fill("p1", F-90), fill("p1", F-60), fill("p1", F-30), fill("p1", F), fill("p1", F+30))
	// p2 (served on F+1): as of F the window is [F−89, F]: 29 + 30 + 20 = 79 of 90
	// covered, 6 days without supply: yellow; afterwards F+1..F+90 fully covered.
	h.buy(fill("p2", F-90), fill("p2", F-60), line{cust: "p2", day: F - 25, code: "VAL", days: 20, amt: 1},
		fill("p2", F+1), fill("p2", F+31), fill("p2", F+61))
	h.visit(visit{cust: "p2", day: F + 1})
	// p3 (comparison, index F+2): as of F+1 one 30-day fill on F−50 starts the period
	// (52 days, 30 covered, 22 without supply): red; then 2 packs × 30 days.
	h.buy(fill("p3", F-50), line{cust: "p3", day: F + 2, code: "AML", qty: 2, amt: 1})
	d := h.b.Build()
	got := rows(t, d, params(F+200), flows.ClassHypertension)
	for _, c := range []struct {
		cust          string
		index         flows.Day
		before, after float64
		level         string
	}{
		{"p1", F, 1, 60.0 / 90, flows.LevelOK},
		{"p2", F + 1, 79.0 / 90, 1, flows.LevelYellow},
		{"p3", F + 2, 30.0 / 52, 60.0 / 90, flows.LevelRed},
	} {
		r := got[c.cust]
		if r.Index != c.index || !near(r.PDCBefore, c.before) || !near(r.PDCAfter, c.after) || r.Level != c.level {
			t.Errorf("%s: %+v, want index %s before %.4f after %.4f %s", c.cust, r, c.index, c.before, c.after, c.level)
		}
		// The same numbers as the counter's analysis.
		b, lv := h.pdcOf(c.cust, c.index-1)
		a, _ := h.pdcOf(c.cust, c.index+89)
		if b != r.PDCBefore || a != r.PDCAfter || lv != r.Level {
			t.Errorf("%s: flows.Analyze says before %v (%s) after %v", c.cust, b, lv, a)
		}
	}
}

func TestRevisit30(t *testing.T) {
	h := newHist(t)
	cases := map[string]struct {
		l    line
		want bool
	}{
		"same-day": {line{day: F, code: "IBU", amt: 1}, false},
		"day+1":    {line{day: F + 1, code: "IBU", amt: 1}, true},
		"day+30":   {line{day: F + 30, code: "IBU", amt: 1}, true},
		"day+31":   {line{day: F + 31, code: "IBU", amt: 1}, false},
		"return":   {line{day: F + 5, code: "IBU", amt: 0, qty: -1}, false},
		"other":    {line{day: F + 10, code: "BOGUS", amt: -1, store: "S9"}, true}, // any purchase, any store
	}
	for k, c := range cases {
		h.buy(fill(k, F-30), fill(k, F))
		c.l.cust = k
		h.buy(c.l)
	}
	d := h.b.Build()
	got := rows(t, d, params(F+200), flows.ClassHypertension)
	for k, c := range cases {
		if r := got[k]; r.Status != effect.CustomerIncluded || r.Revisit30 != c.want {
			t.Errorf("%s: revisit %v, want %v (%+v)", k, r.Revisit30, c.want, r)
		}
	}
}

func TestRxBasket(t *testing.T) {
	h := newHist(t)
	// b1: before [F−90, F−1]: receipt r1 = 3000 + 2000 rx (+ 999 otc, not rx), r2 = 4000
	// → 4500; r0 on F−91 is outside. After [F, F+89]: r3 = 6000; r4 has an rx line
	// without amount, so it is left out; r5 on F+90 is outside → 6000.
	h.buy(line{cust: "b1", day: F - 91, code: "AML", days: 30, amt: 99999, receipt: "r0"},
		line{cust: "b1", day: F - 90, code: "AML", days: 30, amt: 3000, receipt: "r1"},
		line{cust: "b1", day: F - 90, code: "VAL", days: 30, amt: 2000, receipt: "r1"},
		line{cust: "b1", day: F - 90, code: "IBU", amt: 999, receipt: "r1"},
		line{cust: "b1", day: F - 10, code: "AML", days: 30, amt: 4000, receipt: "r2"},
		line{cust: "b1", day: F, code: "AML", days: 30, amt: 6000, receipt: "r3"},
		line{cust: "b1", day: F + 89, code: "AML", days: 30, amt: 2000, receipt: "r4"},
		line{cust: "b1", day: F + 89, code: "VAL", days: 30, amt: -1, receipt: "r4"},
		line{cust: "b1", day: F + 90, code: "AML", days: 30, amt: 7777, receipt: "r5"})
	// b2: no rx receipt in the before window (its establishing fill is on F−100).
	h.buy(fill("b2", F-100), fill("b2", F))
	// b3: its only before receipt lacks the rx amount.
	h.buy(line{cust: "b3", day: F - 5, code: "AML", days: 30, amt: -1, receipt: "q1"}, fill("b3", F))
	// b4: the same receipt id at two stores is two receipts: (1000 + 3000) / 2.
	h.buy(line{cust: "b4", day: F - 5, code: "AML", days: 30, amt: 1000, receipt: "x", store: "S1"},
		line{cust: "b4", day: F - 5, code: "VAL", days: 30, amt: 3000, receipt: "x", store: "S2"},
		line{cust: "b4", day: F, code: "AML", days: 30, amt: 1000, receipt: "y"})
	// b5: the sale's own kind wins over the catalog: an rx drug sold as otc is not rx.
	h.buy(line{cust: "b5", day: F - 5, code: "AML", days: 30, amt: 1000, receipt: "z", kind: flows.KindOTC}, fill("b5", F))
	d := h.b.Build()
	got := rows(t, d, params(F+200), flows.ClassHypertension)
	for _, c := range []struct {
		cust          string
		has           bool
		before, after float64
	}{
		{"b1", true, 4500, 6000}, {"b2", false, 0, 0}, {"b3", false, 0, 0}, {"b4", true, 2000, 1000}, {"b5", false, 0, 0},
	} {
		r := got[c.cust]
		if r.Status != effect.CustomerIncluded || r.HasBasket != c.has || r.BasketBefore != c.before || r.BasketAfter != c.after {
			t.Errorf("%s: %+v, want basket %v %v→%v", c.cust, r, c.has, c.before, c.after)
		}
	}
}

func TestNonDrugSpend(t *testing.T) {
	h := newHist(t)
	h.buy(fill("n1", F-30), fill("n1", F),
		line{cust: "n1", day: F - 90, code: "6945670010000", amt: 19900}, // in
		line{cust: "n1", day: F - 91, code: "FYBOX", amt: 2990},          // out
		line{cust: "n1", day: F + 89, code: "FYBOX", amt: 2990},          // in
		line{cust: "n1", day: F + 90, code: "6945670010000", amt: 19900}, // out
		line{cust: "n1", day: F + 5, code: "FYBOX", amt: -1},             // no amount: ignored
		line{cust: "n1", day: F + 6, code: "FYBOX", amt: 2990, qty: -1},  // return: ignored
		line{cust: "n1", day: F + 7, code: "IBU", amt: 2000},             // otc
		line{cust: "n1", day: F + 8, code: "GIFT", amt: 500, kind: flows.KindNonDrug})
	h.buy(fill("n2", F-30), fill("n2", F)) // none: 0 → 0
	d := h.b.Build()
	got := rows(t, d, params(F+200), flows.ClassHypertension)
	if r := got["n1"]; r.NonDrugBefore != 19900 || r.NonDrugAfter != 3490 {
		t.Errorf("n1: %+v", r)
	}
	if r := got["n2"]; r.Status != effect.CustomerIncluded || r.NonDrugBefore != 0 || r.NonDrugAfter != 0 {
		t.Errorf("n2: %+v", r)
	}
}

func TestConversion(t *testing.T) {
	h := newHist(t)
	pill, plan, bp := "pill_organiser", "refill_plan", "home_bp_training"
	h.visit(
		visit{cust: "k1", day: F + 1, qclass: "diabetes", recs: []rec{{pill, true}, {plan, true}}},
		visit{cust: "k2", day: F + 2, qclass: "diabetes", recs: []rec{{pill, true}, {plan, false}}},
		visit{cust: "k3", day: F + 3, qclass: "diabetes", recs: []rec{{pill, false}, {plan, true}}},
		visit{cust: "k4", day: F + 4, qclass: "hypertension", recs: []rec{{bp, true}, {plan, true}}},
		visit{cust: "k5", day: F + 29, qclass: "diabetes", recs: []rec{{pill, true}, {plan, true}}},
		visit{cust: "k6", day: F + 5, incomplete: true, recs: []rec{{pill, true}}},
		visit{cust: "k7", day: F - 1, recs: []rec{{pill, true}}},
		visit{cust: "k8", day: F + 6, qclass: "diabetes", recs: []rec{{pill, true}, {"gone_item", true}}},
	)
	h.buy(
		line{cust: "k1", day: F + 15, code: "6945670010147", amt: 2990}, // visit + 14 by its GTIN: converted
		line{cust: "k2", day: F + 17, code: "FYBOX", amt: 2990},         // visit + 15: not
		line{cust: "k3", day: F + 3, code: "FYBOX", amt: 2990},          // declined, bought the same day
		line{cust: "k4", day: F + 4, code: "6945670010000", amt: 19900}, // the monitor
		line{cust: "k6", day: F + 6, code: "FYBOX", amt: 2990},
		line{cust: "k7", day: F + 1, code: "FYBOX", amt: 2990},
		line{cust: "k8", day: F + 7, code: "FYBOX", amt: 2990, qty: -1}, // a return is no purchase
	)
	d := h.b.Build()
	rep, err := d.Effect(params(F + 100))
	if err != nil {
		t.Fatal(err)
	}
	cv := rep.Conversion
	if cv.Accepted.N != 5 || cv.Accepted.Converted != 2 || cv.Declined.N != 1 || cv.Declined.Converted != 1 || cv.Pending != 0 ||
		cv.Accepted.Share == nil || !near(*cv.Accepted.Share, 0.4) {
		t.Errorf("conversion %+v", cv)
	}
	if len(cv.Items) != 2 || cv.Items[0].ItemID != pill || cv.Items[0].Accepted.N != 4 || cv.Items[0].Accepted.Converted != 1 ||
		cv.Items[0].Declined.Converted != 1 || cv.Items[1].ItemID != bp || cv.Items[1].Accepted.Converted != 1 {
		t.Errorf("items %+v", cv.Items)
	}
	// As of F+42, k5's 14 days (to F+43) are not over: pending.
	rep, _ = d.Effect(params(F + 42))
	if cv := rep.Conversion; cv.Pending != 1 || cv.Accepted.N != 4 {
		t.Errorf("as of F+42: %+v", cv)
	}
	// A class keeps the visits whose questionnaire was of that class.
	p := params(F + 100)
	p.Class = flows.ClassHypertension
	rep, _ = d.Effect(p)
	if cv := rep.Conversion; cv.Accepted.N != 1 || cv.Accepted.Converted != 1 || cv.Declined.N != 0 || cv.Declined.Share != nil {
		t.Errorf("hypertension only: %+v", cv)
	}
}

func TestParamsAndBadFacts(t *testing.T) {
	d := newHist(t).b.Build()
	for _, c := range []struct {
		p    effect.Params
		want string
	}{
		{effect.Params{From: F + 1, To: F, AsOf: F + 9}, "after to"},
		{effect.Params{From: F, To: F + 1, AsOf: F - 1}, "after as_of"},
		{effect.Params{From: F, To: F, AsOf: F, Class: "asthma"}, "class"},
		{effect.Params{From: F, To: F, AsOf: F, Resamples: -1}, "resamples"},
	} {
		if _, err := d.Effect(c.p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v", c.p, err)
		}
	}
	// An empty fact base reports zeros and no numbers.
	rep, err := d.Effect(params(F + 200))
	if err != nil || len(rep.Classes) != 3 || rep.Classes[0].Outcomes[0].Status != effect.StatusInsufficient || rep.Classes[0].Outcomes[0].Effect != nil {
		t.Errorf("empty: %+v %v", rep, err)
	}
	b := effect.NewBuilder(nil, nil)
	for _, c := range []struct {
		err  error
		want string
	}{
		{b.AddPurchase(effect.PurchaseFact{StoreID: "S1"}), "no customer key"},
		{b.AddPurchase(effect.PurchaseFact{CustomerKey: "c"}), "no store id"},
		{b.AddPurchase(effect.PurchaseFact{CustomerKey: "c", StoreID: "S1", Kind: "drug"}), `kind "drug"`},
		{b.AddPurchase(effect.PurchaseFact{CustomerKey: "c", StoreID: "S1", AmountFen: -5, HasAmount: true}), "amount_fen -5"},
		{b.AddVisit(effect.VisitFact{VisitID: "v1"}), "visit v1: no store id"},
		{b.AddVisit(effect.VisitFact{VisitID: "v1", StoreID: "S1"}), "no start time"},
		{b.AddFollowUp(effect.FollowUpFact{FollowUpID: "f1"}), "no store id"},
		{b.AddFollowUp(effect.FollowUpFact{FollowUpID: "f1", StoreID: "S1"}), "no due time"},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) || !strings.Contains(c.err.Error(), "invalid fact") {
			t.Errorf("err %v, want %q", c.err, c.want)
		}
	}
}

func TestReceiptOf(t *testing.T) {
	for _, c := range []struct {
		p    flows.Purchase
		want string
	}{
		{flows.Purchase{ID: "S1:SALE9:AML", ReceiptID: "R7"}, "R7"},
		{flows.Purchase{ID: "S1:SALE9:AML"}, "SALE9"},
		{flows.Purchase{ID: "S1:SALE9:AML:2"}, "SALE9"},
		{flows.Purchase{ID: "odd-id"}, "odd-id"},
		{flows.Purchase{ID: "S1::AML"}, "S1::AML"},
	} {
		if got := effect.ReceiptOf(c.p); got != c.want {
			t.Errorf("ReceiptOf(%+v) = %q, want %q", c.p, got, c.want)
		}
	}
	if effect.ReceiptKey("S1", "x") == effect.ReceiptKey("S2", "x") || effect.ReceiptKey("S1", "x") != effect.ReceiptKey("S1", "x") {
		t.Error("receipt keys must differ per store and be stable")
	}
}
