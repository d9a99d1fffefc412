package flows

import (
	"io/fs"
	"os"
	"strings"
	"testing"
)

// The embedded defaults live in ../assets/data; flows must not import assets, so the
// tests read the same files from disk.
var assetFS = os.DirFS("../assets/data")

func loadAssets(t testing.TB) (*Catalog, QuestionnaireSet, *KnowledgeBase, PointsRules) {
	t.Helper()
	d, err := LoadData(assetFS)
	if err != nil {
		t.Fatalf("embedded data: %v", err)
	}
	return d.Catalog, d.Questionnaires, d.Knowledge, d.Points
}

func TestEmbeddedAssetsLoad(t *testing.T) {
	cat, qs, kb, pr := loadAssets(t)
	if n := cat.Len(); n < 35 {
		t.Errorf("catalog has %d drugs, want ~40", n)
	}
	perClass := map[string]int{}
	nondrug := 0
	for _, d := range cat.All() {
		if !ValidGTIN(d.Code) || !strings.HasPrefix(d.Code, "69") {
			t.Errorf("%s: code %q is not a valid Chinese GTIN", d.Name, d.Code)
		}
		if !ValidKind(d.Kind) || d.Kind == "" {
			t.Errorf("%s: kind %q", d.Name, d.Kind)
		}
		if d.Kind == KindNonDrug {
			nondrug++
			continue // no ATC, no trace code: not a medicine
		}
		hasTrace := false
		for _, a := range d.AltCodes {
			if len(a) == 7 && isDigits(a) {
				hasTrace = true
			}
		}
		if !hasTrace {
			t.Errorf("%s: no 7-digit trace-code drug id", d.Name)
		}
		c := ClassOf(d.ATC)
		perClass[c]++
		if c != "" && d.PackDaysSupply <= 0 {
			t.Errorf("%s: chronic drug without pack days' supply", d.Name)
		}
		if strings.HasPrefix(d.ATC, "A10A") && c != "" {
			t.Errorf("insulin %s classed as %q", d.Name, c)
		}
	}
	for _, c := range append(Classes(), "") {
		if perClass[c] < 3 {
			t.Errorf("class %q has %d drugs in the catalog", c, perClass[c])
		}
	}
	for _, c := range append(Classes(), ClassGeneral) {
		if !qs.Has(c) {
			t.Errorf("no questionnaire for %s", c)
		}
		if got := qs.For(c).Class; got != c {
			t.Errorf("For(%s) = %s", c, got)
		}
	}
	if qs.For("").Class != ClassGeneral || qs.For("asthma").Class != ClassGeneral {
		t.Error("For of a class without questionnaire must give the general one")
	}
	if nondrug < 8 {
		t.Errorf("catalog has %d non-drug products, want the ones the knowledge base recommends", nondrug)
	}
	if err := kb.CheckProducts(cat); err != nil {
		t.Error(err)
	}
	// Every product the knowledge base recommends has product codes, and they name
	// non-drug products.
	for _, it := range kb.Items {
		if it.Kind == "product" && len(it.ProductCodes) == 0 {
			t.Errorf("product %s lists no product_codes", it.ID)
		}
		for _, code := range it.ProductCodes {
			if k := cat.KindOf(code); k != KindNonDrug {
				t.Errorf("%s: product code %s has kind %q", it.ID, code, k)
			}
		}
	}
	if len(kb.Items) < 10 {
		t.Errorf("knowledge base has %d items, want ≥ 10", len(kb.Items))
	}
	if err := kb.CheckAgainst(qs); err != nil {
		t.Errorf("knowledge base vs questionnaires: %v", err)
	}
	want := DefaultPointsRules()
	for k, v := range want {
		if pr[k] != v {
			t.Errorf("points %s = %d, want %d", k, pr[k], v)
		}
	}
	// Every questionnaire file is named after its class.
	ents, _ := fs.ReadDir(assetFS, "questionnaires")
	for _, e := range ents {
		b, _ := fs.ReadFile(assetFS, "questionnaires/"+e.Name())
		q, err := ParseQuestionnaire(b)
		if err != nil {
			t.Fatal(err)
		}
		if q.Class+".json" != e.Name() {
			t.Errorf("%s holds class %s", e.Name(), q.Class)
		}
	}
}

