package flows

import (
	"errors"
	"os"
	"strings"
	"testing"
)

const miniQ = `{
 "class": "hypertension", "version": 1, "title": "高血压", "title_en": "Hypertension",
 "questions": [
  {"id": "a", "text": "甲", "text_en": "A", "mandatory": true, "choices": [{"id": "x", "label": "是", "label_en": "yes"}, {"id": "y", "label": "否", "label_en": "no"}]},
  {"id": "b", "text": "乙", "text_en": "B", "mandatory": true, "choices": [{"id": "x", "label": "是", "label_en": "yes"}, {"id": "y", "label": "否", "label_en": "no"}]},
  {"id": "c", "text": "丙", "text_en": "C", "mandatory": true, "choices": [{"id": "x", "label": "是", "label_en": "yes"}, {"id": "y", "label": "否", "label_en": "no"}]},
  {"id": "f1", "text": "跟进1", "text_en": "F1", "show_if": {"a": ["x"]}, "choices": [{"id": "p", "label": "P", "label_en": "P"}, {"id": "q", "label": "Q", "label_en": "Q"}]},
  {"id": "f2", "text": "跟进2", "text_en": "F2", "show_if": {"f1": ["q"], "b": ["y"]}, "choices": [{"id": "p", "label": "P", "label_en": "P"}, {"id": "q", "label": "Q", "label_en": "Q"}]}
 ]
}`

