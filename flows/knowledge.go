package flows

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// RecommendationsPerVisit is how many items step 3 offers: always exactly two.
const RecommendationsPerVisit = 2

// KnowledgeBase holds the non-prescription adjunct services and products step 3
// (方案推荐) chooses from, with scoring rules over class, level and answers.
type KnowledgeBase struct {
	Version int      `json:"version"`
	Items   []KBItem `json:"items"`
}

// KBItem is one service or product. It is a candidate for a class if Classes is empty
// (universal) or lists the class. Its score is Base plus the Weight of every matching
// rule; the two highest-scoring candidates win, ties broken by item order in the file.
type KBItem struct {
	ID       string   `json:"id"`
	Kind     string   `json:"kind"` // service | product
	Title    string   `json:"title"`
	TitleEn  string   `json:"title_en"`
	Classes  []string `json:"classes,omitempty"`
	Base     int      `json:"base"`
	Reason   string   `json:"reason"`    // default reason template (Chinese)
	ReasonEn string   `json:"reason_en"` // default reason template (English)
	Rules    []KBRule `json:"rules,omitempty"`
	// ProductCodes are the catalog codes of the products a customer who takes up the
	// recommendation would buy (a pill organiser, a blood-pressure monitor); empty for a
	// service nothing is bought for. Each must be in the catalog (CheckProducts). The
	// effect report counts an accepted recommendation as converted when the customer
	// buys one of them within 14 days.
	ProductCodes []string `json:"product_codes,omitempty"`
}

// KBRule adds Weight to its item's score when all its conditions hold. The reason of
// the highest-weight matching rule (first in file order on ties) replaces the item's
// default reason if it has one.
type KBRule struct {
	Classes  []string            `json:"classes,omitempty"` // any of these classes (empty: any)
	Levels   []string            `json:"levels,omitempty"`  // any of these levels (empty: any)
	Answers  map[string][]string `json:"answers,omitempty"` // for every question: answer is one of the choices
	Weight   int                 `json:"weight"`
	Reason   string              `json:"reason,omitempty"`
	ReasonEn string              `json:"reason_en,omitempty"`
}

// Reason templates may use these placeholders.
var reasonPlaceholders = map[string]bool{"{class}": true, "{level}": true}

var knownLevels = map[string]bool{LevelOK: true, LevelYellow: true, LevelRed: true, LevelUnknown: true}

func knownClass(c string) bool {
	return c == ClassHypertension || c == ClassDiabetes || c == ClassHyperlipidemia || c == ClassGeneral
}

// LoadKnowledgeBase decodes and validates a knowledge base (strict JSON: unknown fields
// and duplicate keys rejected): unique item ids, titles and reasons in both languages,
// known classes and levels, weights within ±1000, reason templates using only {class}
// and {level}, and at least two universal items so that exactly two recommendations
// exist for any class. Errors are *DataError naming the field.
func LoadKnowledgeBase(data []byte) (*KnowledgeBase, error) {
	var kb KnowledgeBase
	if err := decodeStrict(data, &kb); err != nil {
		return nil, err
	}
	if err := kb.check(); err != nil {
		return nil, err
	}
	return &kb, nil
}

func checkTemplate(field, entity, s string) error {
	if strings.TrimSpace(s) == "" {
		return fieldErr(field, entity, "is empty")
	}
	rest := s
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return fieldErr(field, entity, "unclosed placeholder (a { without })")
		}
		ph := rest[i : i+j+1]
		if !reasonPlaceholders[ph] {
			return fieldErr(field, entity, "unknown placeholder %s (want {class} or {level})", ph)
		}
		rest = rest[i+j+1:]
	}
	return nil
}

