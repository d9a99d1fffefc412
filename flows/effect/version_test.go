package effect_test

import (
	"testing"

	"github.com/pharmachain/counter/flows"
)

// A visit's recommendations are read in the knowledge base of the content version the
// counter served it with: version 2 gives the pill organiser another product (one only
// version 2's catalog knows, sold under its POS code) and adds an item; version 0's
// visits and those of a version the builder cannot get keep the built-in products.
func TestConversionByContentVersion(t *testing.T) {
	h := newHist(t)
	cat2 := flows.NewCatalog(append(testCatalog().All(),
		flows.Drug{Code: "6945670020000", Name: "智能分药盒", Kind: flows.KindNonDrug, AltCodes: []string{"SB-POS"}}))
	kb2 := &flows.KnowledgeBase{Version: 2, Items: []flows.KBItem{
		{ID: "pill_organiser", Kind: "product", ProductCodes: []string{"6945670020000"}},
		{ID: "bp_app", Kind: "product", ProductCodes: []string{"6945670010000"}},
	}}
	asked := map[int]int{}
	h.b.KnowledgeFor(func(v int) (*flows.KnowledgeBase, *flows.Catalog) {
		asked[v]++
		if v == 2 {
			return kb2, cat2
		}
		return nil, nil // a version HQ cannot read: the built-in knowledge base
	})
	pill := "pill_organiser"
	// Purchases first, as the chain-wide snapshot adds them.
	h.buy(
		line{cust: "k1", day: F + 3, code: "SB-POS", amt: 5990},         // v2's product, by its POS code
		line{cust: "k2", day: F + 3, code: "SB-POS", amt: 5990},         // not v0's pill organiser
		line{cust: "k3", day: F + 3, code: "FYBOX", amt: 2990},          // v0's, not v2's
		line{cust: "k4", day: F + 3, code: "6945670010000", amt: 19900}, // v2's new item
		line{cust: "k5", day: F + 3, code: "FYBOX", amt: 2990},          // version 7 reads as v0
	)
	h.visit(
		visit{cust: "k1", day: F + 1, recs: []rec{{pill, true}}, cv: 2},
		visit{cust: "k2", day: F + 1, recs: []rec{{pill, true}}},
		visit{cust: "k3", day: F + 1, recs: []rec{{pill, true}}, cv: 2},
		visit{cust: "k4", day: F + 1, recs: []rec{{"bp_app", true}}, cv: 2},
		visit{cust: "k5", day: F + 1, recs: []rec{{pill, true}}, cv: 7},
	)
	rep, err := h.b.Build().Effect(params(F + 100))
	if err != nil {
		t.Fatal(err)
	}
	cv := rep.Conversion
	if cv.Accepted.N != 5 || cv.Accepted.Converted != 3 {
		t.Errorf("accepted %+v, want 5 with 3 converted (k1, k4, k5)", cv.Accepted)
	}
	if len(cv.Items) != 2 || cv.Items[0].ItemID != pill || cv.Items[0].Accepted.N != 4 || cv.Items[0].Accepted.Converted != 2 ||
		cv.Items[1].ItemID != "bp_app" || cv.Items[1].Accepted.Converted != 1 {
		t.Errorf("items %+v", cv.Items)
	}
	if asked[2] != 1 || asked[7] != 1 || asked[0] != 0 {
		t.Errorf("knowledge bases asked for %v, want versions 2 and 7 once each", asked)
	}
}
