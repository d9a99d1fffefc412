package flows

import (
	"os"
	"strings"
	"testing"
)

const miniKB = `{"version":1,"items":[
 {"id":"u1","kind":"service","title":"甲","title_en":"A","base":1,"reason":"{class}甲","reason_en":"A {class}"},
 {"id":"u2","kind":"product","title":"乙","title_en":"B","base":2,"reason":"乙","reason_en":"B",
  "rules":[{"levels":["red"],"weight":10,"reason":"{class}{level}乙","reason_en":"B {level}"}]},
 {"id":"h1","kind":"service","title":"丙","title_en":"C","classes":["hypertension"],"base":0,"reason":"丙","reason_en":"C",
  "rules":[{"answers":{"bp_measure":["rarely"]},"weight":5,"reason":"丙测得少","reason_en":"C rare"},
           {"answers":{"bp_measure":["rarely"],"missed_doses":["none"]},"weight":5}]}
]}`

func TestRecommendScoring(t *testing.T) {
	kb, err := LoadKnowledgeBase([]byte(miniKB))
	if err != nil {
		t.Fatal(err)
	}
	// The words the counter takes from its translations.
	words := func(class, level string) ReasonWords {
		return ReasonWords{Class: map[string]string{ClassHypertension: "高血压", ClassDiabetes: "糖尿病", "": "综合"}[class],
			Level: map[string]string{LevelRed: "高风险", LevelOK: "连续"}[level]}
	}
	got := func(class, level string, ans map[string]string) string {
		recs, err := kb.Recommend(class, level, ans, words(class, level))
		if err != nil {
			t.Fatal(err)
		}
		return recs[0].ID + "," + recs[1].ID + "|" + recs[0].Reason + "|" + recs[1].Reason
	}
	if s := got(ClassHypertension, LevelOK, nil); s != "u2,u1|乙|高血压甲" {
		t.Errorf("base order: %s", s)
	}
	if s := got(ClassHypertension, LevelRed, nil); s != "u2,u1|高血压高风险乙|高血压甲" {
		t.Errorf("red: %s", s)
	}
	if s := got(ClassHypertension, LevelOK, map[string]string{"bp_measure": "rarely"}); s != "h1,u2|丙测得少|乙" {
		t.Errorf("answer rule: %s", s)
	}
	// Both rules match: 10 > u2's 2.
	if s := got(ClassHypertension, LevelOK, map[string]string{"bp_measure": "rarely", "missed_doses": "none"}); !strings.HasPrefix(s, "h1,u2") {
		t.Errorf("two rules: %s", s)
	}
	// A class-restricted item never shows for another class; "" means general.
	if s := got(ClassDiabetes, LevelOK, map[string]string{"bp_measure": "rarely"}); !strings.HasPrefix(s, "u2,u1") {
		t.Errorf("diabetes: %s", s)
	}
	if s := got("", "", nil); s != "u2,u1|乙|综合甲" {
		t.Errorf("general: %s", s)
	}
	recs, _ := kb.Recommend(ClassHypertension, LevelRed, nil, ReasonWords{LevelEn: "at risk"})
	if recs[0].TitleEn != "B" || recs[0].ReasonEn != "B at risk" || recs[0].Accepted != nil {
		t.Errorf("english fields: %+v", recs[0])
	}
	var nilKB *KnowledgeBase
	if _, err := nilKB.Recommend(ClassHypertension, LevelOK, nil, ReasonWords{}); err == nil {
		t.Error("nil knowledge base")
	}
}

func TestLoadKnowledgeBaseErrors(t *testing.T) {
	mut := func(old, new string) string { return strings.Replace(miniKB, old, new, 1) }
	cases := []struct{ in, want string }{
		{`[]`, "want an object, got a list"},
		{`{"version":1,"items":[]}`, "field items: is empty"},
		{mut(`"id":"u2"`, `"id":"u1"`), "duplicate id"},
		{mut(`"id":"u2"`, `"id":""`), "field items[1].id"},
		{mut(`"kind":"product"`, `"kind":"drug"`), "field items[1].kind"},
		{mut(`"title":"乙"`, `"title":""`), "title"},
		{mut(`"reason":"乙"`, `"reason":""`), "reason (item \"u2\"): is empty"},
		{mut(`"reason":"乙"`, `"reason":"{pdc}乙"`), "unknown placeholder {pdc}"},
		{mut(`"reason":"乙"`, `"reason":"{class乙"`), "unclosed placeholder"},
		{mut(`"levels":["red"]`, `"levels":["amber"]`), "unknown level"},
		{mut(`"classes":["hypertension"]`, `"classes":["asthma"]`), "unknown class"},
		{mut(`"weight":10`, `"weight":10000`), "weight"},
		{mut(`"base":1`, `"base":-5000`), "base"},
		{mut(`"reason_en":"B {level}"`, `"reason_en":""`), "both reason and reason_en"},
		{mut(`{"bp_measure":["rarely"]}`, `{"bp_measure":[]}`), "lists no choices"},
		{mut(`"base":2,`, `"base":2,"classes":["diabetes"],`), "universal items"},
		{mut(`"version":1`, `"version":1,"extra":true`), "unknown field"},
		{miniKB + "[]", "trailing data"},
	}
	for i, c := range cases {
		_, err := LoadKnowledgeBase([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: err = %v, want it to contain %q", i, err, c.want)
		}
	}
}

func TestCheckAgainst(t *testing.T) {
	_, qs, _, _ := loadAssets(t)
	kb, err := LoadKnowledgeBase([]byte(miniKB))
	if err != nil {
		t.Fatal(err)
	}
	if err := kb.CheckAgainst(qs); err != nil {
		t.Fatalf("mini KB against assets: %v", err)
	}
	bad, _ := LoadKnowledgeBase([]byte(strings.Replace(miniKB, `"bp_measure":["rarely"]},"weight":5,`, `"bp_measure":["sometimes"]},"weight":5,`, 1)))
	if err := bad.CheckAgainst(qs); err == nil || !strings.Contains(err.Error(), `"sometimes"`) {
		t.Errorf("unknown choice: %v", err)
	}
	bad, _ = LoadKnowledgeBase([]byte(strings.Replace(miniKB, `"bp_measure":["rarely"]},"weight":5,`, `"bp_measur":["rarely"]},"weight":5,`, 1)))
	if err := bad.CheckAgainst(qs); err == nil || !strings.Contains(err.Error(), `"bp_measur"`) {
		t.Errorf("unknown question: %v", err)
	}
}

func FuzzLoadKnowledgeBase(f *testing.F) {
	f.Add([]byte(miniKB))
	if b, err := os.ReadFile("../assets/data/knowledge/kb.json"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		kb, err := LoadKnowledgeBase(data)
		if err != nil {
			if kb != nil {
				t.Fatal("error with a knowledge base")
			}
			return
		}
		// Any valid knowledge base yields exactly two distinct items for any class.
		for _, c := range append(Classes(), ClassGeneral, "other") {
			recs, err := kb.Recommend(c, LevelRed, map[string]string{"missed_doses": "none"}, ReasonWords{})
			if err != nil || len(recs) != 2 || recs[0].ID == recs[1].ID || recs[0].Reason == "" {
				t.Fatalf("class %s: %v %+v", c, err, recs)
			}
		}
	})
}