func (kb *KnowledgeBase) check() error {
	if len(kb.Items) == 0 {
		return fieldErr("items", "", "is empty")
	}
	ids := make(map[string]bool, len(kb.Items))
	universal := 0
	for i, it := range kb.Items {
		f := index("items", i)
		ent := fmt.Sprintf("item %q", it.ID)
		if !validID(it.ID) {
			return fieldErr(f+".id", ent, "must be 1–64 of [a-z0-9_-]")
		}
		if ids[it.ID] {
			return fieldErr(f+".id", ent, "duplicate id (another item has it)")
		}
		ids[it.ID] = true
		if it.Kind != "service" && it.Kind != "product" {
			return fieldErr(f+".kind", ent, "is %q, want service or product", it.Kind)
		}
		if strings.TrimSpace(it.Title) == "" {
			return fieldErr(f+".title", ent, "is empty")
		}
		if strings.TrimSpace(it.TitleEn) == "" {
			return fieldErr(f+".title_en", ent, "is empty")
		}
		if err := checkTemplate(f+".reason", ent, it.Reason); err != nil {
			return err
		}
		if err := checkTemplate(f+".reason_en", ent, it.ReasonEn); err != nil {
			return err
		}
		if it.Base < -1000 || it.Base > 1000 {
			return fieldErr(f+".base", ent, "%d is outside ±1000", it.Base)
		}
		for k, c := range it.Classes {
			if !knownClass(c) {
				return fieldErr(index(f+".classes", k), ent, "unknown class %q (want hypertension, diabetes, hyperlipidemia or general)", c)
			}
		}
		if len(it.Classes) == 0 {
			universal++
		}
		codes := make(map[string]bool, len(it.ProductCodes))
		for j, code := range it.ProductCodes {
			if strings.TrimSpace(code) == "" || strings.TrimSpace(code) != code {
				return fieldErr(index(f+".product_codes", j), ent, "%q: want a catalog code without surrounding spaces", code)
			}
			k := normaliseCode(code)
			if codes[k] {
				return fieldErr(index(f+".product_codes", j), ent, "%q listed twice", code)
			}
			codes[k] = true
		}
		for j, r := range it.Rules {
			rf := index(f+".rules", j)
			for k, c := range r.Classes {
				if !knownClass(c) {
					return fieldErr(index(rf+".classes", k), ent, "unknown class %q (want hypertension, diabetes, hyperlipidemia or general)", c)
				}
			}
			for k, l := range r.Levels {
				if !knownLevels[l] {
					return fieldErr(index(rf+".levels", k), ent, "unknown level %q (want ok, yellow, red or unknown)", l)
				}
			}
			for _, q := range sortedKeys(r.Answers) {
				af := joinPath(rf+".answers", q)
				if !validID(q) {
					return fieldErr(af, ent, "bad question id %q", q)
				}
				if len(r.Answers[q]) == 0 {
					return fieldErr(af, ent, "lists no choices")
				}
			}
			if r.Weight < -1000 || r.Weight > 1000 {
				return fieldErr(rf+".weight", ent, "%d is outside ±1000", r.Weight)
			}
			if (r.Reason == "") != (r.ReasonEn == "") {
				return fieldErr(rf, ent, "give both reason and reason_en, or neither")
			}
			if r.Reason != "" {
				if err := checkTemplate(rf+".reason", ent, r.Reason); err != nil {
					return err
				}
				if err := checkTemplate(rf+".reason_en", ent, r.ReasonEn); err != nil {
					return err
				}
			}
		}
	}
	if universal < RecommendationsPerVisit {
		return fieldErr("items", "", "%d universal items (no classes), need at least %d so every class gets exactly %d recommendations",
			universal, RecommendationsPerVisit, RecommendationsPerVisit)
	}
	return nil
}

// CheckProducts verifies that every product code of every item is in the catalog, so a
// typo cannot make a recommendation's conversion silently zero. ParseData calls it after
// loading both files.
func (kb *KnowledgeBase) CheckProducts(cat *Catalog) error {
	for i, it := range kb.Items {
		for j, code := range it.ProductCodes {
			if _, ok := cat.Lookup(code); !ok {
				return fieldErr(index(index("items", i)+".product_codes", j), fmt.Sprintf("item %q", it.ID), "%q is not in the catalog (%s)", code, CatalogFile)
			}
		}
	}
	return nil
}