// answerCombos calls fn with every reachable answer map of q: each mandatory question
// takes each of its choices; each visible follow-up takes each choice or stays
// unanswered (follow-ups are optional).
func answerCombos(q Questionnaire, fn func(map[string]string)) int {
	n := 0
	var walk func(i int, ans map[string]string)
	walk = func(i int, ans map[string]string) {
		if i == len(q.Questions) {
			n++
			fn(ans)
			return
		}
		qu := q.Questions[i]
		visible := false
		for _, v := range q.Visible(ans) {
			if v.ID == qu.ID {
				visible = true
			}
		}
		if !visible {
			walk(i+1, ans)
			return
		}
		if !qu.Mandatory {
			walk(i+1, ans)
		}
		for _, c := range qu.Choices {
			ans[qu.ID] = c.ID
			walk(i+1, ans)
			delete(ans, qu.ID)
		}
	}
	walk(0, map[string]string{})
	return n
}

// TestRecommendExactlyTwoEverywhere walks every answer combination of every
// questionnaire × every level and proves exactly two distinct items with reasons.
func TestRecommendExactlyTwoEverywhere(t *testing.T) {
	_, qs, kb, _ := loadAssets(t)
	levels := []string{LevelOK, LevelYellow, LevelRed, LevelUnknown, ""}
	total := 0
	used := map[string]bool{}
	for _, q := range qs.All() {
		n := answerCombos(q, func(ans map[string]string) {
			if err := q.Validate(ans); err != nil {
				t.Fatalf("%s %v: walk produced invalid answers: %v", q.Class, ans, err)
			}
			for _, lv := range levels {
				recs, err := kb.Recommend(q.Class, lv, ans, ReasonWords{})
				if err != nil {
					t.Fatalf("%s/%s %v: %v", q.Class, lv, ans, err)
				}
				if len(recs) != 2 {
					t.Fatalf("%s/%s %v: %d recommendations", q.Class, lv, ans, len(recs))
				}
				if recs[0].ID == recs[1].ID {
					t.Fatalf("%s/%s %v: same item twice: %s", q.Class, lv, ans, recs[0].ID)
				}
				for _, r := range recs {
					used[r.ID] = true
					if strings.TrimSpace(r.Reason) == "" || strings.TrimSpace(r.ReasonEn) == "" || r.Title == "" {
						t.Fatalf("%s/%s %v: item %s lacks title/reason", q.Class, lv, ans, r.ID)
					}
					if strings.ContainsAny(r.Reason, "{}") {
						t.Fatalf("%s/%s: unfilled placeholder in %q", q.Class, lv, r.Reason)
					}
				}
			}
		})
		if n < 64 {
			t.Errorf("%s: only %d combinations walked", q.Class, n)
		}
		total += n
	}
	t.Logf("walked %d answer combinations × %d levels; %d distinct items used", total, len(levels), len(used))
	if len(used) < 10 {
		t.Errorf("only %d of %d items are ever recommended: %v", len(used), len(kb.Items), used)
	}
}

func TestRecommendPersonalised(t *testing.T) {
	_, qs, kb, _ := loadAssets(t)
	q := qs.For(ClassHypertension)
	ans := map[string]string{"bp_measure": "rarely", "missed_doses": "none", "side_effects": "none", "home_monitor": "yes_old"}
	if err := q.Validate(ans); err != nil {
		t.Fatal(err)
	}
	recs, err := kb.Recommend(ClassHypertension, LevelOK, ans, ReasonWords{})
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].ID != "bp_monitor_calibration" || !strings.Contains(recs[0].Reason, "校准") {
		t.Errorf("old monitor: got %+v first", recs[0])
	}
	ans = map[string]string{"bp_measure": "daily", "missed_doses": "three_plus", "side_effects": "none", "miss_reason": "forget"}
	recs, _ = kb.Recommend(ClassHypertension, LevelRed, ans, ReasonWords{})
	ids := recs[0].ID + "," + recs[1].ID
	if !strings.Contains(ids, "pill_organiser") || !strings.Contains(ids, "pill_reminder_setup") {
		t.Errorf("forgetting, red: got %s", ids)
	}
	// Deterministic.
	again, _ := kb.Recommend(ClassHypertension, LevelRed, ans, ReasonWords{})
	if again[0] != recs[0] || again[1] != recs[1] {
		t.Error("Recommend is not deterministic")
	}
}
