package content

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pharmachain/counter/flows"
)

func TestDiffPerEntity(t *testing.T) {
	a := embedded(t)
	hyp := flows.QuestionnaireFile(flows.ClassHypertension)
	b := edit(t, a, hyp, `"您多久测一次血压？"`, `"您多久量一次血压？"`)
	b = edit(t, b, hyp, `"有，很久没校准"`, `"有，一年以上没校准"`)
	b = edit(t, b, flows.KnowledgeFile, "\"weight\": 45,\n     \"reason\": \"您家中的血压计", "\"weight\": 50,\n     \"reason\": \"您家中的血压计")
	b = edit(t, b, flows.PointsFile, `"link_opened": 2`, `"link_opened": 5`)
	b = edit(t, b, flows.MessagesFile, `复诊预约与用药提醒`, `预约复诊`)
	b = b.Without(flows.QuestionnaireFile(flows.ClassDiabetes))
	b = edit(t, b, flows.CatalogFile, "[\n", `[{"code": "X-NEW", "name": "新药", "atc": "C08CA01"},`+"\n")

	d := Compare(a, b)
	if d.From != a.Hash() || d.To != b.Hash() {
		t.Error("hashes")
	}
	files := map[string]FileDiff{}
	for _, f := range d.Files {
		files[f.File] = f
	}
	if len(files) != 6 {
		t.Fatalf("files changed: %v", d)
	}
	has := func(file string, want Change) {
		t.Helper()
		for _, c := range files[file].Changes {
			if c.Op == want.Op && c.Kind == want.Kind && c.Key == want.Key && c.Field == want.Field &&
				(want.Old == "" || c.Old == want.Old) && (want.New == "" || c.New == want.New) {
				return
			}
		}
		t.Errorf("%s: no change %+v in %+v", file, want, files[file].Changes)
	}
	has(hyp, Change{Op: Changed, Kind: KindQuestion, Key: "bp_measure", Field: "text", Old: `"您多久测一次血压？"`, New: `"您多久量一次血压？"`})
	has(hyp, Change{Op: Changed, Kind: KindQuestion, Key: "home_monitor", Field: "choices[yes_old].label"})
	has(flows.KnowledgeFile, Change{Op: Changed, Kind: KindRecommendation, Key: "bp_monitor_calibration", Field: "rules[0].weight", Old: "45", New: "50"})
	has(flows.PointsFile, Change{Op: Changed, Kind: KindRule, Key: "link_opened", Old: "2", New: "5"})
	has(flows.MessagesFile, Change{Op: Changed, Kind: KindMessage, Key: "link_title"})
	has(flows.CatalogFile, Change{Op: Added, Kind: KindDrug, Key: "X-NEW"})
	if f := files[flows.QuestionnaireFile(flows.ClassDiabetes)]; f.Op != Removed || len(f.Changes) < 3 || f.Changes[0].Op != Removed || f.Changes[0].Kind != KindQuestion {
		t.Errorf("removed questionnaire: %+v", f)
	}
	if n := len(files[hyp].Changes); n != 2 {
		t.Errorf("hypertension: %d changes, want exactly the 2 made: %+v", n, files[hyp].Changes)
	}
	// Readable.
	s := d.String()
	for _, want := range []string{
		"questionnaires/hypertension.json: changed\n",
		`  ~ question bp_measure (您多久量一次血压？): text "您多久测一次血压？" → "您多久量一次血压？"`,
		`  ~ recommendation bp_monitor_calibration (血压计免费校准): rules[0].weight 45 → 50`,
		`  ~ rule link_opened: 2 → 5`,
		`  + drug X-NEW (新药)`,
		"questionnaires/diabetes.json: removed\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("diff text lacks %q:\n%s", want, s)
		}
	}
	// Machine-readable for the dashboard.
	if _, err := json.Marshal(d); err != nil {
		t.Fatal(err)
	}
	// The reverse diff mirrors it.
	r := Compare(b, a)
	if len(r.Files) != 6 || !strings.Contains(r.String(), "questionnaires/diabetes.json: added") || !strings.Contains(r.String(), "- drug X-NEW") {
		t.Errorf("reverse:\n%s", r)
	}
}

func TestDiffAddRemoveReorder(t *testing.T) {
	a := embedded(t)
	hyp := flows.QuestionnaireFile(flows.ClassHypertension)
	raw, _ := a.File(hyp)
	var q flows.Questionnaire
	if err := json.Unmarshal(raw, &q); err != nil {
		t.Fatal(err)
	}
	// Swap two follow-ups, drop the last question, add one, add a show_if branch.
	n := len(q.Questions)
	q.Questions[n-2], q.Questions[n-3] = q.Questions[n-3], q.Questions[n-2]
	dropped := q.Questions[n-1]
	q.Questions = q.Questions[:n-1]
	q.Questions = append(q.Questions, flows.Question{ID: "sleep", Text: "您睡得好吗？", TextEn: "Sleep?",
		ShowIf:  map[string][]string{"bp_measure": {"daily"}},
		Choices: []flows.Choice{{ID: "good", Label: "好", LabelEn: "good"}, {ID: "bad", Label: "差", LabelEn: "bad"}}})
	out, _ := json.MarshalIndent(q, "", "  ")
	b, _ := a.With(hyp, out)
	d := Compare(a, b)
	if len(d.Files) != 1 {
		t.Fatalf("%v", d)
	}
	s := d.String()
	for _, want := range []string{
		"+ question sleep (您睡得好吗？)",
		"- question " + dropped.ID,
		"↕ questions order: ",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("lacks %q:\n%s", want, s)
		}
	}
	if _, err := b.Validate(); err != nil {
		t.Logf("(the edited pack need not be valid for a diff: %v)", err)
	}
}

func TestDiffIgnoresFormatting(t *testing.T) {
	a := embedded(t)
	raw, _ := a.File(flows.KnowledgeFile)
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	compacted, _ := json.Marshal(v)
	b, _ := a.With(flows.KnowledgeFile, compacted)
	if a.Hash() == b.Hash() {
		t.Fatal("reformatting must change the hash (it hashes bytes)")
	}
	if d := Compare(a, b); !d.Empty() || d.String() != "no changes\n" {
		t.Errorf("reformatting shows as a change:\n%s", d)
	}
	if !Compare(a, a).Empty() {
		t.Error("a pack differs from itself")
	}
}

func TestDiffInvalidJSON(t *testing.T) {
	a := embedded(t)
	b, _ := a.With(flows.PointsFile, []byte(`{"visit_complete": `))
	d := Compare(a, b)
	if len(d.Files) != 1 || len(d.Files[0].Changes) != 1 || d.Files[0].Changes[0].Kind != KindFile ||
		!strings.Contains(d.Files[0].Changes[0].New, "not valid JSON") {
		t.Errorf("%+v", d)
	}
}