// CheckAgainst verifies that every answers condition names a question that exists in a
// questionnaire of a class the rule (or its item) applies to, and choices that question
// has in at least one of them, catching typos that would make a rule never match. Rules
// of a class without its own questionnaire in qs are skipped.
func (kb *KnowledgeBase) CheckAgainst(qs QuestionnaireSet) error {
	for i, it := range kb.Items {
		for j, r := range it.Rules {
			classes := r.Classes
			if len(classes) == 0 {
				classes = it.Classes
			}
			if len(classes) == 0 {
				classes = append(Classes(), ClassGeneral)
			}
			complete := true
			for _, c := range classes {
				complete = complete && qs.Has(c)
			}
			if !complete {
				// A class of the rule uses the general questionnaire (a chain's override
				// dropped its own); its answers cannot be checked, so neither can the rule.
				continue
			}
			for _, qid := range sortedKeys(r.Answers) {
				af := joinPath(index(index("items", i)+".rules", j)+".answers", qid)
				ent := fmt.Sprintf("item %q", it.ID)
				found := false
				choices := map[string]bool{}
				for _, c := range classes {
					if !qs.Has(c) {
						continue
					}
					qu, ok := qs.For(c).Question(qid)
					if !ok {
						continue
					}
					found = true
					for _, ch := range qu.Choices {
						choices[ch.ID] = true
					}
				}
				if !found {
					return fieldErr(af, ent, "no questionnaire of classes %v has question %q", classes, qid)
				}
				for _, cid := range r.Answers[qid] {
					if !choices[cid] {
						return fieldErr(af, ent, "question %q has no choice %q in any questionnaire of classes %v", qid, cid, classes)
					}
				}
			}
		}
	}
	return nil
}

func containsOrEmpty(list []string, v string) bool {
	if len(list) == 0 {
		return true
	}
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (r KBRule) matches(class, level string, answers map[string]string) bool {
	if !containsOrEmpty(r.Classes, class) || !containsOrEmpty(r.Levels, level) {
		return false
	}
	for q, ids := range r.Answers {
		a, ok := answers[q]
		if !ok {
			return false
		}
		found := false
		for _, id := range ids {
			if id == a {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// ReasonWords are the words a knowledge-base reason puts in for {class} and {level}, in
// Chinese (for Reason) and English (for ReasonEn): the UI's names of the class and the
// level, from the translations. An empty word leaves the class or level code in place.
type ReasonWords struct {
	Class, Level     string
	ClassEn, LevelEn string
}

// Recommend returns exactly two distinct items for the class, level and step-2 answers,
// each with its reason filled in with words. It is deterministic: scores, then file
// order. class "" means ClassGeneral; level may be "" (no class result).
func (kb *KnowledgeBase) Recommend(class, level string, answers map[string]string, words ReasonWords) ([]Recommendation, error) {
	if kb == nil {
		return nil, errors.New("recommend: no knowledge base")
	}
	if class == "" {
		class = ClassGeneral
	}
	type cand struct {
		i, score   int
		reason, en string
	}
	cands := make([]cand, 0, len(kb.Items))
	for i, it := range kb.Items {
		if !containsOrEmpty(it.Classes, class) {
			continue
		}
		c := cand{i: i, score: it.Base, reason: it.Reason, en: it.ReasonEn}
		best := 0
		bestSet := false
		for _, r := range it.Rules {
			if !r.matches(class, level, answers) {
				continue
			}
			c.score += r.Weight
			if r.Reason != "" && (!bestSet || r.Weight > best) {
				best, bestSet = r.Weight, true
				c.reason, c.en = r.Reason, r.ReasonEn
			}
		}
		cands = append(cands, c)
	}
	if len(cands) < RecommendationsPerVisit {
		return nil, fmt.Errorf("recommend: only %d knowledge-base items apply to class %q", len(cands), class)
	}
	sort.SliceStable(cands, func(a, b int) bool { return cands[a].score > cands[b].score })
	out := make([]Recommendation, RecommendationsPerVisit)
	for k := range out {
		it := kb.Items[cands[k].i]
		out[k] = Recommendation{
			ID:       it.ID,
			Title:    it.Title,
			TitleEn:  it.TitleEn,
			Reason:   fillReason(cands[k].reason, or(words.Class, class), or(words.Level, level)),
			ReasonEn: fillReason(cands[k].en, or(words.ClassEn, class), or(words.LevelEn, level)),
		}
	}
	return out, nil
}

func fillReason(tmpl, class, level string) string {
	return strings.NewReplacer("{class}", class, "{level}", level).Replace(tmpl)
}

// or is s, or else def.
func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Item returns the knowledge-base item with the given id.
func (kb *KnowledgeBase) Item(id string) (KBItem, bool) {
	for _, it := range kb.Items {
		if it.ID == id {
			return it, true
		}
	}
	return KBItem{}, false
}