func mustQ(t *testing.T, s string) Questionnaire {
	t.Helper()
	q, err := ParseQuestionnaire([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func ids(qs []Question) string {
	var s []string
	for _, q := range qs {
		s = append(s, q.ID)
	}
	return strings.Join(s, ",")
}

func TestVisibleAndMissing(t *testing.T) {
	q := mustQ(t, miniQ)
	cases := []struct {
		ans     map[string]string
		visible string
		missing string
	}{
		{nil, "a,b,c", "a,b,c"},
		{map[string]string{"a": "y"}, "a,b,c", "b,c"},
		{map[string]string{"a": "x"}, "a,b,c,f1", "b,c"},
		{map[string]string{"a": "x", "f1": "q"}, "a,b,c,f1", "b,c"},
		{map[string]string{"a": "x", "f1": "q", "b": "y"}, "a,b,c,f1,f2", "c"},
		// f2 depends on f1, which is hidden again when a changes.
		{map[string]string{"a": "y", "f1": "q", "b": "y", "c": "x"}, "a,b,c", ""},
		{map[string]string{"a": "bogus", "b": "x", "c": "x"}, "a,b,c", "a"},
	}
	for _, c := range cases {
		if got := ids(q.Visible(c.ans)); got != c.visible {
			t.Errorf("Visible(%v) = %s, want %s", c.ans, got, c.visible)
		}
		if got := strings.Join(q.Missing(c.ans), ","); got != c.missing {
			t.Errorf("Missing(%v) = %s, want %s", c.ans, got, c.missing)
		}
	}
	pruned := q.Prune(map[string]string{"a": "y", "f1": "q", "b": "y", "c": "x"})
	if _, ok := pruned["f1"]; ok || len(pruned) != 3 {
		t.Errorf("Prune kept a hidden answer: %v", pruned)
	}
}

func TestValidateAnswers(t *testing.T) {
	q := mustQ(t, miniQ)
	err := q.Validate(map[string]string{"a": "x"})
	var me *MissingAnswersError
	if !errors.As(err, &me) || strings.Join(me.IDs, ",") != "b,c" || !strings.Contains(err.Error(), "乙") {
		t.Fatalf("Validate missing = %v", err)
	}
	if err := q.Validate(map[string]string{"a": "x", "b": "x", "c": "y"}); err != nil {
		t.Fatalf("complete answers rejected: %v", err)
	}
	if err := q.Validate(map[string]string{"a": "x", "b": "x", "c": "y", "zz": "x"}); err == nil || !strings.Contains(err.Error(), `"zz"`) {
		t.Fatalf("unknown question accepted: %v", err)
	}
	if err := q.Validate(map[string]string{"a": "x", "b": "x", "c": "maybe"}); err == nil || !strings.Contains(err.Error(), "maybe") {
		t.Fatalf("unknown choice accepted: %v", err)
	}
	// Follow-ups are optional.
	if err := q.Validate(map[string]string{"a": "x", "b": "y", "c": "y"}); err != nil {
		t.Fatalf("unanswered follow-up rejected: %v", err)
	}
	qu, _ := q.Question("a")
	if c, ok := qu.ChoiceByKey(2); !ok || c.ID != "y" || c.LabelFor("en-GB") != "no" || c.LabelFor("zh_Hans") != "否" {
		t.Errorf("ChoiceByKey(2) = %+v", c)
	}
	if _, ok := qu.ChoiceByKey(3); ok {
		t.Error("key 3 of a two-choice question")
	}
	if qu.TextFor("en") != "A" || qu.TextFor("zh") != "甲" {
		t.Error("TextFor")
	}
}

func TestParseQuestionnaireErrors(t *testing.T) {
	mut := func(old, new string) string { return strings.Replace(miniQ, old, new, 1) }
	nine := `[` // ten choices: one more than keys 1–9 can select
	for i := 0; i < 10; i++ {
		if i > 0 {
			nine += ","
		}
		nine += `{"id":"c` + string(rune('0'+i)) + `","label":"l","label_en":"l"}`
	}
	nine += `]`
	cases := []struct{ in, want string }{
		{`{`, "not valid JSON"},
		{mut(`"class": "hypertension"`, `"class": "asthma"`), "unknown class"},
		{mut(`"class": "hypertension"`, `"class": ""`), "field class: is empty"},
		{mut(`"title": "高血压"`, `"title": ""`), "title"},
		{mut(`"id": "b", "text": "乙", "text_en": "B", "mandatory": true`, `"id": "b", "text": "乙", "text_en": "B"`), "show_if"},
		{mut(`"id": "c", "text": "丙", "text_en": "C", "mandatory": true`, `"id": "c", "text": "丙", "text_en": "C", "show_if": {"a": ["x"]}`), "2 mandatory questions, want exactly 3"},
		{mut(`"id": "b"`, `"id": "a"`), "duplicate question id"},
		{mut(`"id": "b"`, `"id": "B!"`), "field questions[1].id"},
		{mut(`{"a": ["x"]}`, `{"zz": ["x"]}`), "not an earlier question"},
		{mut(`{"a": ["x"]}`, `{"f2": ["p"]}`), "not an earlier question"},
		{mut(`{"a": ["x"]}`, `{"a": ["nope"]}`), `choice "nope"`},
		{mut(`{"a": ["x"]}`, `{"a": []}`), "lists no choices"},
		{mut(`"text": "甲"`, `"text": ""`), "text"},
		{mut(`"label": "否"`, `"label": ""`), "label"},
		{mut(`{"id": "y", "label": "否"`, `{"id": "x", "label": "否"`), "duplicate choice id"},
		{mut(`"choices": [{"id": "x", "label": "是", "label_en": "yes"}, {"id": "y", "label": "否", "label_en": "no"}]},
  {"id": "b"`, `"choices": `+nine+`},
  {"id": "b"`), "field questions[0].choices (question \"a\"): has 10 entries, want 2–9"},
		{mut(`"version": 1`, `"version": 1, "free_text": true`), `field free_text: unknown field "free_text"`},
		{miniQ + `{}`, "trailing data"},
		{mut(`"mandatory": true, "choices": [{"id": "x"`, `"mandatory": false, "show_if": {"b": ["x"]}, "choices": [{"id": "x"`), "not an earlier question"},
	}
	for i, c := range cases {
		_, err := ParseQuestionnaire([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: err = %v, want it to contain %q", i, err, c.want)
		}
	}
}

func FuzzParseQuestionnaire(f *testing.F) {
	f.Add([]byte(miniQ))
	for _, name := range []string{"hypertension", "diabetes", "hyperlipidemia", "general"} {
		if b, err := os.ReadFile("../assets/data/questionnaires/" + name + ".json"); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		q, err := ParseQuestionnaire(data)
		if err != nil {
			if q.Class != "" || q.Questions != nil {
				t.Fatal("error with a non-zero questionnaire")
			}
			return
		}
		// A valid questionnaire keeps its promises.
		if n := len(q.Missing(nil)); n != MandatoryQuestions {
			t.Fatalf("%d mandatory missing on empty answers", n)
		}
		ans := map[string]string{}
		for _, qu := range q.Visible(ans) {
			if len(qu.Choices) == 0 || len(qu.Choices) > MaxChoices {
				t.Fatalf("question %s has %d choices", qu.ID, len(qu.Choices))
			}
			ans[qu.ID] = qu.Choices[len(qu.Choices)-1].ID
		}
		if err := q.Validate(ans); err != nil {
			t.Fatalf("answering every visible question: %v", err)
		}
	})
}
